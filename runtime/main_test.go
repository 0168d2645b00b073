package runtime_test

import (
	"testing"

	"go.uber.org/goleak"
)

// Every test must leave no goroutine behind: modules, pools and runtimes close cleanly.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
