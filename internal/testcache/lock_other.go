//go:build !unix

package testcache

// lock is a no-op where flock is missing: concurrent warms then may compile the same module
// twice, which wazero's atomic writes keep harmless.
func lock(string) (func(), error) { return func() {}, nil }
