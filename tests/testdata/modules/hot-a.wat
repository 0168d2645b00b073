;; Hot-reload test runner "hot", version a: label v=a, plans {"v":"a"}, ships a sample (describe "sample"); run echoes its input.
(module
  (import "solti" "input" (func $input (param i32)))
  (import "solti" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "hot") ;; 3 bytes
  (data (i32.const 16) "{\"guest\":{\"payload\":{\"v\":\"a\"}}}") ;; 31 bytes
  (data (i32.const 64) "{\"version\":\"a\",\"kinds\":[\"hot\"],\"labels\":{\"v\":\"a\"},\"description\":\"hot-reload test runner, version a\",\"sample\":{\"slot\":\"sample\",\"kind\":{\"extension\":{\"type\":\"hot\"}},\"timeout\":1000}}") ;; 178 bytes
  (func $pull (param $n i32)
    (local $need i32)
    (local.set $need (i32.sub (i32.shr_u (i32.add (i32.add (local.get $n) (i32.const 1024)) (i32.const 65535)) (i32.const 16)) (memory.size)))
    (if (i32.gt_s (local.get $need) (i32.const 0))
      (then (if (i32.eq (memory.grow (local.get $need)) (i32.const -1)) (then unreachable))))
    (call $input (i32.const 1024)))
  (func (export "solti_abi_v1"))
  (func (export "name") (result i32) (call $output (i32.const 0) (i32.const 3)) (i32.const 0))
  (func (export "describe") (result i32) (call $output (i32.const 64) (i32.const 178)) (i32.const 0))
  (func (export "supports") (param $n i32) (result i32) (i32.const 1))
  (func (export "build") (param $n i32) (result i32)
    (call $output (i32.const 16) (i32.const 31)) (i32.const 0))
  (func (export "run") (param $n i32) (result i32) (call $pull (local.get $n)) (call $output (i32.const 1024) (local.get $n)) (i32.const 0))
)
