// Package wasmbin is a bounded reader and pre-validator for WebAssembly core module binaries.
//
// It runs before any engine sees a module's bytes. Every declared count and size is checked
// against the bytes that remain before anything is allocated for it, so no allocation is larger
// than the input justifies, and implementation limits (see [Limits]) cap what a valid-looking
// module may declare. [Check] is the gate the runtime uses; [Parse] returns the decoded
// [Module] for tools that rewrite modules: its sections keep their raw payloads and offsets,
// [Instructions] walks a function body instruction by instruction with byte offsets, the
// Append* helpers encode LEB128 and section payloads, and [Module.Encode] writes the module back.
//
// The pre-validator decodes every section and instruction and checks every index it can see
// (types, functions, tables, memories, globals, locals, labels, data and element segments),
// control-structure nesting and the implementation limits. It does not type-check the operand
// stack; that is left to the engine, which only ever sees bytes this package accepted.
package wasmbin
