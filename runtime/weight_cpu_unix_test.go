//go:build unix

package runtime

import (
	"syscall"
	"time"
)

// cpuNow is the process's CPU time (user and system, every thread: the compiler's goroutines
// and the GC's included), which a shared machine's load moves less than wall time.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
