package tests

import (
	"os"
	"os/exec"
	"testing"
)

// requireTool returns the path of an external toolchain program. Without it the test skips
// with a clear message on a developer's machine, and fails in CI (CI=true), where .ci/run
// installs every toolchain.
func requireTool(t testing.TB, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err == nil {
		return path
	}
	msg := name + " is not on PATH (.ci/run shows how to install it)"
	if os.Getenv("CI") == "true" {
		t.Fatal(msg + ": CI=true requires every toolchain")
	}
	t.Skip(msg + ": test skipped")
	return ""
}
