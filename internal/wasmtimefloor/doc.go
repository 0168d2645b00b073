// Package wasmtimefloor is the raw-engine floor on wasmtime (see floor.go, built with the
// wasmtime tag; without it the package is empty).
package wasmtimefloor
