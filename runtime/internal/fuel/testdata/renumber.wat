;; Every place that holds a function index: imports before the defined functions, call,
;; return_call, ref.func in code and in a global's initializer, element segments (indices and
;; expressions), exports, the start function, and names (wat2wasm --debug-names).
(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (import "env" "twice" (func $twice (param i32) (result i32)))
  (type $un (func (param i32) (result i32)))
  (table $t 4 funcref)
  (memory (export "memory") 1)
  (global $started (mut i32) (i32.const 0))
  (global $fref funcref (ref.func $inc))
  (elem (table $t) (i32.const 0) func $inc $dec)
  (elem (table $t) (i32.const 2) funcref (ref.func $twice) (ref.func $sq))
  (elem declare func $sq)
  (func $inc (type $un) (local $tmp i32) local.get 0 i32.const 1 call $add)
  (func $dec (type $un) local.get 0 i32.const -1 call $add)
  (func $sq (type $un) local.get 0 local.get 0 i32.mul)
  (func $tail (param i32) (result i32) local.get 0 return_call $sq)
  (func $init global.get $started i32.const 1 i32.add global.set $started)
  (start $init)
  (func (export "indirect") (param i32 i32) (result i32)
    local.get 1 local.get 0 call_indirect $t (type $un))
  (func (export "direct") (param i32) (result i32)
    local.get 0 call $inc call $dec call $twice call $tail)
  (func (export "reffunc") (param i32) (result i32)
    local.get 0 i32.const 3 ref.func $sq table.set $t i32.const 3 call_indirect $t (type $un))
  (func (export "started") (result i32) global.get $started)
  (func (export "loop") (param i32) (result i32) (local $acc i32)
    block $out
      loop $top
        local.get 0 i32.eqz br_if $out
        local.get $acc local.get 0 i32.add local.set $acc
        local.get 0 i32.const 1 i32.sub local.set 0
        br $top
      end
    end
    local.get $acc)
  (func $fib (export "fib") (param i32) (result i32)
    local.get 0 i32.const 2 i32.lt_u
    if (result i32)
      local.get 0
    else
      local.get 0 i32.const 1 i32.sub call $fib
      local.get 0 i32.const 2 i32.sub call $fib
      i32.add
    end)
  (func (export "spin") (loop $l br $l))
  (func (export "grow") (param i32) (result i32)
    (local $n i32)
    loop $l
      local.get 0 memory.grow drop
      local.get $n i32.const 1 i32.add local.tee $n
      i32.const 1000000 i32.lt_u br_if $l
    end
    memory.size)
  (func (export "fill") (param i32)
    i32.const 0 i32.const 7 local.get 0 memory.fill)
  (func (export "const") (result i32) i32.const 1 i32.const 2 i32.add)
)
