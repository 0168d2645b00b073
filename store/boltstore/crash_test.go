package boltstore

import (
	"bufio"
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// The crash child: the test binary re-executed with crashEnv set to a store file. It
// creates tasks from a few goroutines and prints each acknowledged one ("ack NAME REV")
// and each run-id number it got ("seq N") until it is killed.
const (
	crashEnv   = "BOLTSTORE_CRASH_CHILD"
	crashRound = "BOLTSTORE_CRASH_ROUND"
)

// crashChild runs the child when the environment asks for it, and reports whether it did.
func crashChild() bool {
	path := os.Getenv(crashEnv)
	if path == "" {
		return false
	}
	s, err := Open(path, Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, "child:", err)
		os.Exit(2)
	}
	var mu sync.Mutex
	say := func(format string, a ...any) {
		line := fmt.Sprintf(format+"\n", a...)
		mu.Lock()
		_, _ = os.Stdout.WriteString(line) // one write per line: a kill never splits one
		mu.Unlock()
	}
	deadline := time.Now().Add(30 * time.Second) // never outlive a parent that died
	var wg sync.WaitGroup
	for w := range 4 {
		wg.Go(func() {
			for i := 0; time.Now().Before(deadline); i++ {
				name := fmt.Sprintf("r%s-w%d-%d", os.Getenv(crashRound), w, i)
				t, err := s.CreateTask(context.Background(), &store.Task{
					Key: store.Key{Tenant: "crash", Name: name}, Spec: []byte(`{"slot":"s"}`),
					Status: store.TaskStatus{Phase: store.PhasePending},
				})
				if err != nil {
					fmt.Fprintln(os.Stderr, "child:", err)
					os.Exit(3)
				}
				say("ack %s %d", name, t.ResourceVersion)
				if n, err := s.NextRunSeq(context.Background()); err == nil {
					say("seq %d", n)
				}
			}
		})
	}
	wg.Wait()
	_ = s.Close()
	return true
}

// TestCrashKeepsAcknowledged SIGKILLs a writing child at random moments and checks, after
// each, that every task it acknowledged is in the file at the revision it was given, and
// that revisions and run-id numbers never repeat across the crashes.
func TestCrashKeepsAcknowledged(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test re-executes the test binary")
	}
	t.Parallel()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "tasks.db")
	acked := make(map[string]store.Revision)
	revOwner := make(map[store.Revision]string)
	seqs := make(map[uint64]int)
	var maxRev store.Revision
	var maxSeq uint64
	const rounds = 6
	var recovered int64 // log records the reopens applied: acknowledged writes only the log held
	for round := range rounds {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), crashEnv+"="+path, crashRound+"="+strconv.Itoa(round))
		cmd.Stderr = os.Stderr
		out, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			sc := bufio.NewScanner(out)
			for sc.Scan() {
				lines <- sc.Text()
			}
		}()
		// Kill at a random moment once the child writes: 20 to 250 acknowledgements in.
		killAt := 20 + rand.IntN(230)
		var got []string
		timeout := time.After(20 * time.Second)
	read:
		for {
			select {
			case l, ok := <-lines:
				if !ok {
					break read
				}
				got = append(got, l)
				if len(got) == killAt {
					_ = cmd.Process.Signal(syscall.SIGKILL)
				}
			case <-timeout:
				_ = cmd.Process.Signal(syscall.SIGKILL)
				t.Fatalf("round %d: the child wrote %d lines in 20s", round, len(got))
			}
		}
		_ = cmd.Wait()
		if len(got) < killAt {
			t.Fatalf("round %d: the child ended after %d lines, before the kill at %d", round, len(got), killAt)
		}

		roundMaxRev, roundMaxSeq := maxRev, maxSeq
		for _, l := range got {
			f := strings.Fields(l)
			switch {
			case len(f) == 3 && f[0] == "ack":
				rev, _ := strconv.ParseUint(f[2], 10, 64)
				r := store.Revision(rev)
				if r <= maxRev {
					t.Fatalf("round %d: %s acknowledged at revision %d, not above the %d of earlier rounds", round, f[1], r, maxRev)
				}
				if prev, dup := revOwner[r]; dup {
					t.Fatalf("round %d: revision %d given to %s and %s", round, r, prev, f[1])
				}
				revOwner[r], acked[f[1]] = f[1], r
				roundMaxRev = max(roundMaxRev, r)
			case len(f) == 2 && f[0] == "seq":
				n, _ := strconv.ParseUint(f[1], 10, 64)
				if n <= maxSeq || seqs[n] > 0 {
					t.Fatalf("round %d: run seq %d repeated (earlier rounds reached %d)", round, n, maxSeq)
				}
				seqs[n]++
				roundMaxSeq = max(roundMaxSeq, n)
			default:
				t.Fatalf("round %d: child line %q", round, l)
			}
		}
		maxRev, maxSeq = roundMaxRev, roundMaxSeq

		s, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("round %d: reopening after the kill: %v", round, err)
		}
		for name, rev := range acked {
			got, err := s.GetTask(context.Background(), store.Key{Tenant: "crash", Name: name})
			if err != nil {
				t.Fatalf("round %d: acknowledged task %s lost: %v", round, name, err)
			}
			if got.ResourceVersion != rev {
				t.Fatalf("round %d: %s at revision %d, acknowledged at %d", round, name, got.ResourceVersion, rev)
			}
		}
		if s.Revision() < maxRev {
			t.Fatalf("round %d: reopened at revision %d, below the acknowledged %d", round, s.Revision(), maxRev)
		}
		// What the reopened store hands out is above everything acknowledged.
		if n, err := s.NextRunSeq(context.Background()); err != nil || n <= maxSeq {
			t.Fatalf("round %d: run seq %d after the crash, %d was handed out before (%v)", round, n, maxSeq, err)
		}
		recovered += s.Stats().Recovered
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		t.Logf("round %d: killed after %d lines; %d tasks acknowledged so far, revision %d, run seq %d; %d log records recovered so far", round, len(got), len(acked), maxRev, maxSeq, recovered)
	}
	if recovered == 0 {
		t.Fatal("no reopen applied a log record: the kills all fell after a checkpoint, and the log's recovery went untested")
	}
}
