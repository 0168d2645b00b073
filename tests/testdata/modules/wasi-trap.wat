;; wasi-trap: a WASI command whose _start hits unreachable: a trap, not an exit code.
(module
  (memory (export "memory") 1)
  (func (export "_start") unreachable))
