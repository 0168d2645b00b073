;; wasi-echo: a WASI command (not a runner) for the wasi executor's tests. It writes each
;; argument after argv[0] to stdout, one per line, then each environment variable to stderr,
;; one per line, and exits with the number of arguments (so no arguments exits 0).
(module
  (import "wasi_snapshot_preview1" "args_sizes_get" (func $args_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "args_get" (func $args_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_sizes_get" (func $environ_sizes_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "environ_get" (func $environ_get (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  ;; layout: 0 count, 4 buffer size, 16 iovec, 32 nwritten, 1024 pointers, 8192 strings

  ;; write the NUL-separated strings buf[0..size) to fd, skipping the first `skip` strings,
  ;; each NUL turned into a newline
  (func $dump (param $fd i32) (param $skip i32) (param $size i32)
    (local $i i32) (local $start i32)
    ;; find where string number `skip` starts
    (local.set $start (i32.const 8192))
    (block $done
      (loop $l
        (br_if $done (i32.eqz (local.get $skip)))
        (if (i32.eqz (i32.load8_u (local.get $start)))
          (then (local.set $skip (i32.sub (local.get $skip) (i32.const 1)))))
        (local.set $start (i32.add (local.get $start) (i32.const 1)))
        (br $l)))
    (local.set $i (local.get $start))
    (block $d2
      (loop $l2
        (br_if $d2 (i32.ge_u (local.get $i) (i32.add (i32.const 8192) (local.get $size))))
        (if (i32.eqz (i32.load8_u (local.get $i)))
          (then (i32.store8 (local.get $i) (i32.const 10))))
        (local.set $i (i32.add (local.get $i) (i32.const 1)))
        (br $l2)))
    (i32.store (i32.const 16) (local.get $start))
    (i32.store (i32.const 20) (i32.sub (i32.add (i32.const 8192) (local.get $size)) (local.get $start)))
    (drop (call $fd_write (local.get $fd) (i32.const 16) (i32.const 1) (i32.const 32))))

  (func (export "_start")
    (local $argc i32)
    (drop (call $args_sizes_get (i32.const 0) (i32.const 4)))
    (local.set $argc (i32.load (i32.const 0)))
    (drop (call $args_get (i32.const 1024) (i32.const 8192)))
    (call $dump (i32.const 1) (i32.const 1) (i32.load (i32.const 4)))
    (drop (call $environ_sizes_get (i32.const 0) (i32.const 4)))
    (drop (call $environ_get (i32.const 1024) (i32.const 8192)))
    (call $dump (i32.const 2) (i32.const 0) (i32.load (i32.const 4)))
    (call $proc_exit (i32.sub (local.get $argc) (i32.const 1)))))
