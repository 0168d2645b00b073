;; host-faults: a runner (kind "fixture") whose run misuses the log and emit imports, chosen by
;; the first character of its run id (the RunInput starts {"runId":" so it is input byte 10):
;;   a  log with length -1                                  (must trap: bad pointer)
;;   b  3 good log calls, then one whose bytes are outside memory   (traps past a count limit of 2)
;;   c  a 5000-byte log message and a 5000-byte emitted line, then returns "done" (truncated, marked);
;;      h does the same (solti-wasm run's run ids start with the runner name, host-faults-)
;;   d  3 good emitted lines, then an emit outside memory   (traps past a line limit of 2)
;;   e  a log that starts inside memory and ends past it    (must trap)
;;   other: returns "done"
(module
  (import "solti" "input" (func $input (param i32)))
  (import "solti" "output" (func $output (param i32 i32)))
  (import "solti" "log" (func $log (param i32 i32 i32)))
  (import "solti" "emit" (func $emit (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "host-faults") ;; 11 bytes
  (data (i32.const 16) "{\"guest\":{}}") ;; 12 bytes
  (data (i32.const 64) "{\"kinds\":[\"fixture\"]}") ;; 21 bytes
  (data (i32.const 128) "ok\n") ;; 3 bytes
  (data (i32.const 144) "done") ;; 4 bytes
  (func (export "solti_abi_v1"))
  (func (export "name") (result i32) (call $output (i32.const 0) (i32.const 11)) (i32.const 0))
  (func (export "describe") (result i32) (call $output (i32.const 64) (i32.const 21)) (i32.const 0))
  (func (export "supports") (param $n i32) (result i32) (i32.const 1))
  (func (export "build") (param $n i32) (result i32) (call $output (i32.const 16) (i32.const 12)) (i32.const 0))
  (func (export "run") (param $n i32) (result i32)
    (local $case i32)
    (if (i32.gt_u (local.get $n) (i32.const 8192)) (then unreachable))
    (call $input (i32.const 8192))
    (local.set $case (i32.load8_u (i32.const 8202)))
    (if (i32.eq (local.get $case) (i32.const 97)) ;; a
      (then (call $log (i32.const 1) (i32.const 128) (i32.const -1))))
    (if (i32.eq (local.get $case) (i32.const 98)) ;; b
      (then
        (call $log (i32.const 1) (i32.const 128) (i32.const 2))
        (call $log (i32.const 1) (i32.const 128) (i32.const 2))
        (call $log (i32.const 1) (i32.const 128) (i32.const 2))
        (call $log (i32.const 1) (i32.const 70000) (i32.const 4))))
    (if (i32.or (i32.eq (local.get $case) (i32.const 99)) (i32.eq (local.get $case) (i32.const 104))) ;; c, h
      (then
        (memory.fill (i32.const 16384) (i32.const 120) (i32.const 5000))
        (call $log (i32.const 1) (i32.const 16384) (i32.const 5000))
        (call $emit (i32.const 1) (i32.const 16384) (i32.const 5000))))
    (if (i32.eq (local.get $case) (i32.const 100)) ;; d
      (then
        (call $emit (i32.const 1) (i32.const 128) (i32.const 3))
        (call $emit (i32.const 1) (i32.const 128) (i32.const 3))
        (call $emit (i32.const 1) (i32.const 128) (i32.const 3))
        (call $emit (i32.const 1) (i32.const 70000) (i32.const 3))))
    (if (i32.eq (local.get $case) (i32.const 101)) ;; e
      (then (call $log (i32.const 1) (i32.const 65530) (i32.const 10))))
    (call $output (i32.const 144) (i32.const 4))
    (i32.const 0)))
