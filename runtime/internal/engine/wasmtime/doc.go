// Package wasmtime implements the engine seam with wasmtime-go (cgo). It is built only with
// the wasmtime build tag on linux and darwin; without the tag the package is empty, so a
// default build needs neither cgo nor wasmtime. It registers the engine "wasmtime".
//
// Limits map onto wasmtime as follows:
//   - Memory: linear memories come from a memory creator of this package that reserves what
//     wasmtime asks and refuses to grow past the instance's MaxMemoryBytes, remembering the
//     refusal for MemoryCapHit (wasmtime's store limiter refuses silently). Table elements
//     are bounded by the store limiter (MaxTableElements).
//   - CPU: with Options.Interruptible, compiled code checks wasmtime's epoch. A ticker
//     advances it every EpochTick while any call of the engine runs; at each tick a running
//     store asks a callback of this package whether its call's context is done, and stops
//     if so (ErrDeadline or ErrCanceled). With Options.Fuel, instances meter native fuel
//     (engine.Fueled).
//   - Compiled code is cached under CacheDir/wasmtime-<version> as wasmtime's serialized
//     modules, checksummed, in a directory only this user can write: deserializing is
//     loading machine code, so only files this host wrote are ever read.
package wasmtime
