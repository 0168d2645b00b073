//go:build wasip1

package main

import "unsafe"

//go:wasmimport solti input
func input(dst unsafe.Pointer)

//go:wasmimport solti output
func output(ptr unsafe.Pointer, n uint32)
