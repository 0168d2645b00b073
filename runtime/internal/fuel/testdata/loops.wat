;; Loop shapes the pass wraps or keeps (fuel_test.go, TestLoopShapes): branches out of
;; wrapped loops to every level (br, br_if, br_table, the function's own label), loops with
;; results, a loop with parameters (kept with the inline test), calls inside loops, and a trap.
(module
  (import "env" "add" (func $add (param i32 i32) (result i32)))
  (memory 1)
  ;; Nested loops; br_table leaves the inner loop for the outer one, the block around both,
  ;; or the function.
  (global $acc (mut i32) (i32.const 0))
  (func (export "acc") (result i32) global.get $acc)
  (func (export "nested") (param $n i32) (local $i i32) (local $j i32)
    i32.const 0 global.set $acc
    block $done
      loop $outer
        local.get $i i32.const 1 i32.add local.tee $i
        local.get $n i32.gt_u br_if $done
        i32.const 0 local.set $j
        loop $inner
          global.get $acc local.get $j i32.add global.set $acc
          local.get $j i32.const 1 i32.add local.tee $j
          i32.const 3 i32.rem_u
          global.get $acc i32.const 10000 i32.gt_u
          i32.const 3 i32.mul i32.add
          ;; 0: inner again; 1 or 2: next outer; 3-5: return; more: done
          br_table $inner $outer $outer 3 3 3 $done
        end
      end
    end
    i32.const -1 global.set $acc)
  ;; A loop with a result, left by falling through its end.
  (func (export "result") (param $n i32) (result i32) (local $acc i32)
    loop $l (result i32)
      local.get $acc local.get $n i32.add local.set $acc
      local.get $n i32.const 1 i32.sub local.tee $n
      br_if $l
      local.get $acc
    end)
  ;; A loop with a parameter: the counter is its parameter (needs multi-value).
  (func (export "param") (param $n i32) (result i32)
    local.get $n
    loop $l (param i32) (result i32)
      i32.const 1 i32.sub
      local.tee $n
      local.get $n br_if $l
    end)
  ;; br_if to the function's label from inside a loop, carrying the result.
  (func (export "brfunc") (param $n i32) (result i32)
    loop $l
      local.get $n i32.const 7 i32.mul
      local.get $n i32.const 10 i32.lt_u br_if 1
      drop
      local.get $n i32.const 1 i32.sub local.set $n
      br $l
    end
    unreachable)
  ;; A host import called in a loop.
  (func (export "calls") (param $n i32) (result i32) (local $acc i32)
    block $out
      loop $l
        local.get $n i32.eqz br_if $out
        local.get $acc local.get $n call $add local.set $acc
        local.get $n i32.const 1 i32.sub local.set $n
        br $l
      end
    end
    local.get $acc)
  ;; Divides by zero once $n reaches 0: a trap inside a wrapped loop.
  (func (export "trap") (param $n i32) (result i32) (local $acc i32)
    loop $l
      local.get $acc i32.const 100 local.get $n i32.div_u i32.add local.set $acc
      local.get $n i32.const 1 i32.sub local.set $n
      br $l
    end
    unreachable)
  ;; Locals of every type live in a loop (its refill path saves them in scratch globals).
  (func (export "types") (param $n i32) (result i32)
    (local $a i64) (local $b f32) (local $c f64) (local $v v128) (local $r funcref) (local $e externref)
    loop $l
      local.get $a i64.const 3 i64.add local.set $a
      local.get $b f32.const 0.5 f32.add local.set $b
      local.get $c f64.const 0.25 f64.add local.set $c
      local.get $v i32.const 1 i32x4.splat i32x4.add local.set $v
      local.get $r ref.is_null drop local.get $e ref.is_null drop
      local.get $n i32.const 1 i32.sub local.tee $n
      br_if $l
    end
    local.get $a i32.wrap_i64
    local.get $b i32.trunc_f32_s i32.add
    local.get $c i32.trunc_f64_s i32.add
    local.get $v i32x4.extract_lane 3 i32.add)
)
