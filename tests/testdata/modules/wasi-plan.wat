;; wasi-plan: a runner (kind "fixture") whose build returns a wasi plan for module
;; wasi-echo.wasm with args ["a","b"] and env {"K":"V"}; it has no run export.
(module
  (import "solti" "output" (func $output (param i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "wasi-plan") ;; 9 bytes
  (data (i32.const 16) "{\"wasi\":{\"module\":\"wasi-echo.wasm\",\"args\":[\"a\",\"b\"],\"env\":{\"K\":\"V\"}}}") ;; 69 bytes
  (data (i32.const 128) "{\"kinds\":[\"fixture\"]}") ;; 21 bytes
  (func (export "solti_abi_v1"))
  (func (export "name") (result i32) (call $output (i32.const 0) (i32.const 9)) (i32.const 0))
  (func (export "describe") (result i32) (call $output (i32.const 128) (i32.const 21)) (i32.const 0))
  (func (export "supports") (param $n i32) (result i32) (i32.const 1))
  (func (export "build") (param $n i32) (result i32) (call $output (i32.const 16) (i32.const 69)) (i32.const 0)))
