;; flood: a runner (kind "fixture") whose run grows its memory to about 62 MiB, fills it with
;; newlines and emits all of it, again and again: tens of millions of lines per emit call,
;; forever. Only the task's deadline stops it, and it must stop it on time.
(module
  (import "solti" "output" (func $output (param i32 i32)))
  (import "solti" "emit" (func $emit (param i32 i32 i32)))
  (memory (export "memory") 1)
  (data (i32.const 0) "flood") ;; 5 bytes
  (data (i32.const 16) "{\"guest\":{}}") ;; 12 bytes
  (data (i32.const 64) "{\"kinds\":[\"fixture\"]}") ;; 21 bytes
  (func (export "solti_abi_v1"))
  (func (export "name") (result i32) (call $output (i32.const 0) (i32.const 5)) (i32.const 0))
  (func (export "describe") (result i32) (call $output (i32.const 64) (i32.const 21)) (i32.const 0))
  (func (export "supports") (param $n i32) (result i32) (i32.const 1))
  (func (export "build") (param $n i32) (result i32) (call $output (i32.const 16) (i32.const 12)) (i32.const 0))
  (func (export "run") (param $n i32) (result i32)
    (if (i32.eq (memory.grow (i32.const 999)) (i32.const -1)) (then unreachable))
    (memory.fill (i32.const 65536) (i32.const 10) (i32.const 65470464))
    (loop $l (call $emit (i32.const 1) (i32.const 65536) (i32.const 65470464)) (br $l))
    (i32.const 0)))
