;; The conformance runner in hand-written WAT: the contract is tests/conformance/README.md.
;; No SDK, no WASI: inputs are walked key by key (the helpers of wat-echo), and every value the
;; contract echoes is passed through as written, which keeps it the same JSON value (strings
;; are not decoded and re-encoded, unlike in the SDK runners: the suite compares JSON values).
;; Memory: constants below 4096; from 4096 the input, then the output, both reset by every call.
;;
;; Build: wat2wasm tests/conformance/runners/wat/conformance.wat -o tests/conformance/runners/wat.wasm
(module
  (import "solti" "input" (func $input (param $dst i32)))
  (import "solti" "output" (func $output (param $ptr i32) (param $len i32)))
  (import "solti" "log" (func $log (param $level i32) (param $ptr i32) (param $len i32)))
  (import "solti" "emit" (func $emit (param $stream i32) (param $ptr i32) (param $len i32)))

  (memory (export "memory") 1)

  (global $HEAP i32 (i32.const 4096))
  (global $ob (mut i32) (i32.const 4096)) ;; output start
  (global $ol (mut i32) (i32.const 0))    ;; output length

  (data (i32.const 16) "conformance-wat")
  (data (i32.const 32) "{\"version\":\"1.0.0\",\"kinds\":[\"conformance\"],\"labels\":{\"lang\":\"wat\",\"suite\":\"conformance\"},\"description\":\"solti-wasm conformance runner\"}")
  (data (i32.const 168) "labels")
  (data (i32.const 176) "conformance")
  (data (i32.const 188) "kind")
  (data (i32.const 192) "extension")
  (data (i32.const 204) "type")
  (data (i32.const 208) "spec")
  (data (i32.const 212) "op")
  (data (i32.const 216) "text")
  (data (i32.const 220) "code")
  (data (i32.const 224) "message")
  (data (i32.const 232) "runId")
  (data (i32.const 240) "runner")
  (data (i32.const 248) "slot")
  (data (i32.const 252) "timeout")
  (data (i32.const 260) "env")
  (data (i32.const 264) "value")
  (data (i32.const 272) "payload")
  (data (i32.const 280) "fail")
  (data (i32.const 284) "attempt")
  (data (i32.const 292) "\"error\"")
  (data (i32.const 300) "\"refuse\"")
  (data (i32.const 308) "\"conformance\"")
  (data (i32.const 324) "\"echo\"")
  (data (i32.const 332) "\"error\"")
  (data (i32.const 340) "\"trap\"")
  (data (i32.const 348) "\"badplan\"")
  (data (i32.const 360) "\"log\"")
  (data (i32.const 368) "{\"code\":\"internal\",\"message\":\"supports failed on request\"}")
  (data (i32.const 428) "{\"code\":\"internal\",\"message\":\"the input is not the JSON object the ABI promises\"}")
  (data (i32.const 512) "{\"code\":\"missing_field\",\"message\":\"spec\"}")
  (data (i32.const 556) "{\"code\":\"missing_field\",\"message\":\"op\"}")
  (data (i32.const 596) "{\"code\":\"missing_field\",\"message\":\"text\"}")
  (data (i32.const 640) "{\"code\":\"invalid_spec\",\"message\":\"unknown op\"}")
  (data (i32.const 688) "{\"guest\":{\"payload\":{\"runId\":")
  (data (i32.const 720) ",\"runner\":")
  (data (i32.const 732) ",\"slot\":")
  (data (i32.const 740) ",\"timeout\":")
  (data (i32.const 752) ",\"labels\":")
  (data (i32.const 764) ",\"env\":")
  (data (i32.const 772) ",\"text\":")
  (data (i32.const 780) ",\"value\":")
  (data (i32.const 792) "}}}")
  (data (i32.const 796) "{\"code\":")
  (data (i32.const 804) ",\"message\":")
  (data (i32.const 816) "}")
  (data (i32.const 820) "\"\"")
  (data (i32.const 824) "{}")
  (data (i32.const 828) "null")
  (data (i32.const 832) "{\"exec\":{\"command\":\"\"}}")
  (data (i32.const 856) "{\"guest\":{}}")
  (data (i32.const 868) "conformance debug")
  (data (i32.const 888) "conformance info")
  (data (i32.const 904) "conformance warn")
  (data (i32.const 920) "conformance error")
  (data (i32.const 940) "{\"code\":\"io\",\"message\":")
  (data (i32.const 964) "{\"runId\":")
  (data (i32.const 976) ",\"attempt\":")
  (data (i32.const 988) ",\"payload\":")
  (data (i32.const 1000) "emit")
  (data (i32.const 1004) "true")
  (data (i32.const 1008) "conformance stdout \e2\9c\93") ;; U+2713 in UTF-8: 22 bytes
  (data (i32.const 1032) "conformance stderr")
  (data (i32.const 1052) "conformance 1\nconformance 2\n") ;; one emit call, two lines

  ;; --- ABI exports -------------------------------------------------------------------------

  (func (export "solti_abi_v1"))

  (func (export "name") (result i32) (call $output (i32.const 16) (i32.const 15)) (i32.const 0))

  (func (export "describe") (result i32) (call $output (i32.const 32) (i32.const 135)) (i32.const 0))

  ;; supports: the label conformance=error is a fault, =refuse a no; else the kind decides.
  (func (export "supports") (param $len i32) (result i32)
    (local $p i32) (local $end i32) (local $v i32)
    (local.set $p (call $read_input (local.get $len)))
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (local.set $v (call $find_key (local.get $p) (local.get $end) (i32.const 168) (i32.const 6)))
    (if (i32.ne (local.get $v) (i32.const -1))
      (then
        (local.set $v (call $find_key (local.get $v) (local.get $end) (i32.const 176) (i32.const 11)))
        (if (call $val_is (local.get $v) (local.get $end) (i32.const 292) (i32.const 7))
          (then (call $output (i32.const 368) (i32.const 58)) (return (i32.const -1))))
        (if (call $val_is (local.get $v) (local.get $end) (i32.const 300) (i32.const 8))
          (then (return (i32.const 0))))))
    (i32.ne (call $conf_ext (local.get $p) (local.get $end)) (i32.const -1)))

  (func (export "build") (param $len i32) (result i32)
    (local $p i32) (local $end i32) (local $spec i32) (local $es i32) (local $op i32) (local $text i32)
    (local.set $p (call $read_input (local.get $len)))
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (local.set $spec (call $find_key (local.get $p) (local.get $end) (i32.const 208) (i32.const 4)))
    (if (i32.eq (local.get $spec) (i32.const -1))
      (then (call $output (i32.const 428) (i32.const 81)) (return (i32.const 1))))
    (local.set $es (call $conf_ext (local.get $spec) (local.get $end)))
    (if (i32.ne (local.get $es) (i32.const -1))
      (then (local.set $es (call $find_key (local.get $es) (local.get $end) (i32.const 208) (i32.const 4)))))
    (if (i32.eq (local.get $es) (i32.const -1))
      (then (call $output (i32.const 512) (i32.const 41)) (return (i32.const 1))))
    (local.set $op (call $find_key (local.get $es) (local.get $end) (i32.const 212) (i32.const 2)))
    (if (i32.eq (local.get $op) (i32.const -1))
      (then (call $output (i32.const 556) (i32.const 39)) (return (i32.const 1))))
    (if (call $val_is (local.get $op) (local.get $end) (i32.const 324) (i32.const 6))
      (then
        (local.set $text (call $find_key (local.get $es) (local.get $end) (i32.const 216) (i32.const 4)))
        (if (i32.eq (local.get $text) (i32.const -1))
          (then (local.set $text (global.get $HEAP)))) ;; points at the input's "{": not a string
        (if (i32.ne (i32.load8_u (local.get $text)) (i32.const 0x22))
          (then (call $output (i32.const 596) (i32.const 41)) (return (i32.const 1))))
        ;; the text is passed through as written: a JSON string literal stays the same string
        (call $put (i32.const 688) (i32.const 29))
        (call $put_val (call $find_key (local.get $p) (local.get $end) (i32.const 232) (i32.const 5)) (local.get $end) (i32.const 828) (i32.const 4))
        (call $put (i32.const 720) (i32.const 10))
        (call $put_val (call $find_key (local.get $p) (local.get $end) (i32.const 240) (i32.const 6)) (local.get $end) (i32.const 828) (i32.const 4))
        (call $put (i32.const 732) (i32.const 8))
        (call $put_val (call $find_key (local.get $spec) (local.get $end) (i32.const 248) (i32.const 4)) (local.get $end) (i32.const 828) (i32.const 4))
        (call $put (i32.const 740) (i32.const 11))
        (call $put_val (call $find_key (local.get $spec) (local.get $end) (i32.const 252) (i32.const 7)) (local.get $end) (i32.const 828) (i32.const 4))
        (call $put (i32.const 752) (i32.const 10))
        (call $put_val (call $find_key (local.get $spec) (local.get $end) (i32.const 168) (i32.const 6)) (local.get $end) (i32.const 824) (i32.const 2))
        (call $put (i32.const 764) (i32.const 7))
        (call $put_val (call $find_key (local.get $p) (local.get $end) (i32.const 260) (i32.const 3)) (local.get $end) (i32.const 824) (i32.const 2))
        (call $put (i32.const 772) (i32.const 8))
        (call $put_val (local.get $text) (local.get $end) (i32.const 828) (i32.const 4))
        (call $put (i32.const 780) (i32.const 9))
        (call $put_val (call $find_key (local.get $es) (local.get $end) (i32.const 264) (i32.const 5)) (local.get $end) (i32.const 828) (i32.const 4))
        (call $put (i32.const 792) (i32.const 3))
        (call $output (global.get $ob) (global.get $ol))
        (return (i32.const 0))))
    (if (call $val_is (local.get $op) (local.get $end) (i32.const 332) (i32.const 7))
      (then
        (call $put (i32.const 796) (i32.const 8))
        (call $put_val (call $find_key (local.get $es) (local.get $end) (i32.const 220) (i32.const 4)) (local.get $end) (i32.const 820) (i32.const 2))
        (call $put (i32.const 804) (i32.const 11))
        (call $put_val (call $find_key (local.get $es) (local.get $end) (i32.const 224) (i32.const 7)) (local.get $end) (i32.const 820) (i32.const 2))
        (call $put (i32.const 816) (i32.const 1))
        (call $output (global.get $ob) (global.get $ol))
        (return (i32.const 1))))
    (if (call $val_is (local.get $op) (local.get $end) (i32.const 340) (i32.const 6))
      (then (unreachable)))
    (if (call $val_is (local.get $op) (local.get $end) (i32.const 348) (i32.const 9))
      (then (call $output (i32.const 832) (i32.const 23)) (return (i32.const 0))))
    (if (call $val_is (local.get $op) (local.get $end) (i32.const 360) (i32.const 5))
      (then
        (call $log (i32.const 0) (i32.const 868) (i32.const 17))
        (call $log (i32.const 1) (i32.const 888) (i32.const 16))
        (call $log (i32.const 2) (i32.const 904) (i32.const 16))
        (call $log (i32.const 3) (i32.const 920) (i32.const 17))
        (call $output (i32.const 856) (i32.const 12))
        (return (i32.const 0))))
    (call $output (i32.const 640) (i32.const 46))
    (i32.const 1))

  (func (export "run") (param $len i32) (result i32)
    (local $p i32) (local $end i32) (local $pl i32) (local $f i32)
    (local.set $p (call $read_input (local.get $len)))
    (local.set $end (i32.add (local.get $p) (local.get $len)))
    (local.set $pl (call $find_key (local.get $p) (local.get $end) (i32.const 272) (i32.const 7)))
    (if (i32.ne (local.get $pl) (i32.const -1))
      (then
        (if (call $val_is (call $find_key (local.get $pl) (local.get $end) (i32.const 1000) (i32.const 4)) (local.get $end) (i32.const 1004) (i32.const 4))
          (then
            (call $emit (i32.const 1) (i32.const 1008) (i32.const 22))
            (call $emit (i32.const 2) (i32.const 1032) (i32.const 18))
            (call $emit (i32.const 1) (i32.const 1052) (i32.const 28))))
        (local.set $f (call $find_key (local.get $pl) (local.get $end) (i32.const 280) (i32.const 4)))
        (if (i32.ne (local.get $f) (i32.const -1))
          (then (if (i32.eq (i32.load8_u (local.get $f)) (i32.const 0x22))
            (then
              (call $put (i32.const 940) (i32.const 23))
              (call $put_val (local.get $f) (local.get $end) (i32.const 820) (i32.const 2))
              (call $put (i32.const 816) (i32.const 1))
              (call $output (global.get $ob) (global.get $ol))
              (return (i32.const 1))))))))
    (call $put (i32.const 964) (i32.const 9))
    (call $put_val (call $find_key (local.get $p) (local.get $end) (i32.const 232) (i32.const 5)) (local.get $end) (i32.const 828) (i32.const 4))
    (call $put (i32.const 976) (i32.const 11))
    (call $put_val (call $find_key (local.get $p) (local.get $end) (i32.const 284) (i32.const 7)) (local.get $end) (i32.const 828) (i32.const 4))
    (call $put (i32.const 764) (i32.const 7))
    (call $put_val (call $find_key (local.get $p) (local.get $end) (i32.const 260) (i32.const 3)) (local.get $end) (i32.const 824) (i32.const 2))
    (call $put (i32.const 988) (i32.const 11))
    (call $put_val (local.get $pl) (local.get $end) (i32.const 828) (i32.const 4))
    (call $put (i32.const 816) (i32.const 1))
    (call $output (global.get $ob) (global.get $ol))
    (i32.const 0))

  ;; --- memory: input, then output, from HEAP; reset by every call ------------------------------

  ;; $read_input copies the input to HEAP and starts an empty output after it.
  (func $read_input (param $len i32) (result i32)
    (call $ensure (i32.add (global.get $HEAP) (local.get $len)))
    (call $input (global.get $HEAP))
    (global.set $ob (i32.add (global.get $HEAP) (local.get $len)))
    (global.set $ol (i32.const 0))
    (global.get $HEAP))

  ;; $ensure grows memory to hold [0, end); traps when it cannot (the host reports the cap).
  (func $ensure (param $end i32)
    (local $pages i32)
    (if (i32.gt_u (local.get $end) (i32.const 0x7fff0000)) (then (unreachable)))
    (local.set $pages (i32.shr_u (i32.add (local.get $end) (i32.const 0xffff)) (i32.const 16)))
    (if (i32.gt_u (local.get $pages) (memory.size))
      (then (if (i32.eq (memory.grow (i32.sub (local.get $pages) (memory.size))) (i32.const -1))
              (then (unreachable))))))

  ;; $put appends n bytes at ptr to the output.
  (func $put (param $ptr i32) (param $n i32)
    (call $ensure (i32.add (global.get $ob) (i32.add (global.get $ol) (local.get $n))))
    (memory.copy (i32.add (global.get $ob) (global.get $ol)) (local.get $ptr) (local.get $n))
    (global.set $ol (i32.add (global.get $ol) (local.get $n))))

  ;; $put_val appends the JSON value at v, or the default when v is -1 (absent) or malformed.
  (func $put_val (param $v i32) (param $end i32) (param $dptr i32) (param $dlen i32)
    (local $n i32)
    (if (i32.ne (local.get $v) (i32.const -1))
      (then (local.set $n (call $value_len (local.get $v) (local.get $end)))
            (if (i32.ne (local.get $n) (i32.const -1))
              (then (call $put (local.get $v) (local.get $n)) (return)))))
    (call $put (local.get $dptr) (local.get $dlen)))

  ;; $val_is reports whether the JSON value at v (-1: absent) is exactly the bytes lit.
  (func $val_is (param $v i32) (param $end i32) (param $lit i32) (param $n i32) (result i32)
    (if (i32.eq (local.get $v) (i32.const -1)) (then (return (i32.const 0))))
    (if (i32.ne (call $value_len (local.get $v) (local.get $end)) (local.get $n)) (then (return (i32.const 0))))
    (call $memeq (local.get $v) (local.get $lit) (local.get $n)))

  ;; $conf_ext: given a TaskSpec object at p, the position of its kind's extension object if
  ;; the kind is {"extension":{"type":"conformance",...}}, else -1.
  (func $conf_ext (param $p i32) (param $end i32) (result i32)
    (local $e i32)
    (local.set $e (call $find_key (local.get $p) (local.get $end) (i32.const 188) (i32.const 4)))
    (if (i32.eq (local.get $e) (i32.const -1)) (then (return (i32.const -1))))
    (local.set $e (call $find_key (local.get $e) (local.get $end) (i32.const 192) (i32.const 9)))
    (if (i32.eq (local.get $e) (i32.const -1)) (then (return (i32.const -1))))
    (if (call $val_is (call $find_key (local.get $e) (local.get $end) (i32.const 204) (i32.const 4)) (local.get $end) (i32.const 308) (i32.const 13))
      (then (return (local.get $e))))
    (i32.const -1))

  ;; --- JSON walking, shared with examples/runners/wat-echo/echo.wat ---------------------------

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
