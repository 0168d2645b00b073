;; serve-quick: run returns at once with a small output (kind quick.test.solti.dev/v1/Quick). Built by gen.go.
(module
  (import "solti" "input" (func $input (param i32)))
  (import "solti" "output" (func $output (param i32 i32)))
  (import "solti" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "serve-quick") ;; 11 bytes
  (data (i32.const 16) "{\"guest\":{\"payload\":{\"ok\":true}}}") ;; 33 bytes
  (data (i32.const 64) "{\"version\":\"1.0.0\",\"kinds\":[\"quick.test.solti.dev/v1/Quick\"],\"labels\":{\"tier\":\"serve-test\"},\"description\":\"run returns at once with a small output\"}") ;; 148 bytes
  (data (i32.const 512) "{\"done\":true}") ;; 13 bytes
  (func $pull (param $n i32)
    (local $need i32)
    (local.set $need (i32.sub (i32.shr_u (i32.add (i32.add (local.get $n) (i32.const 1024)) (i32.const 65535)) (i32.const 16)) (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.eq (memory.grow (local.get $need)) (i32.const -1)) (then unreachable))))
    (call $input (i32.const 1024)))
  (func (export "solti_abi_v1"))
  (func (export "name") (result i32) (call $output (i32.const 0) (i32.const 11)) (i32.const 0))
  (func (export "describe") (result i32) (call $output (i32.const 64) (i32.const 148)) (i32.const 0))
  (func (export "supports") (param $n i32) (result i32) (call $pull (local.get $n)) (i32.const 1))
  (func (export "build") (param $n i32) (result i32) (call $pull (local.get $n)) (call $output (i32.const 16) (i32.const 33)) (i32.const 0))
  (func (export "run") (param $n i32) (result i32) (call $pull (local.get $n)) (call $output (i32.const 512) (i32.const 13)) (i32.const 0))
)
