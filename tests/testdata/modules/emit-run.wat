;; emit-run: a runner (kind "fixture") whose run streams live output through the optional
;; emit import: "one" and "two" on stdout in one emit call (split at the newline), "careful"
;; on stderr, a log line "logged" at warn, then returns the output "done".
(module
  (import "solti" "input" (func $input (param i32)))
  (import "solti" "output" (func $output (param i32 i32)))
  (import "solti" "log" (func $log (param i32 i32 i32)))
  (import "solti" "emit" (func $emit (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "emit-run") ;; 8 bytes
  (data (i32.const 16) "{\"guest\":{\"payload\":{\"ok\":true}}}") ;; 33 bytes
  (data (i32.const 64) "{\"kinds\":[\"fixture\"]}") ;; 21 bytes
  (data (i32.const 128) "one\ntwo\n") ;; 8 bytes
  (data (i32.const 144) "careful") ;; 7 bytes
  (data (i32.const 160) "logged") ;; 6 bytes
  (data (i32.const 176) "done") ;; 4 bytes
  (func (export "solti_abi_v1"))
  (func (export "name") (result i32) (call $output (i32.const 0) (i32.const 8)) (i32.const 0))
  (func (export "describe") (result i32) (call $output (i32.const 64) (i32.const 21)) (i32.const 0))
  (func (export "supports") (param $n i32) (result i32) (i32.const 1))
  (func (export "build") (param $n i32) (result i32) (call $output (i32.const 16) (i32.const 33)) (i32.const 0))
  (func (export "run") (param $n i32) (result i32)
    (call $emit (i32.const 1) (i32.const 128) (i32.const 8))
    (call $emit (i32.const 2) (i32.const 144) (i32.const 7))
    (call $log (i32.const 2) (i32.const 160) (i32.const 6))
    (call $output (i32.const 176) (i32.const 4))
    (i32.const 0)))
