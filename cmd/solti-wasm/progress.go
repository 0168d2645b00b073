package main

import (
	"fmt"
	"io"
	"os"
	"sync"
	"time"
)

// progressDelay is how long loading runs before the progress line appears: a warm load
// (compiled code from the cache) stays silent, a cold compile of a Go guest (seconds) does not.
const progressDelay = 300 * time.Millisecond

// isTerminal reports whether w is a character device (a terminal): the progress line is for
// people, never for a pipe or a file that a script reads.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// progress starts a progress line on stderr for what msg names, when stderr is a terminal and
// the command prints text, and returns the function that ends it. The line appears only once
// the work has taken progressDelay, shows the time spent, and is erased at the end, so that
// it never mixes with the report.
// Anything else written to stderr meanwhile (a log record, a load warning) goes through
// o.errOut, which ends the line first.
func (o *globalOptions) progress(msg string, output outputFormat) (stop func()) {
	if output == outputJSON || !isTerminal(o.stderr) {
		return func() {}
	}
	s := showProgress(o.stderr, msg, progressDelay, 250*time.Millisecond)
	o.progressStop.Store(&s)
	return o.endProgress
}

// endProgress ends the progress line, if one runs.
func (o *globalOptions) endProgress() {
	if s := o.progressStop.Swap(nil); s != nil {
		(*s)()
	}
}

// progressGuard is stderr for everything but the progress line: it ends the line before
// writing.
type progressGuard struct{ o *globalOptions }

func (g progressGuard) Write(p []byte) (int, error) {
	g.o.endProgress()
	return g.o.stderr.Write(p)
}

// showProgress writes "\rmsg… 1.2s" to w after delay, then every tick, until stop, which
// erases the line (if it was shown) and returns once nothing more will be written.
func showProgress(w io.Writer, msg string, delay, tick time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		start := time.Now()
		t := time.NewTimer(delay)
		defer t.Stop()
		select {
		case <-done:
			return
		case <-t.C:
		}
		ticker := time.NewTicker(tick)
		defer ticker.Stop()
		for {
			fmt.Fprintf(w, "\r%s… %.1fs", msg, time.Since(start).Seconds())
			select {
			case <-done:
				fmt.Fprint(w, "\r\x1b[K") // back to the line's start, and clear it
				return
			case <-ticker.C:
			}
		}
	}()
	var once sync.Once
	return func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}
