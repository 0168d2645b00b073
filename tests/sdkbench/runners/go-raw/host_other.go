//go:build !wasip1

package main

import "unsafe"

// Outside wasm there is no host: the package only has to compile (go vet ./..., go test ./...).

func input(unsafe.Pointer) { panic("go-raw runs only as a wasip1 module") }

func output(unsafe.Pointer, uint32) { panic("go-raw runs only as a wasip1 module") }
