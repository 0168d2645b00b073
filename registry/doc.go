// Package registry hot-reloads runner modules: it keeps a router's runners in step with the
// *.wasm files of a directory while tasks keep flowing, with drain, validation, rollback and
// no failed call.
//
// # Versions
//
// Each file's content is a version, identified by the sha256 of its bytes. A version serves
// through a *Version, the router.Runner the registry registers; the router reads an immutable
// snapshot of its runners, so swapping one takes no lock on the routing path.
//
// # Loading rules (shared with solti-wasm run and route)
//
//   - Files: every *.wasm file directly in the directory. Other names (a "x.wasm.tmp" being
//     written, "x.wasm.bak") are ignored, so write-temp-then-rename swaps atomically, and
//     renaming a module to a non-.wasm name removes it.
//   - Routing order: lexical order of file name. An order file,
//     OrderFileName in the directory (or Config.Order), puts the files it lists first, in its
//     order; the others follow in lexical order. One file name per line; blank lines and
//     lines starting with # are ignored. It is re-read when it changes.
//   - Duplicate runner names: the file that comes first in routing order owns the name; the
//     other is refused with an error naming both files (runtime.ErrDuplicateName). When a file
//     that sorts first appears, it takes the name over from the later one (which is then
//     refused), and when the owner goes away, the refused file is loaded: the registry always
//     converges to what a fresh start on the same directory would load.
//
// # Validation, off the routing path
//
// A new version is compiled and checked as runtime.Load does (ABI marker, exports and
// signatures, imports, name, describe), then smoke-tested with its sample: a module "ships a
// sample" by putting a TaskSpec under "sample" in its describe output (ABI.md §5.4). Its
// supports must return 1 for it and its build must return a valid plan (with run id
// "{runner}-{slot}-0"). A version that replaces a running one must also be compatible with it
// (same runner name, still exports run if the old one did, declares at least the old kinds),
// unless Config.AllowIncompatible. A version that fails any of this is rejected: the old one
// keeps serving, and the rejection is logged, counted and published as an event.
//
// # What the watch notices
//
// Writes, renames, removals and permission changes of the *.wasm files (a file that could not
// be read is loaded once it can be: a chmod is enough); module files that are symlinks,
// followed to their targets: a Kubernetes ConfigMap or Secret volume's update (the rename of
// a new ..data symlink over the old one: any change to another entry of the directory makes
// the symlinked files be looked at again) and an in-place write to a target outside the
// directory (the targets' directories are watched too). As a safety net, every file is read
// again each Config.Rescan (30 s) and compared with its version, which finds what no event
// reports (an intermediate symlink outside the directory swapped, lost events). Looking at a
// file again costs a read and a byte comparison; only a changed file is loaded. See links.go.
//
// A file is loaded only once it is complete and quiet: after Config.Debounce without a write,
// and only when its wasm sections are whole (a wasm binary is self-delimiting); a file that
// stays incomplete for Config.Settle is rejected as truncated.
//
// # Swap and drain
//
// A swap replaces the runner in place in the routing order (router.Replace). A router call
// (Route, Build, Explain) that read the old order finishes on the old version; the registry
// waits for those (router.Quiesce), then for every call still holding the version (each call
// takes a reference), then closes the old module. A caller that kept a *Version after it was
// drained (say, to execute a guest plan later) is forwarded to the file's current version of
// the same runner name, and refused with ErrRetired only when there is none.
//
// # Supports cool-down
//
// A version whose supports faults Config.CooldownFaults times in a row (traps, deadlines) is
// out of routing for Config.Cooldown, doubling on repeat up to Config.CooldownMax: its
// supports answers ErrCoolingDown at once, which the router counts as "no". Each cool-down is
// an EventCooledDown. See cooldown.go.
//
// # Crash-loop quarantine
//
// A version whose calls of one export (supports, build or run, counted apart: a version
// whose build always traps while its supports works is crash-looping) fault Config.TrapLimit
// times in a row is rolled back to the file's previous version, and its digest is quarantined
// for that file until the process restarts. Faults are traps, the memory cap, bad pointers,
// output too large, invalid results and the call's own deadline; a guest's structured error
// is an answer, and resets the count like a success; a caller's cancellation counts for
// nothing. For Config.Probation after a swap (30 s by default) the replaced version stays
// loaded, drained and idle, so the rollback is a pointer swap; later, the previous version is
// loaded again from its bytes (the registry keeps the last two versions' bytes), from the
// on-disk compilation cache when the runtime has one, else compiled again (a closed
// module's machine code is released, so memory does not grow with every version loaded).
// Without a previous version the runner is unregistered until the file changes.
package registry
