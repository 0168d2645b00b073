// Package abi is the data contract and calling convention between the solti-wasm host and
// runner modules, version 1. The normative specification is ABI.md in this directory; this
// package holds its constants and the JSON types that cross the boundary (TaskSpec, Plan,
// BuildInput, RunInput, Description, GuestError), with their validation rules.
//
// The types encode to canonical JSON: compact, fields in declaration order, maps sorted by key,
// defaults filled in. Guests may rely on that order for cheap scanning, and must ignore fields
// they do not know.
package abi

import "time"

// Version is the ABI version this package describes.
const Version = 1

// Exports a runner module provides (see ABI.md, "Guest exports").
const (
	ExportMarker     = "solti_abi_v1" // () -> (); its presence selects ABI v1
	ExportMemory     = "memory"
	ExportName       = "name"        // () -> i32
	ExportSupports   = "supports"    // (in_len i32) -> i32
	ExportBuild      = "build"       // (in_len i32) -> i32
	ExportDescribe   = "describe"    // () -> i32, optional
	ExportRun        = "run"         // (in_len i32) -> i32, optional
	ExportInitialize = "_initialize" // () -> (), optional, called once after instantiation
)

// MarkerPrefix starts every version marker export, so a host can name the version of a module
// it does not speak ("solti_abi_v2") instead of calling it "not a runner".
const MarkerPrefix = "solti_abi_v"

// HostModule is the import module name of the host functions.
const HostModule = "solti"

// Host functions in HostModule (see ABI.md, "Host imports").
const (
	ImportInput  = "input"  // (dst i32) -> ()
	ImportOutput = "output" // (ptr i32, len i32) -> ()
	ImportLog    = "log"    // (level i32, ptr i32, len i32) -> ()
	// ImportEmit is optional (added within v1): a run's live output lines.
	ImportEmit = "emit" // (stream i32, ptr i32, len i32) -> ()
)

// Streams of the emit import.
const (
	StreamStdout int32 = 1
	StreamStderr int32 = 2
)

// WASIModule is the only other import module a runner may use: WASI preview 1, which Go and
// libc guests need. The host provides it with no files, no network, no environment and no
// arguments.
const WASIModule = "wasi_snapshot_preview1"

// Log levels passed to the log import.
const (
	LogDebug int32 = 0
	LogInfo  int32 = 1
	LogWarn  int32 = 2
	LogError int32 = 3
)

// Return codes of supports.
const (
	SupportsNo  int32 = 0
	SupportsYes int32 = 1
)

// Default limits, part of the ABI: a host may be configured with other values, never without one.
const (
	DefaultMaxInputBytes   = 1 << 20 // largest input the host hands to one call
	DefaultMaxOutputBytes  = 1 << 20 // largest output a call may set
	DefaultMaxLogBytes     = 4 << 10 // longest log message kept; longer ones are truncated
	DefaultMaxLogsPerCall  = 256     // log calls kept per export call; later ones are dropped and counted
	DefaultMaxLineBytes    = 4 << 10 // longest emitted line kept; longer ones are truncated
	DefaultMaxLinesPerCall = 10000   // emitted lines kept per export call; later ones are dropped and counted
	DefaultMaxMemoryPages  = 1024    // 64 MiB of linear memory (a page is 64 KiB)
	DefaultCallTimeout     = time.Second
	PageSize               = 65536
)
