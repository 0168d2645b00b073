//go:build wasmtime && (linux || darwin)

package wasmtime

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bytecodealliance/wasmtime-go/v39"
	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

// The epoch ticker and everything else must stop with the engine.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func wat(t *testing.T, src string) []byte {
	t.Helper()
	b, err := wasmtime.Wat2Wasm(src)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func newEng(t *testing.T, o engine.Options) engine.Engine {
	t.Helper()
	e, err := engine.New(context.Background(), Name, o)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.Close(context.Background()) })
	return e
}

func instantiate(t *testing.T, e engine.Engine, src string, cfg engine.InstanceConfig) engine.Instance {
	t.Helper()
	ctx := context.Background()
	m, err := e.Compile(ctx, wat(t, src))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = m.Close(ctx) })
	in, err := m.Instantiate(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Close(ctx) })
	return in
}

const spin = `(module
  (func (export "loop") (loop $l (br $l)))
  (func $fib (export "fib") (param i32) (result i32)
    (if (result i32) (i32.lt_u (local.get 0) (i32.const 2))
      (then (local.get 0))
      (else (i32.add (call $fib (i32.sub (local.get 0) (i32.const 1))) (call $fib (i32.sub (local.get 0) (i32.const 2)))))))
  (func (export "add") (param i32 i64) (result i64) (i64.add (i64.extend_i32_u (local.get 0)) (local.get 1))))`

func TestInterruptStopsLoopsAndRecursion(t *testing.T) {
	e := newEng(t, engine.Options{Interruptible: true})
	for _, tc := range []struct {
		fn   string
		arg  uint64
		stop func(ctx context.Context) (context.Context, context.CancelFunc)
		want error
	}{
		{"loop", 0, func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 30*time.Millisecond)
		}, engine.ErrDeadline},
		{"loop", 0, func(ctx context.Context) (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(ctx)
			time.AfterFunc(30*time.Millisecond, cancel)
			return ctx, cancel
		}, engine.ErrCanceled},
		// A call tree without loops (fib(45) takes minutes) stops too: wasmtime checks the
		// epoch at function entry as well as at loop headers.
		{"fib", 45, func(ctx context.Context) (context.Context, context.CancelFunc) {
			return context.WithTimeout(ctx, 30*time.Millisecond)
		}, engine.ErrDeadline},
	} {
		in := instantiate(t, e, spin, engine.InstanceConfig{})
		ctx, cancel := tc.stop(context.Background())
		start := time.Now()
		err := in.Func(tc.fn).Call(ctx, []uint64{tc.arg})
		took := time.Since(start)
		cancel()
		if !errors.Is(err, tc.want) {
			t.Errorf("%s: %v, want %v", tc.fn, err, tc.want)
		}
		if took > 2*time.Second {
			t.Errorf("%s stopped after %v", tc.fn, took)
		}
	}
	// A call whose context is already done does not start; one that ends in time is unharmed
	// by a previous interruption's flag.
	in := instantiate(t, e, spin, engine.InstanceConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := in.Func("loop").Call(ctx, []uint64{0}); !errors.Is(err, engine.ErrCanceled) {
		t.Errorf("done context: %v", err)
	}
	ctx, cancel = context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stack := []uint64{20}
	if err := in.Func("fib").Call(ctx, stack); err != nil || stack[0] != 6765 {
		t.Errorf("fib(20) = %d, %v; want 6765", stack[0], err)
	}
	stack = []uint64{uint64(uint32(7)), uint64(1) << 40}
	if err := in.Func("add").Call(ctx, stack); err != nil || stack[0] != 1<<40+7 {
		t.Errorf("add = %d, %v", stack[0], err)
	}
}

