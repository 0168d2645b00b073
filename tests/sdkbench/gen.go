// Package sdkbench measures what each guest SDK adds to a supports call (BENCHMARKS.md,
// "Supports per SDK"): one kind-check runner per SDK against the same check written by hand
// against the raw ABI (WAT, C and Go without an SDK), each through the runtime and straight
// through wazero. This file only rebuilds the committed modules, with the exact commands that
// tests/modules_fresh_test.go checks:
//
//	go generate ./tests/sdkbench/
package sdkbench

//go:generate wat2wasm runners/wat-raw/kind.wat -o runners/wat-raw.wasm
//go:generate clang --target=wasm32 -O2 -mbulk-memory -nostdlib -Wl,--no-entry -Wl,--strip-all -o runners/c-raw.wasm runners/c-raw/kind.c
//go:generate clang --target=wasm32 -O2 -mbulk-memory -nostdlib -Wl,--no-entry -Wl,--strip-all -I../../guest-sdk/c -o runners/c-sdk.wasm runners/c-sdk/kind.c
//go:generate ../../guest-sdk/rust/build.sh runners/rust-sdk/lib.rs runners/rust-sdk.wasm
//go:generate ../../guest-sdk/assemblyscript/build.sh runners/assemblyscript-sdk/index.ts runners/assemblyscript-sdk.wasm
//go:generate env GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared -o runners/go-sdk.wasm ./runners/go-sdk
//go:generate env GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared -o runners/go-raw.wasm ./runners/go-raw
