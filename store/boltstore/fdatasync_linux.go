package boltstore

import (
	"os"
	"syscall"
)

// fdatasync syncs f's data and only the metadata needed to read it back: the log is
// written inside blocks it already has, so this is one device flush.
func fdatasync(f *os.File) error { return syscall.Fdatasync(int(f.Fd())) }
