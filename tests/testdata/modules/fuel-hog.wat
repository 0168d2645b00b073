;; Three ways to run forever that no loop deadline of wazero's would catch cheaply: supports
;; recurses without a loop (fib 60, about 10^12 calls), build grows memory by 0 pages in a loop,
;; run calls the log import in a loop. Only fuel (or a deadline) stops them. name and describe
;; as ok.wat.
(module
  (import "solti" "input" (func $input (param i32)))
  (import "solti" "output" (func $output (param i32 i32)))
  (import "solti" "log" (func $log (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "fuel-hog") ;; 8 bytes
  (data (i32.const 64) "{\"version\":\"1.0.0\",\"kinds\":[\"fixture\"],\"labels\":{\"tier\":\"test\"},\"description\":\"test fixture\"}") ;; 93 bytes
  (func $fib (param $n i32) (result i32)
    (if (result i32) (i32.lt_u (local.get $n) (i32.const 2))
      (then (local.get $n))
      (else (i32.add (call $fib (i32.sub (local.get $n) (i32.const 1))) (call $fib (i32.sub (local.get $n) (i32.const 2)))))))
  (func (export "solti_abi_v1"))
  (func (export "name") (result i32) (call $output (i32.const 0) (i32.const 8)) (i32.const 0))
  (func (export "describe") (result i32) (call $output (i32.const 64) (i32.const 93)) (i32.const 0))
  (func (export "supports") (param $n i32) (result i32) (drop (call $fib (i32.const 60))) (i32.const 1))
  (func (export "build") (param $n i32) (result i32) (loop $l (drop (memory.grow (i32.const 0))) (br $l)) (i32.const 0))
  (func (export "run") (param $n i32) (result i32) (loop $l (call $log (i32.const 1) (i32.const 0) (i32.const 4096)) (br $l)) (i32.const 0))
)
