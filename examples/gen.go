// Package examples holds the example runners and task specs; this file only rebuilds the
// committed modules, with the exact commands that tests/examples_test.go (Go) and
// tests/modules_fresh_test.go (Rust, C, AssemblyScript, WAT) check:
//
//	go generate ./examples/...
//
// The Go commands are reproducible: the same Go release gives the same bytes anywhere.
package examples

//go:generate env GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared -o runners/go-transform.wasm ./runners/go-transform
//go:generate env GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared -o runners/go-subprocess.wasm ./runners/go-subprocess
//go:generate env GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared -o runners/go-wasm.wasm ./runners/go-wasm
//go:generate wat2wasm runners/wat-echo/echo.wat -o runners/wat-echo.wasm
//go:generate ../guest-sdk/rust/build.sh runners/rust-httpcheck/lib.rs runners/rust-httpcheck.wasm
//go:generate clang --target=wasm32 -O2 -mbulk-memory -nostdlib -Wl,--no-entry -Wl,--strip-all -I../guest-sdk/c -o runners/c-script.wasm runners/c-script/script.c
//go:generate ../guest-sdk/assemblyscript/build.sh runners/assemblyscript-jsonpick/index.ts runners/assemblyscript-jsonpick.wasm
