;; big-plan: a runner (kind "fixture") whose build returns a guest plan with a large string
;; payload, chosen by the slot's first character (BuildInput byte 19, after
;; {"runId":"big-plan-): b builds a plan of 1 MiB - 4 bytes, within the output limit but too
;; large to run once the RunInput envelope is added; any other slot a payload of 1 MiB - 512
;; bytes, which fits. run returns the size of its input as 4 little-endian bytes.
(module
  (import "solti" "input" (func $input (param i32)))
  (import "solti" "output" (func $output (param i32 i32)))
  (memory (export "memory") 34)
  (data (i32.const 0) "big-plan") ;; 8 bytes
  (data (i32.const 16) "{\"kinds\":[\"fixture\"]}") ;; 21 bytes
  (data (i32.const 65536) "{\"guest\":{\"payload\":\"") ;; 21 bytes
  (func (export "solti_abi_v1"))
  (func (export "name") (result i32) (call $output (i32.const 0) (i32.const 8)) (i32.const 0))
  (func (export "describe") (result i32) (call $output (i32.const 16) (i32.const 21)) (i32.const 0))
  (func (export "supports") (param $n i32) (result i32) (i32.const 1))
  (func (export "build") (param $n i32) (result i32)
    (local $x i32)
    (if (i32.gt_u (local.get $n) (i32.const 65536)) (then unreachable))
    (call $input (i32.const 0))
    (local.set $x (i32.const 1048062))
    (if (i32.eq (i32.load8_u (i32.const 19)) (i32.const 98)) ;; b
      (then (local.set $x (i32.const 1048548))))
    (memory.fill (i32.const 65557) (i32.const 120) (local.get $x))
    (i32.store8 (i32.add (i32.const 65557) (local.get $x)) (i32.const 34))
    (i32.store16 (i32.add (i32.const 65558) (local.get $x)) (i32.const 32125)) ;; "}"
    (call $output (i32.const 65536) (i32.add (local.get $x) (i32.const 24)))
    (i32.const 0))
  (func (export "run") (param $n i32) (result i32)
    (i32.store (i32.const 0) (local.get $n))
    (call $output (i32.const 0) (i32.const 4))
    (i32.const 0)))
