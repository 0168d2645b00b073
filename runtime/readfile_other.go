//go:build !unix

package runtime

// openNonBlock is 0 where O_NONBLOCK does not exist; such systems have no FIFO that blocks open.
const openNonBlock = 0
