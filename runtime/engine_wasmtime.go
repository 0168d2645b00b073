//go:build wasmtime

package runtime

import _ "github.com/solti-wasm/solti-wasm/runtime/internal/engine/wasmtime" // registers "wasmtime"
