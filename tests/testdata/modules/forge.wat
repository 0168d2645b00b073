;; forge: a runner (kind "fixture") whose run tries to forge solti-wasm run's report with
;; newlines, carriage returns, escape sequences and invalid UTF-8 in its log, emitted line,
;; error and output. The slot's first character (input byte 16, after {"runId":"forge-)
;; chooses: e fails with a forged error, anything else succeeds with a forged output. One of
;; its exports has an escape sequence in its name, for inspect.
(module
  (import "solti" "input" (func $input (param i32)))
  (import "solti" "output" (func $output (param i32 i32)))
  (import "solti" "log" (func $log (param i32 i32 i32)))
  (import "solti" "emit" (func $emit (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "forge") ;; 5 bytes
  (data (i32.const 16) "{\"guest\":{}}") ;; 12 bytes
  (data (i32.const 64) "{\"kinds\":[\"fixture\"]}") ;; 21 bytes
  (data (i32.const 128) "hi\0aphase:    succeeded\1b[2J") ;; 26 bytes
  (data (i32.const 192) "\1b]0;owned\07\0dphase:    succeeded\0a") ;; 31 bytes
  (data (i32.const 256) "{\22code\22:\22internal\22,\22message\22:\22bad\5cnphase:    succeeded\5cnoutcome:  success\5cu001b[2J\ff\22}") ;; 85 bytes
  (data (i32.const 384) "ok\0aphase:    failed\0a\1b[31m") ;; 25 bytes
  (func (export "solti_abi_v1"))
  (func (export "x\1b[2Jy"))
  (func (export "name") (result i32) (call $output (i32.const 0) (i32.const 5)) (i32.const 0))
  (func (export "describe") (result i32) (call $output (i32.const 64) (i32.const 21)) (i32.const 0))
  (func (export "supports") (param $n i32) (result i32) (i32.const 1))
  (func (export "build") (param $n i32) (result i32) (call $output (i32.const 16) (i32.const 12)) (i32.const 0))
  (func (export "run") (param $n i32) (result i32)
    (if (i32.gt_u (local.get $n) (i32.const 8192)) (then unreachable))
    (call $input (i32.const 8192))
    (call $log (i32.const 1) (i32.const 128) (i32.const 26))
    (call $emit (i32.const 1) (i32.const 192) (i32.const 31))
    (if (i32.eq (i32.load8_u (i32.const 8208)) (i32.const 101)) ;; e
      (then (call $output (i32.const 256) (i32.const 85)) (return (i32.const 1))))
    (call $output (i32.const 384) (i32.const 25))
    (i32.const 0)))
