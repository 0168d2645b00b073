;; Declares its version as solti_abi_v01: not canonical decimal, refused (ABI §3), not read as v1.
(module
  (import "solti" "input" (func $input (param i32)))
  (import "solti" "output" (func $output (param i32 i32)))
  (import "solti" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "abi-v1") ;; 6 bytes
  (data (i32.const 16) "{\"guest\":{\"payload\":{\"ok\":true}}}") ;; 33 bytes
  (data (i32.const 64) "{\"version\":\"1.0.0\",\"kinds\":[\"fixture\"],\"labels\":{\"tier\":\"test\"},\"description\":\"test fixture\"}") ;; 93 bytes
  (data (i32.const 256) "building") ;; 8 bytes
  (func $pull (param $n i32)
    (local $need i32)
    (local.set $need (i32.sub (i32.shr_u (i32.add (i32.add (local.get $n) (i32.const 1024)) (i32.const 65535)) (i32.const 16)) (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.eq (memory.grow (local.get $need)) (i32.const -1)) (then unreachable))))
    (call $input (i32.const 1024)))
  (func (export "solti_abi_v01"))
  (func (export "name") (result i32) (call $output (i32.const 0) (i32.const 6)) (i32.const 0))
  (func (export "describe") (result i32) (call $output (i32.const 64) (i32.const 93)) (i32.const 0))
  (func (export "supports") (param $n i32) (result i32) (call $pull (local.get $n)) (i32.const 1))
  (func (export "build") (param $n i32) (result i32) (call $pull (local.get $n)) (call $log (i32.const 1) (i32.const 256) (i32.const 8)) (call $output (i32.const 16) (i32.const 33)) (i32.const 0))
  (func (export "run") (param $n i32) (result i32) (call $pull (local.get $n)) (call $output (i32.const 1024) (local.get $n)) (i32.const 0))
)
