// Package guestsdk embeds the sources of the non-Go guest SDKs, which `solti-wasm new` copies
// into the runner projects it scaffolds: a project builds from anywhere, with no path back to
// a solti-wasm checkout. (The Go SDK, ./go/solti, is a Go package and is imported instead.)
package guestsdk

import "embed"

// Files holds the Rust crate (rust/Cargo.toml, rust/src/*.rs, rust/README.md), the C header
// (c/solti.h, c/README.md) and the AssemblyScript sources (assemblyscript/assembly/*.ts).
//
//go:embed rust/Cargo.toml rust/README.md rust/src/*.rs c/solti.h c/README.md assemblyscript/assembly/*.ts
var Files embed.FS
