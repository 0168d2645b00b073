;; The floor of tests/sdkbench in WAT, without any SDK: supports copies the input to offset 1024
;; and compares the canonical prefix {"slot":"...","kind":{"extension":{"type":"bench" by hand
;; (ABI §5 fixes the field order). Inputs up to 63 KiB fit the one page.
(module
  (import "solti" "input" (func $input (param i32)))
  (import "solti" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "bench-wat-raw")                           ;; name, 13 bytes
  (data (i32.const 16) "{\"slot\":\"")                           ;; 9 bytes
  (data (i32.const 32) "\",\"kind\":{\"extension\":{\"type\":\"bench\"") ;; 37 bytes
  (data (i32.const 80) "{\"guest\":{}}")                         ;; 12 bytes
  (func (export "solti_abi_v1"))
  (func (export "name") (result i32) (call $output (i32.const 0) (i32.const 13)) (i32.const 0))
  (func (export "build") (param $n i32) (result i32) (call $output (i32.const 80) (i32.const 12)) (i32.const 0))
  ;; $eq: whether the n bytes at a and b are equal
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
    (if (i32.lt_u (local.get $n) (i32.const 46)) (then (return (i32.const 0))))
    (if (i32.eqz (call $eq (i32.const 1024) (i32.const 16) (i32.const 9))) (then (return (i32.const 0))))
    (local.set $p (i32.const 1033))
    (block $done
      (loop $slot
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (br_if $done (i32.eq (i32.load8_u (local.get $p)) (i32.const 34)))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $slot)))
    (if (i32.gt_u (i32.add (local.get $p) (i32.const 37)) (local.get $end)) (then (return (i32.const 0))))
    (call $eq (local.get $p) (i32.const 32) (i32.const 37))))
