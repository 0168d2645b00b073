;; wat-echo: a solti-wasm runner written by hand in WebAssembly text, to show that ABI v1 needs
;; no SDK, no allocator protocol and no WASI. It handles the extension kind "echo":
;;
;;   supports  1 iff the task's kind is {"extension":{"type":"echo",...}}
;;   build     a guest plan whose payload is the extension's "spec" value (null if none)
;;   run       outputs the run input's payload value: the task's result is its own spec
;;
;; The inputs are JSON. Rather than search them for a byte pattern, which a string, an env key
;; or a nested object could imitate, the module walks objects key by key, skipping each value
;; with bracket and string balancing (escapes honoured). This also makes it independent of the
;; order of the keys, although canonical JSON would fix it.
;;
;; Memory: constants below 4096; from 4096 a bump allocator, reset by every call, holds the
;; input and the output. Memory grows when an input needs it; an input that cannot fit fails
;; the call with an internal error (supports returns -1, build and run 1).
;;
;; Build: wat2wasm examples/runners/wat-echo/echo.wat -o examples/runners/wat-echo.wasm
(module
  (import "solti" "input" (func $input (param $dst i32)))
  (import "solti" "output" (func $output (param $ptr i32) (param $len i32)))

  (memory (export "memory") 2)

  ;; Constants: (offset, length) pairs.
  (data (i32.const 16) "wat-echo")
  (global $NAME i32 (i32.const 16)) (global $NAME_LEN i32 (i32.const 8))
  (data (i32.const 32) "{\"version\":\"1.0.0\",\"kinds\":[\"echo\"],\"labels\":{\"example\":\"echo\",\"lang\":\"wat\"},\"description\":\"echoes an echo task's extension spec back as its result (hand-written WAT)\"}")
  (global $DESC i32 (i32.const 32)) (global $DESC_LEN i32 (i32.const 168))
  (data (i32.const 512) "kind")
  (global $K_KIND i32 (i32.const 512)) (global $K_KIND_LEN i32 (i32.const 4))
  (data (i32.const 520) "extension")
  (global $K_EXT i32 (i32.const 520)) (global $K_EXT_LEN i32 (i32.const 9))
  (data (i32.const 532) "type")
  (global $K_TYPE i32 (i32.const 532)) (global $K_TYPE_LEN i32 (i32.const 4))
  (data (i32.const 536) "\"echo\"") ;; the type value with its quotes: "echoes" does not match
  (global $V_ECHO i32 (i32.const 536)) (global $V_ECHO_LEN i32 (i32.const 6))
  (data (i32.const 544) "spec")
  (global $K_SPEC i32 (i32.const 544)) (global $K_SPEC_LEN i32 (i32.const 4))
  (data (i32.const 548) "payload")
  (global $K_PAYLOAD i32 (i32.const 548)) (global $K_PAYLOAD_LEN i32 (i32.const 7))
  (data (i32.const 556) "null")
  (global $NULL i32 (i32.const 556)) (global $NULL_LEN i32 (i32.const 4))
  (data (i32.const 560) "{\"guest\":{\"payload\":")
  (global $PLAN_PRE i32 (i32.const 560)) (global $PLAN_PRE_LEN i32 (i32.const 20))
  (data (i32.const 584) "}}")
  (global $PLAN_POST i32 (i32.const 584)) (global $PLAN_POST_LEN i32 (i32.const 2))
  (data (i32.const 600) "{\"code\":\"internal\",\"message\":\"wat-echo: the input does not fit in memory\"}")
  (global $E_TOOBIG i32 (i32.const 600)) (global $E_TOOBIG_LEN i32 (i32.const 74))
  (data (i32.const 700) "{\"code\":\"unsupported_kind\",\"message\":\"wat-echo handles only the extension kind \\\"echo\\\"\"}")
  (global $E_NOTECHO i32 (i32.const 700)) (global $E_NOTECHO_LEN i32 (i32.const 89))
  (data (i32.const 800) "{\"code\":\"internal\",\"message\":\"wat-echo: the input is not the JSON object the ABI promises\"}")
  (global $E_INPUT i32 (i32.const 800)) (global $E_INPUT_LEN i32 (i32.const 91))
  (data (i32.const 900) "{\"code\":\"invalid_spec\",\"message\":\"wat-echo: the echo spec is not a complete JSON value\"}")
  (global $E_SPEC i32 (i32.const 900)) (global $E_SPEC_LEN i32 (i32.const 88))

  (global $HEAP i32 (i32.const 4096))
  (global $bump (mut i32) (i32.const 4096))

  ;; --- ABI exports -------------------------------------------------------------------------

  (func (export "solti_abi_v1"))

  (func (export "name") (result i32)
    (call $output (global.get $NAME) (global.get $NAME_LEN))
    (i32.const 0))

  (func (export "describe") (result i32)
    (call $output (global.get $DESC) (global.get $DESC_LEN))
    (i32.const 0))

  (func (export "supports") (param $len i32) (result i32)
    (local $p i32)
    (local.set $p (call $read_input (local.get $len)))
    (if (i32.eq (local.get $p) (i32.const -1))
      (then (call $output (global.get $E_TOOBIG) (global.get $E_TOOBIG_LEN))
            (return (i32.const -1))))
    (i32.ne (call $echo_ext (local.get $p) (i32.add (local.get $p) (local.get $len)))
            (i32.const -1)))

  ;; build: input {"runId",...,"spec":{TaskSpec}}; output {"guest":{"payload":SPEC}}.
  (func (export "build") (param $len i32) (result i32)
    (local $p i32) (local $end i32) (local $e i32) (local $v i32) (local $vlen i32) (local $o i32)
    (local.set $p (call $read_input (local.get $len)))
    (if (i32.eq (local.get $p) (i32.const -1))
      (then (return (call $fail (global.get $E_TOOBIG) (global.get $E_TOOBIG_LEN)))))
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    ;; the task spec
    (local.set $e (call $find_key (local.get $p) (local.get $end) (global.get $K_SPEC) (global.get $K_SPEC_LEN)))
    (if (i32.eq (local.get $e) (i32.const -1))
      (then (return (call $fail (global.get $E_INPUT) (global.get $E_INPUT_LEN)))))
    ;; its extension object, if the kind is echo
    (local.set $e (call $echo_ext (local.get $e) (local.get $end)))
    (if (i32.eq (local.get $e) (i32.const -1))
      (then (return (call $fail (global.get $E_NOTECHO) (global.get $E_NOTECHO_LEN)))))
    ;; the extension's spec value, or null
    (local.set $v (call $find_key (local.get $e) (local.get $end) (global.get $K_SPEC) (global.get $K_SPEC_LEN)))
    (if (i32.eq (local.get $v) (i32.const -1))
      (then (local.set $v (global.get $NULL))
            (local.set $vlen (global.get $NULL_LEN)))
      (else (local.set $vlen (call $value_len (local.get $v) (local.get $end)))
            (if (i32.eq (local.get $vlen) (i32.const -1))
              (then (return (call $fail (global.get $E_SPEC) (global.get $E_SPEC_LEN)))))))
    ;; PLAN_PRE + value + PLAN_POST
    (local.set $o (call $alloc (i32.add (local.get $vlen) (i32.add (global.get $PLAN_PRE_LEN) (global.get $PLAN_POST_LEN)))))
    (if (i32.eq (local.get $o) (i32.const -1))
      (then (return (call $fail (global.get $E_TOOBIG) (global.get $E_TOOBIG_LEN)))))
    (memory.copy (local.get $o) (global.get $PLAN_PRE) (global.get $PLAN_PRE_LEN))
    (memory.copy (i32.add (local.get $o) (global.get $PLAN_PRE_LEN)) (local.get $v) (local.get $vlen))
    (memory.copy (i32.add (local.get $o) (i32.add (global.get $PLAN_PRE_LEN) (local.get $vlen)))
                 (global.get $PLAN_POST) (global.get $PLAN_POST_LEN))
    (call $output (local.get $o)
                  (i32.add (local.get $vlen) (i32.add (global.get $PLAN_PRE_LEN) (global.get $PLAN_POST_LEN))))
    (i32.const 0))

  ;; run: input {"runId","attempt",...,"payload":VALUE}; output VALUE (null if absent). The
  ;; host copies output at once, so the value is handed over straight from the input.
  (func (export "run") (param $len i32) (result i32)
    (local $p i32) (local $end i32) (local $v i32) (local $vlen i32)
    (local.set $p (call $read_input (local.get $len)))
    (if (i32.eq (local.get $p) (i32.const -1))
      (then (return (call $fail (global.get $E_TOOBIG) (global.get $E_TOOBIG_LEN)))))
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (local.set $v (call $find_key (local.get $p) (local.get $end) (global.get $K_PAYLOAD) (global.get $K_PAYLOAD_LEN)))
    (if (i32.eq (local.get $v) (i32.const -1))
      (then (call $output (global.get $NULL) (global.get $NULL_LEN))
            (return (i32.const 0))))
    (local.set $vlen (call $value_len (local.get $v) (local.get $end)))
    (if (i32.eq (local.get $vlen) (i32.const -1))
      (then (return (call $fail (global.get $E_INPUT) (global.get $E_INPUT_LEN)))))
    (call $output (local.get $v) (local.get $vlen))
    (i32.const 0))

  ;; --- helpers ------------------------------------------------------------------------------

  ;; $fail sets a constant GuestError as output and returns build's and run's failure code.
  (func $fail (param $ptr i32) (param $len i32) (result i32)
    (call $output (local.get $ptr) (local.get $len))
    (i32.const 1))

  ;; $read_input resets the allocator, allocates len bytes and fetches the input; -1 if it
  ;; cannot fit.
  (func $read_input (param $len i32) (result i32)
    (local $p i32)
    (global.set $bump (global.get $HEAP))
    (local.set $p (call $alloc (local.get $len)))
    (if (i32.ne (local.get $p) (i32.const -1))
      (then (call $input (local.get $p))))
    (local.get $p))

  ;; $alloc returns n fresh bytes from the bump region, growing memory as needed; -1 if it
  ;; cannot. Sizes are unsigned and the region is capped at 2 GiB, so nothing overflows.
  (func $alloc (param $n i32) (result i32)
    (local $p i32) (local $end i32) (local $pages i32)
    (if (i32.gt_u (local.get $n) (i32.const 0x40000000))
      (then (return (i32.const -1))))
    (local.set $p (global.get $bump))
    (local.set $end (i32.add (local.get $p) (local.get $n)))
    (if (i32.gt_u (local.get $end) (i32.const 0x80000000))
      (then (return (i32.const -1))))
    ;; pages needed to hold [0, end)
    (local.set $pages (i32.shr_u (i32.add (local.get $end) (i32.const 0xffff)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
              (then (return (i32.const -1))))))
    (global.set $bump (local.get $end))
    (local.get $p))

  ;; $echo_ext: given a TaskSpec object at p, returns the position of its kind's extension
  ;; object if the kind is {"extension":{"type":"echo",...}}, else -1.
  (func $echo_ext (param $p i32) (param $end i32) (result i32)
    (local $k i32) (local $e i32) (local $t i32)
    (local.set $k (call $find_key (local.get $p) (local.get $end) (global.get $K_KIND) (global.get $K_KIND_LEN)))
    (if (i32.eq (local.get $k) (i32.const -1)) (then (return (i32.const -1))))
    (local.set $e (call $find_key (local.get $k) (local.get $end) (global.get $K_EXT) (global.get $K_EXT_LEN)))
    (if (i32.eq (local.get $e) (i32.const -1)) (then (return (i32.const -1))))
    (local.set $t (call $find_key (local.get $e) (local.get $end) (global.get $K_TYPE) (global.get $K_TYPE_LEN)))
    (if (i32.eq (local.get $t) (i32.const -1)) (then (return (i32.const -1))))
    (if (i32.gt_u (i32.add (local.get $t) (global.get $V_ECHO_LEN)) (local.get $end))
      (then (return (i32.const -1))))
    (if (call $memeq (local.get $t) (global.get $V_ECHO) (global.get $V_ECHO_LEN))
      (then (return (local.get $e))))
    (i32.const -1))

  ;; $find_key: given an object at p (after optional white space), returns the position of
  ;; the value of its member named key (compared byte for byte, unescaped), or -1.
  (func $find_key (param $p i32) (param $end i32) (param $key i32) (param $klen i32) (result i32)
    (local $ks i32) (local $q i32)
    (local.set $p (call $ws (local.get $p) (local.get $end)))
    (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x7b)) (then (return (i32.const -1)))) ;; {
    (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
    (loop $member
      ;; "key"
      (local.set $ks (i32.add (local.get $p) (i32.const 1)))
      (local.set $q (call $skip_string (local.get $p) (local.get $end)))
      (if (i32.eq (local.get $q) (i32.const -1)) (then (return (i32.const -1)))) ;; also "}"
      ;; :
      (local.set $p (call $ws (local.get $q) (local.get $end)))
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
      (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x3a)) (then (return (i32.const -1))))
      (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
      ;; the key's bytes lie in [ks, q-1)
      (if (i32.eq (i32.sub (i32.sub (local.get $q) (i32.const 1)) (local.get $ks)) (local.get $klen))
        (then (if (call $memeq (local.get $ks) (local.get $key) (local.get $klen))
                (then (return (local.get $p))))))
      ;; skip the value; go on after a comma
      (local.set $p (call $skip_value (local.get $p) (local.get $end)))
      (if (i32.eq (local.get $p) (i32.const -1)) (then (return (i32.const -1))))
      (local.set $p (call $ws (local.get $p) (local.get $end)))
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
      (if (i32.eq (i32.load8_u (local.get $p)) (i32.const 0x2c)) ;; ,
        (then (local.set $p (call $ws (i32.add (local.get $p) (i32.const 1)) (local.get $end)))
              (br $member))))
    (i32.const -1))

  ;; $value_len returns the length of the JSON value at p, or -1.
  (func $value_len (param $p i32) (param $end i32) (result i32)
    (local $q i32)
    (local.set $q (call $skip_value (local.get $p) (local.get $end)))
    (if (i32.eq (local.get $q) (i32.const -1)) (then (return (i32.const -1))))
    (i32.sub (local.get $q) (local.get $p)))

  ;; $skip_value returns the position after the JSON value at p (no leading white space), or
  ;; -1. Containers are skipped by balancing brackets outside strings; scalars run to the next
  ;; delimiter. Validation is left to whoever reads the value.
  (func $skip_value (param $p i32) (param $end i32) (result i32)
    (local $c i32) (local $depth i32) (local $q i32)
    (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
    (local.set $c (i32.load8_u (local.get $p)))
    (if (i32.eq (local.get $c) (i32.const 0x22)) ;; "
      (then (return (call $skip_string (local.get $p) (local.get $end)))))
    (if (i32.or (i32.eq (local.get $c) (i32.const 0x7b)) (i32.eq (local.get $c) (i32.const 0x5b))) ;; { [
      (then
        (loop $scan
          (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
          (local.set $c (i32.load8_u (local.get $p)))
          (if (i32.eq (local.get $c) (i32.const 0x22))
            (then (local.set $p (call $skip_string (local.get $p) (local.get $end)))
                  (if (i32.eq (local.get $p) (i32.const -1)) (then (return (i32.const -1))))
                  (br $scan)))
          (if (i32.or (i32.eq (local.get $c) (i32.const 0x7b)) (i32.eq (local.get $c) (i32.const 0x5b)))
            (then (local.set $depth (i32.add (local.get $depth) (i32.const 1)))))
          (if (i32.or (i32.eq (local.get $c) (i32.const 0x7d)) (i32.eq (local.get $c) (i32.const 0x5d))) ;; } ]
            (then (local.set $depth (i32.sub (local.get $depth) (i32.const 1)))
                  (if (i32.eqz (local.get $depth))
                    (then (return (i32.add (local.get $p) (i32.const 1)))))))
          (local.set $p (i32.add (local.get $p) (i32.const 1)))
          (br $scan))))
    ;; number, true, false, null
    (local.set $q (local.get $p))
    (block $done
      (loop $scalar
        (br_if $done (i32.ge_u (local.get $q) (local.get $end)))
        (br_if $done (call $is_delim (i32.load8_u (local.get $q))))
        (local.set $q (i32.add (local.get $q) (i32.const 1)))
        (br $scalar)))
    (if (i32.eq (local.get $q) (local.get $p)) (then (return (i32.const -1))))
    (local.get $q))

  ;; $skip_string returns the position after the string at p, or -1 if p holds no complete
  ;; string. A backslash always escapes the next byte.
  (func $skip_string (param $p i32) (param $end i32) (result i32)
    (local $c i32)
    (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
    (if (i32.ne (i32.load8_u (local.get $p)) (i32.const 0x22)) (then (return (i32.const -1))))
    (local.set $p (i32.add (local.get $p) (i32.const 1)))
    (loop $chars
      (if (i32.ge_u (local.get $p) (local.get $end)) (then (return (i32.const -1))))
      (local.set $c (i32.load8_u (local.get $p)))
      (if (i32.eq (local.get $c) (i32.const 0x22))
        (then (return (i32.add (local.get $p) (i32.const 1)))))
      (local.set $p (i32.add (local.get $p)
        (select (i32.const 2) (i32.const 1) (i32.eq (local.get $c) (i32.const 0x5c))))) ;; backslash
      (br $chars))
    (unreachable))

  ;; $ws skips JSON white space (canonical input has none; hand-written input may).
  (func $ws (param $p i32) (param $end i32) (result i32)
    (local $c i32)
    (block $done
      (loop $skip
        (br_if $done (i32.ge_u (local.get $p) (local.get $end)))
        (local.set $c (i32.load8_u (local.get $p)))
        (br_if $done (i32.eqz (call $is_space (local.get $c))))
        (local.set $p (i32.add (local.get $p) (i32.const 1)))
        (br $skip)))
    (local.get $p))

  (func $is_space (param $c i32) (result i32)
    (i32.or (i32.or (i32.eq (local.get $c) (i32.const 0x20)) (i32.eq (local.get $c) (i32.const 0x09)))
            (i32.or (i32.eq (local.get $c) (i32.const 0x0a)) (i32.eq (local.get $c) (i32.const 0x0d)))))

  (func $is_delim (param $c i32) (result i32)
    (i32.or (call $is_space (local.get $c))
            (i32.or (i32.eq (local.get $c) (i32.const 0x2c)) ;; ,
                    (i32.or (i32.eq (local.get $c) (i32.const 0x7d)) (i32.eq (local.get $c) (i32.const 0x5d))))))

  ;; $memeq reports whether the n bytes at a and b are equal.
  (func $memeq (param $a i32) (param $b i32) (param $n i32) (result i32)
    (block $differ
      (loop $bytes
        (if (i32.eqz (local.get $n)) (then (return (i32.const 1))))
        (br_if $differ (i32.ne (i32.load8_u (local.get $a)) (i32.load8_u (local.get $b))))
        (local.set $a (i32.add (local.get $a) (i32.const 1)))
        (local.set $b (i32.add (local.get $b) (i32.const 1)))
        (local.set $n (i32.sub (local.get $n) (i32.const 1)))
        (br $bytes)))
    (i32.const 0))
)
