// Package soltiwasm embeds the sources of the Go guest SDK (guest-sdk/go/solti) and of the abi
// package it imports, for `solti-wasm new --lang go`, which writes them into a runner project
// as a vendored copy of this module: the module is on no proxy, so a project outside a
// checkout could not require it otherwise. The files are embedded from where they live, so
// the copy cannot drift from the sources; test files are embedded too (a pattern cannot
// leave them out) and are skipped by the copier.
package soltiwasm

import "embed"

// GoSDK holds go.mod (for its go line), abi/*.go, abi/ABI.md and abi/schema/*.json (which abi
// embeds itself), guest-sdk/go/solti/*.go and guest-sdk/go/README.md, under their paths in
// this module.
//
//go:embed go.mod abi/*.go abi/ABI.md abi/schema/*.json guest-sdk/go/solti/*.go guest-sdk/go/README.md
var GoSDK embed.FS
