;; wasi-sandbox: a WASI command that probes what it was granted. It asks for the preopened
;; directory at fd 3 (fd_prestat_get) and exits with the errno it gets: 8 (EBADF) when no
;; directory is granted, 0 if one were.
(module
  (import "wasi_snapshot_preview1" "fd_prestat_get" (func $prestat (param i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (func (export "_start")
    (call $proc_exit (call $prestat (i32.const 3) (i32.const 64)))))
