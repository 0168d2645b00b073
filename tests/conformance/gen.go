// Package conformance runs one scenario table against a conformance runner written in every
// guest language (README.md). This file only rebuilds the committed modules, with the exact
// commands that tests/modules_fresh_test.go checks:
//
//	go generate ./tests/conformance/
package conformance

//go:generate env GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared -o runners/go.wasm ./runners/go
//go:generate ../../guest-sdk/rust/build.sh runners/rust/lib.rs runners/rust.wasm
//go:generate clang --target=wasm32 -O2 -mbulk-memory -nostdlib -Wl,--no-entry -Wl,--strip-all -I../../guest-sdk/c -o runners/c.wasm runners/c/conformance.c
//go:generate ../../guest-sdk/assemblyscript/build.sh runners/assemblyscript/index.ts runners/assemblyscript.wasm
//go:generate wat2wasm runners/wat/conformance.wat -o runners/wat.wasm
