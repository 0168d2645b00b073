//go:build !unix

package runtime

import "time"

// cpuNow is not measured here: the benchmarks' cpu metrics read 0.
func cpuNow() time.Duration { return 0 }
