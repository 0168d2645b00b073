// Package testdata holds the serve tests' runner modules: WAT sources and the modules built
// from them (committed, so the tests need no wat2wasm).
package testdata

//go:generate wat2wasm serve-quick.wat -o serve-quick.wasm
//go:generate wat2wasm serve-loop.wat -o serve-loop.wasm
//go:generate wat2wasm serve-hog.wat -o serve-hog.wasm
