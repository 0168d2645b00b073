//go:build wasmtime && (linux || darwin)

package wasmtime

import (
	"errors"
	"io"
	"os"

	"github.com/bytecodealliance/wasmtime-go/v39"
)

// outputs passes a WASI guest's stdout and stderr to io.Writers. wasmtime's WASI writes only
// to files it opens itself, so each stream goes to an unlinked temporary file that is read
// back after every call and instantiation (flush), before the caller looks at the writer: a
// trap's explanation sees all the guest wrote. Each file is truncated after a flush, so it
// holds at most one call's output. The streams cannot share a file (wasmtime opens each path
// with its own offset), so when both go to one writer, a call's stdout comes before its
// stderr rather than interleaved.
type outputs struct {
	stdout, stderr *stream // nil: discarded
	streams        []*stream
}

type stream struct {
	w   io.Writer
	f   *os.File
	off int64 // read position: wasmtime writes at its own offset, which truncation keeps
	buf []byte
}

func newOutputs(stdout, stderr io.Writer) (*outputs, error) {
	o := &outputs{}
	open := func(w io.Writer) (*stream, error) {
		if w == nil {
			return nil, nil
		}
		f, err := os.CreateTemp("", "solti-wasmtime-out-*")
		if err != nil {
			return nil, err
		}
		s := &stream{w: w, f: f}
		o.streams = append(o.streams, s)
		return s, nil
	}
	var err error
	if o.stdout, err = open(stdout); err != nil {
		return nil, err
	}
	if o.stderr, err = open(stderr); err != nil {
		o.close()
		return nil, err
	}
	return o, nil
}

// configure points wc's stdout and stderr at the files (nil writers: nowhere), then unlinks
// them: wasmtime has opened them by now, and nothing is left behind on disk.
func (o *outputs) configure(wc *wasmtime.WasiConfig) error {
	var errs []error
	if o.stdout != nil {
		errs = append(errs, wc.SetStdoutFile(o.stdout.f.Name()))
	}
	if o.stderr != nil {
		errs = append(errs, wc.SetStderrFile(o.stderr.f.Name()))
	}
	for _, s := range o.streams {
		errs = append(errs, os.Remove(s.f.Name()))
	}
	return errors.Join(errs...)
}

func (o *outputs) flush() {
	for _, s := range o.streams {
		s.flush()
	}
}

func (s *stream) flush() {
	for {
		if cap(s.buf) == 0 {
			s.buf = make([]byte, 32<<10)
		}
		n, err := s.f.ReadAt(s.buf[:cap(s.buf)], s.off)
		if n > 0 {
			_, _ = s.w.Write(s.buf[:n])
			s.off += int64(n)
		}
		if err != nil || n == 0 {
			break
		}
	}
	if s.off > 0 {
		_ = s.f.Truncate(0) // wasmtime's next write lands past a hole at s.off
	}
}

func (o *outputs) close() error {
	var errs []error
	for _, s := range o.streams {
		errs = append(errs, s.f.Close())
	}
	return errors.Join(errs...)
}
