package runtime

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// ErrNotRegular and ErrModuleTooLarge are read errors: a module path that is a FIFO, a device,
// a directory or a socket (after following symlinks), or a file over Limits.MaxModuleBytes.
var (
	ErrNotRegular     = errors.New("not a regular file")
	ErrModuleTooLarge = errors.New("module file too large")
)

// ReadModuleFile reads the module file at path, refusing anything but a regular file (after
// following symlinks) and files over maxBytes (<= 0: DefaultMaxModuleBytes). It opens without
// blocking, so a FIFO cannot stall it, checks type and size on the open file before reading,
// and never reads more than maxBytes+1 bytes, so /dev/zero or a file growing under it cannot
// make it allocate more. It returns the bytes and the open file's FileInfo.
func ReadModuleFile(path string, maxBytes int64) ([]byte, fs.FileInfo, error) {
	if maxBytes <= 0 {
		maxBytes = DefaultMaxModuleBytes
	}
	f, err := os.OpenFile(path, os.O_RDONLY|openNonBlock, 0)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fi, errorf(ErrNotRegular, "%s", fileKind(fi.Mode()))
	}
	if fi.Size() > maxBytes {
		return nil, fi, errorf(ErrModuleTooLarge, "%d bytes, over the %d-byte module size cap", fi.Size(), maxBytes)
	}
	// Size+1 capacity: a file that has not grown is read without reallocating, and the
	// extra byte shows growth; the limit stops a file that grew past the cap.
	b := make([]byte, 0, fi.Size()+1)
	for {
		n, err := f.Read(b[len(b):cap(b)])
		b = b[:len(b)+n]
		if int64(len(b)) > maxBytes {
			return nil, fi, errorf(ErrModuleTooLarge, "grew past the %d-byte module size cap while it was read", maxBytes)
		}
		if errors.Is(err, io.EOF) {
			return b, fi, nil
		}
		if err != nil {
			return nil, fi, fmt.Errorf("read %s: %w", path, err)
		}
		if len(b) == cap(b) {
			b = append(b, 0)[:len(b)] // grow: the file is larger than it was at fstat
		}
	}
}

// fileKind names a non-regular file's type for errors.
func fileKind(m fs.FileMode) string {
	switch {
	case m&fs.ModeNamedPipe != 0:
		return "FIFO"
	case m.IsDir():
		return "directory"
	case m&fs.ModeCharDevice != 0:
		return "character device"
	case m&fs.ModeDevice != 0:
		return "block device"
	case m&fs.ModeSocket != 0:
		return "socket"
	case m&fs.ModeIrregular != 0:
		return "irregular file"
	}
	return "non-regular file (" + m.String() + ")"
}