func TestNotInterruptibleRunsWithoutTicker(t *testing.T) {
	e := newEng(t, engine.Options{})
	in := instantiate(t, e, spin, engine.InstanceConfig{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // ignored: the code has no epoch checks
	stack := []uint64{10}
	if err := in.Func("fib").Call(ctx, stack); err != nil || stack[0] != 55 {
		t.Fatalf("fib(10) = %d, %v", stack[0], err)
	}
	if e.(*eng).ticking {
		t.Fatal("a non-interruptible engine started an epoch ticker")
	}
}

// The ticker goroutine exists only while calls run: an idle engine, even one never closed,
// leaves none behind.
func TestTickerOnlyWhileCalling(t *testing.T) {
	e := newEng(t, engine.Options{Interruptible: true})
	in := instantiate(t, e, spin, engine.InstanceConfig{})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_ = in.Func("loop").Call(ctx, nil)
	deadline := time.Now().Add(5 * time.Second)
	for {
		e.(*eng).mu.Lock()
		ticking := e.(*eng).ticking
		e.(*eng).mu.Unlock()
		if !ticking {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the epoch ticker still runs 5 s after the last call")
		}
		time.Sleep(time.Millisecond)
	}
	goleak.VerifyNone(t) // the engine is still open
}

const grower = `(module
  (memory (export "memory") 1)
  (table 1 funcref)
  (func (export "grow") (param i32) (result i32) (memory.grow (local.get 0)))
  (func (export "tgrow") (param i32) (result i32) (table.grow (ref.null func) (local.get 0)))
  (func (export "poke") (param i32) (i32.store8 (local.get 0) (i32.const 7))))`

func TestMemoryCapAndTableLimit(t *testing.T) {
	e := newEng(t, engine.Options{})
	in := instantiate(t, e, grower, engine.InstanceConfig{MaxMemoryBytes: 4 * 65536})
	ctx := context.Background()
	call := func(name string, arg uint32) (int32, error) {
		s := []uint64{uint64(arg)}
		err := in.Func(name).Call(ctx, s)
		return int32(uint32(s[0])), err
	}
	if r, err := call("grow", 3); r != 1 || err != nil {
		t.Fatalf("grow to the cap: %d, %v; want 1", r, err)
	}
	if in.MemoryCapHit() {
		t.Error("MemoryCapHit after a grow within the cap")
	}
	if r, _ := call("grow", 1); r != -1 {
		t.Fatalf("grow past the cap returned %d, want -1", r)
	}
	if !in.MemoryCapHit() || in.MemoryCapHit() {
		t.Error("MemoryCapHit: want true once after a refused grow, then false")
	}
	// The grown pages are usable, the ones past them are not.
	if _, err := call("poke", 4*65536-1); err != nil {
		t.Fatal(err)
	}
	_, err := call("poke", 4*65536)
	var trap *engine.TrapError
	if !errors.As(err, &trap) || !strings.Contains(trap.Message, "out of bounds memory access") {
		t.Fatalf("store past memory: %v", err)
	}
	mem := in.Memory()
	if mem.Size() != 4*65536 {
		t.Errorf("Size %d", mem.Size())
	}
	if b, ok := mem.Read(4*65536-1, 1); !ok || b[0] != 7 {
		t.Errorf("Read the last byte: %v %v", b, ok)
	}
	if _, ok := mem.Read(4*65536-1, 2); ok {
		t.Error("Read past the end succeeded")
	}
	if !mem.Write(0, []byte("hi")) || mem.Write(4*65536-1, []byte("hi")) {
		t.Error("Write bounds")
	}
	if r, _ := call("tgrow", MaxTableElements); r != -1 {
		t.Errorf("table.grow past MaxTableElements returned %d", r)
	}
	if r, _ := call("tgrow", 10); r != 1 {
		t.Errorf("table.grow within the limit returned %d, want 1", r)
	}
}

func TestInitialMemoryOverCapFails(t *testing.T) {
	e := newEng(t, engine.Options{})
	ctx := context.Background()
	m, err := e.Compile(ctx, wat(t, `(module (memory (export "memory") 5))`))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close(ctx)
	if in, err := m.Instantiate(ctx, engine.InstanceConfig{MaxMemoryBytes: 4 * 65536}); err == nil {
		in.Close(ctx)
		t.Fatal("instantiated 5 pages under a 4-page cap")
	}
}

type ctxKey struct{}

func TestHostFunctions(t *testing.T) {
	boom := errors.New("boom")
	var seen []string
	e := newEng(t, engine.Options{Interruptible: true, Host: []engine.HostFunc{
		{Module: "solti", Name: "echo", Type: engine.FuncType{Params: []engine.ValueType{engine.I32, engine.I32}, Results: []engine.ValueType{engine.I32}},
			Fn: func(ctx context.Context, mem engine.Memory, stack []uint64) {
				b, ok := mem.Read(uint32(stack[0]), uint32(stack[1]))
				if !ok {
					panic(boom)
				}
				seen = append(seen, ctx.Value(ctxKey{}).(string)+":"+string(b))
				stack[0] = uint64(len(b) * 2)
			}},
	}})
	in := instantiate(t, e, `(module
  (import "solti" "echo" (func $echo (param i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 8) "hello")
  (func (export "f") (param i32) (result i32) (call $echo (i32.const 8) (local.get 0))))`, engine.InstanceConfig{})
	ctx := context.WithValue(context.Background(), ctxKey{}, "call")
	stack := []uint64{5}
	if err := in.Func("f").Call(ctx, stack); err != nil || stack[0] != 10 {
		t.Fatalf("f = %d, %v", stack[0], err)
	}
	if len(seen) != 1 || seen[0] != "call:hello" {
		t.Errorf("host saw %q", seen)
	}
	stack = []uint64{1 << 20}
	err := in.Func("f").Call(ctx, stack)
	var trap *engine.TrapError
	if !errors.As(err, &trap) || !errors.Is(err, boom) || trap.Message != "boom" {
		t.Fatalf("host panic: %#v, want a trap wrapping boom", err)
	}
}

func TestTrapMessageAndTrace(t *testing.T) {
	e := newEng(t, engine.Options{})
	in := instantiate(t, e, `(module (func $inner unreachable) (func (export "f") (call $inner)))`, engine.InstanceConfig{})
	err := in.Func("f").Call(context.Background(), make([]uint64, 1))
	var trap *engine.TrapError
	if !errors.As(err, &trap) || trap.Message != "wasm error: unreachable" {
		t.Fatalf("trap %#v", err)
	}
	if lines := strings.Split(trap.Trace, "\n"); len(lines) != 2 || !strings.Contains(lines[0], " at 0x") {
		t.Errorf("trace %q: want two frames with offsets", trap.Trace)
	}
}

const wasiGuest = `(module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 16) "out\n")
  (data (i32.const 32) "err\n")
  (func $write (param $fd i32) (param $ptr i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (i32.const 4))
    (drop (call $fd_write (local.get $fd) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func (export "both") (call $write (i32.const 1) (i32.const 16)) (call $write (i32.const 2) (i32.const 32)))
  (func (export "exit") (param i32) (call $exit (local.get 0))))`

func TestWASIOutputAndExit(t *testing.T) {
	e := newEng(t, engine.Options{Interruptible: true})
	ctx := context.Background()
	var out, errw bytes.Buffer
	in := instantiate(t, e, wasiGuest, engine.InstanceConfig{Stdout: &out, Stderr: &errw})
	for range 3 {
		if err := in.Func("both").Call(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if out.String() != "out\nout\nout\n" || errw.String() != "err\nerr\nerr\n" {
		t.Errorf("stdout %q, stderr %q", out.String(), errw.String())
	}
	// One writer for both streams gets each call's stdout, then its stderr.
	var both bytes.Buffer
	in2 := instantiate(t, e, wasiGuest, engine.InstanceConfig{Stdout: &both, Stderr: &both})
	for range 2 {
		if err := in2.Func("both").Call(ctx, nil); err != nil {
			t.Fatal(err)
		}
	}
	if both.String() != "out\nerr\nout\nerr\n" {
		t.Errorf("shared writer got %q", both.String())
	}
	err := in2.Func("exit").Call(ctx, []uint64{3})
	var exit *engine.ExitError
	if !errors.As(err, &exit) || exit.Code != 3 {
		t.Fatalf("proc_exit(3): %v", err)
	}
	// Nil writers discard.
	in3 := instantiate(t, e, wasiGuest, engine.InstanceConfig{})
	if err := in3.Func("both").Call(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

func TestFuel(t *testing.T) {
	e := newEng(t, engine.Options{Fuel: true})
	in := instantiate(t, e, spin, engine.InstanceConfig{})
	f, ok := in.(engine.Fueled)
	if !ok {
		t.Fatal("instance is not engine.Fueled")
	}
	ctx := context.Background()
	var used []uint64
	for range 3 {
		if err := f.SetFuel(1 << 40); err != nil {
			t.Fatal(err)
		}
		if err := in.Func("fib").Call(ctx, []uint64{20}); err != nil {
			t.Fatal(err)
		}
		n, err := f.FuelConsumed()
		if err != nil {
			t.Fatal(err)
		}
		used = append(used, n)
	}
	if used[0] == 0 || used[0] != used[1] || used[1] != used[2] {
		t.Errorf("fib(20) consumed %v: want the same nonzero count each time", used)
	}
	if err := f.SetFuel(1000); err != nil {
		t.Fatal(err)
	}
	err := in.Func("loop").Call(ctx, nil)
	if !errors.Is(err, engine.ErrFuelExhausted) {
		t.Fatalf("loop on 1000 units: %v, want ErrFuelExhausted", err)
	}
	if n, _ := f.FuelConsumed(); n != 1000 {
		t.Errorf("consumed %d of 1000", n)
	}
	// Without Options.Fuel, the meter says so.
	plain := instantiate(t, newEng(t, engine.Options{}), spin, engine.InstanceConfig{})
	if err := plain.(engine.Fueled).SetFuel(1); err == nil {
		t.Error("SetFuel without Options.Fuel succeeded")
	}
}

func TestCompilationCache(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	wasm := wat(t, spin)
	compile := func() {
		t.Helper()
		e := newEng(t, engine.Options{CacheDir: dir, Interruptible: true})
		m, err := e.Compile(ctx, wasm)
		if err != nil {
			t.Fatal(err)
		}
		defer m.Close(ctx)
		in, err := m.Instantiate(ctx, engine.InstanceConfig{})
		if err != nil {
			t.Fatal(err)
		}
		defer in.Close(ctx)
		stack := []uint64{10}
		if err := in.Func("fib").Call(ctx, stack); err != nil || stack[0] != 55 {
			t.Fatalf("fib(10) = %d, %v", stack[0], err)
		}
	}
	compile()
	files, _ := filepath.Glob(filepath.Join(dir, "wasmtime-*", "*-epoch.cwasm"))
	if len(files) != 1 {
		t.Fatalf("cache files %v, want one", files)
	}
	fi, _ := os.Stat(filepath.Dir(files[0]))
	if fi.Mode().Perm() != 0o700 {
		t.Errorf("cache dir mode %v, want 0700", fi.Mode().Perm())
	}
	good, _ := os.ReadFile(files[0])
	if _, ok := unseal(good); !ok {
		t.Fatal("cache file does not verify")
	}
	compile() // from the cache

	// A corrupt file is compiled again and replaced, never deserialized.
	bad := bytes.Clone(good)
	bad[len(bad)/2] ^= 0xff
	if err := os.WriteFile(files[0], bad, 0o600); err != nil {
		t.Fatal(err)
	}
	compile()
	if again, _ := os.ReadFile(files[0]); !bytes.Equal(again, good) {
		t.Error("corrupt cache file was not replaced")
	}

	// A directory others can write to is refused.
	open := t.TempDir()
	if err := os.MkdirAll(filepath.Join(open, "wasmtime-"+wasmtimeVersion()), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(filepath.Join(open, "wasmtime-"+wasmtimeVersion()), 0o777); err != nil {
		t.Fatal(err)
	}
	if _, err := engine.New(ctx, Name, engine.Options{CacheDir: open}); !errors.Is(err, ErrCacheDir) {
		t.Errorf("world-writable cache dir: %v, want ErrCacheDir", err)
	}
}

// Proposals past WebAssembly 2.0 are refused, as wazero refuses them.
func TestFeaturesMatchWazero(t *testing.T) {
	e := newEng(t, engine.Options{})
	for name, src := range map[string]string{
		"tail call":    `(module (func $f (return_call $f)))`,
		"multi-memory": `(module (memory 1) (memory 1))`,
		"memory64":     `(module (memory i64 1))`,
	} {
		if m, err := e.Compile(context.Background(), wat(t, src)); err == nil {
			m.Close(context.Background())
			t.Errorf("%s: compiled", name)
		}
	}
}
