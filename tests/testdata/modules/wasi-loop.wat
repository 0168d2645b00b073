;; wasi-loop: a WASI command whose _start loops forever, for the wasi executor's timeout and
;; cancellation tests.
(module
  (memory (export "memory") 1)
  (func (export "_start") (loop $l (br $l))))
