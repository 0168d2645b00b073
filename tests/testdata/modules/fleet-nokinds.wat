;; A template of the runtime's fleet benchmarks (runtime/weight_bench_test.go): a small runner of
;; kind "fleet-0000" that declares no kinds (it has no describe export, so it is asked about
;; every task). The benchmarks make a fleet of distinct modules by replacing the digits of
;; "fleet-0000" (in the name and supports' prefix). supports checks the canonical prefix
;; {"slot":"...","kind":{"extension":{"type":"fleet-0000"
;; (ABI §5 fixes the field order).
(module
  (import "solti" "input" (func $input (param i32)))
  (import "solti" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "fleet-0000")                              ;; name, 10 bytes
  (data (i32.const 16) "{\"slot\":\"")                           ;; 9 bytes
  (data (i32.const 32) "\",\"kind\":{\"extension\":{\"type\":\"fleet-0000\"") ;; 42 bytes
  (data (i32.const 80) "{\"guest\":{}}")                         ;; 12 bytes
  (func (export "solti_abi_v1"))
  (func (export "name") (result i32) (call $output (i32.const 0) (i32.const 10)) (i32.const 0))
  (func (export "build") (param $n i32) (result i32) (call $output (i32.const 80) (i32.const 12)) (i32.const 0))
  (func $eq (param $a i32) (param $b i32) (param $n i32) (result i32)
    (block $no
      (loop $next
        (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
        (br_if $no (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $next)))
    (i32.const 0))
  (func (export "supports") (param $n i32) (result i32)
    (local $p i32) (local $end i32)
    (if (i32.gt_u (local.get $n) (i32.const 64512)) (then (return (i32.const 0))))
    (call $input (i32.const 1024))
    (local.set $end (i32.add (i32.const 1024) (local.get $n)))
    (if (i32.eqz (call $eq (i32.const 1024) (i32.const 16) (i32.const 9))) (then (return (i32.const 0))))
    (local.set $p (i32.const 1033))
    (block $done
      (loop $slot
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (br_if $done (i32.eq (i32.load8_u (local.get $p)) (i32.const 34)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $slot)))
    (if (i32.gt_u (i32.add (local.get $p) (i32.const 42)) (local.get $end)) (then (return (i32.const 0))))
    (call $eq (local.get $p) (i32.const 32) (i32.const 42))))
