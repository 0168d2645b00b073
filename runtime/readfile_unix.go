//go:build unix

package runtime

import "syscall"

// openNonBlock makes opening a FIFO return at once instead of waiting for a writer; it has no
// effect on the regular files that are then read.
const openNonBlock = syscall.O_NONBLOCK
