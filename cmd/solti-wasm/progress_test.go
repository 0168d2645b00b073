package main

import (
	"bytes"
	"os"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the progress goroutine and the test.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func TestShowProgress(t *testing.T) {
	t.Run("fast work stays silent", func(t *testing.T) {
		var w syncBuffer
		stop := showProgress(&w, "loading", time.Hour, time.Millisecond)
		stop()
		stop() // idempotent
		if w.String() != "" {
			t.Errorf("wrote %q before the delay", w.String())
		}
	})
	t.Run("slow work shows the line and erases it", func(t *testing.T) {
		var w syncBuffer
		stop := showProgress(&w, "loading x", 0, time.Millisecond)
		deadline := time.Now().Add(10 * time.Second)
		for strings.Count(w.String(), "\r") < 3 && time.Now().Before(deadline) {
			time.Sleep(time.Millisecond)
		}
		stop()
		out := w.String()
		if !strings.HasPrefix(out, "\rloading x… 0.") || !strings.HasSuffix(out, "s\r\x1b[K") || strings.Count(out, "\r") < 4 {
			t.Errorf("output %q: want updates of \"\\rloading x… N.Ns\", then the line erased", out)
		}
		n := len(w.String())
		time.Sleep(5 * time.Millisecond)
		if len(w.String()) != n {
			t.Error("the progress line kept writing after stop")
		}
	})
}

// TestProgressNotOnPipes checks that the progress line needs a terminal: a buffer (as a
// pipe) is not one, whatever the command and however slow.
func TestProgressNotOnPipes(t *testing.T) {
	var stderr bytes.Buffer
	o := &globalOptions{stderr: &stderr}
	stop := o.progress("loading", outputText)
	stop()
	if isTerminal(&stderr) || o.progressStop.Load() != nil {
		t.Error("a buffer is taken for a terminal")
	}
}

// TestProgressOnTerminal uses /dev/null as the terminal (a character device, as a terminal
// is): text output gets the progress line, --output json never does.
func TestProgressOnTerminal(t *testing.T) {
	devNull, err := os.OpenFile(os.DevNull, os.O_WRONLY, 0)
	if err != nil {
		t.Skipf("no %s: %v", os.DevNull, err)
	}
	defer devNull.Close()
	if !isTerminal(devNull) {
		t.Skipf("%s is not a character device here", os.DevNull)
	}
	o := &globalOptions{stderr: devNull}
	stop := o.progress("loading", outputJSON)
	if o.progressStop.Load() != nil {
		t.Error("--output json starts a progress line")
	}
	stop()
	stop = o.progress("loading", outputText)
	if o.progressStop.Load() == nil {
		t.Error("text output on a terminal starts no progress line")
	}
	// A log record or warning ends the line before it is written.
	if _, err := (progressGuard{o}).Write([]byte("warning\n")); err != nil {
		t.Fatal(err)
	}
	if o.progressStop.Load() != nil {
		t.Error("a write to stderr left the progress line running")
	}
	stop()
}
