package boltstore

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// holdCommitter occupies the committer's loop with a write that waits for the returned
// release, so that the writes queued meanwhile share the next transaction; it returns once
// the loop runs the holder. The holder's own result is sent on the returned channel.
func holdCommitter(t *testing.T, s *Store) (release func(), held <-chan error) {
	t.Helper()
	running, gate, res := make(chan struct{}), make(chan struct{}), make(chan error, 1)
	go func() {
		res <- s.group.do(func(*txn) error {
			close(running)
			<-gate
			return nil
		}, false)
	}()
	<-running
	var once sync.Once
	return func() { once.Do(func() { close(gate) }) }, res
}

// waitQueued waits until n writes wait in the committer's queue.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.group.mu.Lock()
		q := len(s.group.queue)
		s.group.mu.Unlock()
		if q >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued after 10s, want %d", q, n)
		}
	}
}

// A write that fails inside a shared transaction fails alone: the others of its batch
// commit, with consecutive revisions and every event published, and nothing of the failed
// write is left.
func TestGroupCommitIsolatesAFailedWrite(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"), Options{})
	defer s.Close()
	ch, err := s.Watch(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	release, held := holdCommitter(t, s)
	boom := errors.New("boom")
	errs := make([]error, 5)
	var wg sync.WaitGroup
	for i := range errs {
		wg.Go(func() {
			if i == 2 { // commits a task, then fails: the whole write must vanish
				errs[i] = s.write(ctx, func(w *txn) error {
					failed := task("a", "failed")
					if err := w.commit(store.EventAdded, failed, encodeBody(failed)); err != nil {
						return err
					}
					return boom
				})
				return
			}
			_, errs[i] = s.CreateTask(ctx, task("a", fmt.Sprint("ok", i)))
		})
	}
	waitQueued(t, s, len(errs))
	release()
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if i == 2 {
			if !errors.Is(err, boom) {
				t.Errorf("failed write: err %v, want boom", err)
			}
			continue
		}
		if err != nil {
			t.Errorf("write %d: %v", i, err)
		}
	}
	if _, err := s.GetTask(ctx, store.Key{Tenant: "a", Name: "failed"}); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("the failed write's task: %v, want ErrNotFound", err)
	}
	for i := range 4 {
		select {
		case ev := <-ch:
			if ev.Revision != store.Revision(i+1) || ev.Task.Name == "failed" {
				t.Errorf("event %d: revision %d task %s", i, ev.Revision, ev.Task.Name)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("event %d not published", i)
		}
	}
	if got := s.Revision(); got != 4 {
		t.Errorf("revision %d after 4 creates, want 4", got)
	}
}

// Writes queued when Close is called are committed before the file closes; later ones are
// store.ErrClosed; every one is answered.
func TestCloseCommitsQueuedWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := mustOpen(t, path, Options{})
	release, held := holdCommitter(t, s)
	const n = 8
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { _, errs[i] = s.CreateTask(ctx, task("a", fmt.Sprint("t", i))) })
	}
	waitQueued(t, s, n)
	closed := make(chan error, 1)
	go func() { closed <- s.Close() }()
	// Close stops intake before it waits for the queue.
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		s.group.mu.Lock()
		stopped := s.group.stopped
		s.group.mu.Unlock()
		if stopped {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("Close did not stop the committer's intake within 10s")
		}
	}
	if _, err := s.CreateTask(ctx, task("a", "late")); !errors.Is(err, store.ErrClosed) {
		t.Fatalf("a create while closing: %v, want store.ErrClosed", err)
	}
	release()
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	if err := <-closed; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Errorf("queued create %d: %v", i, err)
		}
	}
	s = mustOpen(t, path, Options{})
	defer s.Close()
	p, err := s.ListTasks(ctx, "a", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Tasks) != n {
		t.Errorf("%d tasks after reopening, want the %d queued at Close", len(p.Tasks), n)
	}
}

// A batch never exceeds MaxBatchSize: with 10 writes queued and a bound of 4, the loop
// makes 4, 4 and 2 of them durable per batch.
func TestGroupCommitBoundsTheBatch(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"), Options{MaxBatchSize: 4})
	defer s.Close()
	release, held := holdCommitter(t, s)
	var mu sync.Mutex
	var txs []*txn // the batch of each write, in the order they ran
	var wg sync.WaitGroup
	for range 10 {
		wg.Go(func() {
			_ = s.group.do(func(w *txn) error {
				mu.Lock()
				txs = append(txs, w)
				mu.Unlock()
				return nil
			}, false)
		})
	}
	waitQueued(t, s, 10)
	release()
	wg.Wait()
	if err := <-held; err != nil {
		t.Fatal(err)
	}
	var sizes []int
	for i, id := range txs {
		if i == 0 || id != txs[i-1] {
			sizes = append(sizes, 0)
		}
		sizes[len(sizes)-1]++
	}
	if fmt.Sprint(sizes) != "[4 4 2]" {
		t.Errorf("writes per batch %v, want [4 4 2]", sizes)
	}
}

// A background write waits for a client's write, up to Options.Linger, and then shares its
// commit; alone, it commits once the linger has passed.
func TestBackgroundWritesLinger(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	bg := store.Background(ctx)
	t.Run("shares a client's commit", func(t *testing.T) {
		t.Parallel()
		s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"), Options{Linger: time.Minute})
		defer s.Close()
		done := make(chan error, 1)
		go func() { _, err := s.CreateTask(bg, task("a", "background")); done <- err }()
		waitQueued(t, s, 1)
		select {
		case err := <-done:
			t.Fatalf("a background write committed alone before its linger: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
		if _, err := s.CreateTask(ctx, task("a", "client")); err != nil {
			t.Fatal(err)
		}
		select {
		case err := <-done:
			if err != nil {
				t.Fatal(err)
			}
		case <-time.After(10 * time.Second):
			t.Fatal("the background write did not commit with the client's")
		}
		if st := s.Stats(); st.Commits != 1 || st.Writes != 2 {
			t.Errorf("stats %+v: want both writes in one commit", st)
		}
	})
	t.Run("alone after the linger", func(t *testing.T) {
		t.Parallel()
		const linger = 100 * time.Millisecond
		s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"), Options{Linger: linger})
		defer s.Close()
		start := time.Now()
		if _, err := s.CreateTask(bg, task("a", "background")); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(start); took < linger {
			t.Errorf("a lone background write committed after %v, before its linger of %v", took, linger)
		}
		if st := s.Stats(); st.Commits != 1 || st.Lingered != 1 {
			t.Errorf("stats %+v: want one lingered commit", st)
		}
		// A client's write does not wait.
		start = time.Now()
		if _, err := s.CreateTask(ctx, task("a", "client")); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Lingered != 1 {
			t.Errorf("a client's write lingered: %+v (took %v)", st, time.Since(start))
		}
	})
	t.Run("none with a negative linger", func(t *testing.T) {
		t.Parallel()
		s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"), Options{Linger: -1})
		defer s.Close()
		if _, err := s.CreateTask(bg, task("a", "background")); err != nil {
			t.Fatal(err)
		}
		if st := s.Stats(); st.Lingered != 0 {
			t.Errorf("stats %+v: want no linger", st)
		}
	})
}

// Close does not wait out a background write's linger: it commits at once.
func TestCloseCutsTheLinger(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := mustOpen(t, path, Options{Linger: time.Hour})
	done := make(chan error, 1)
	go func() { _, err := s.CreateTask(store.Background(context.Background()), task("a", "x")); done <- err }()
	waitQueued(t, s, 1)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatalf("a background write queued at Close: %v", err)
	}
	s = mustOpen(t, path, Options{})
	defer s.Close()
	if _, err := s.GetTask(context.Background(), store.Key{Tenant: "a", Name: "x"}); err != nil {
		t.Fatal(err)
	}
}

// waitFor's rules, on a committer's state set by hand (no loop running).
func TestGroupCommitWaitRules(t *testing.T) {
	t.Parallel()
	const gather, linger = 500 * time.Millisecond, time.Second
	now := time.Now()
	fg := func(at time.Time) *request { return &request{queued: at} }
	bg := func(at time.Time) *request { return &request{queued: at, background: true} }
	cases := []struct {
		name    string
		lastFG  int
		lastEnd time.Time
		queue   []*request
		wait    bool // a wait, bounded by the gather delay or the linger
	}{
		{"a lone client's write, after its previous commit", 1, now.Add(-time.Millisecond), []*request{fg(now)}, false},
		{"two clients turn about: one came during the last commit", 1, now, []*request{fg(now.Add(-time.Millisecond))}, true},
		{"two answered together, one back so far", 2, now.Add(-time.Millisecond), []*request{fg(now)}, true},
		{"two answered together, both back", 2, now.Add(-time.Millisecond), []*request{fg(now), fg(now)}, false},
		{"more back than the last commit took", 2, now.Add(-time.Millisecond), []*request{fg(now), fg(now), fg(now)}, false},
		{"the gather delay has passed", 4, now.Add(-2 * gather), []*request{fg(now.Add(-2 * gather))}, false},
		{"background writes only, young", 0, now, []*request{bg(now)}, true},
		{"background writes only, past the linger", 0, now, []*request{bg(now.Add(-2 * linger))}, false},
		{"a client write among background ones: it decides", 1, now.Add(-time.Millisecond), []*request{bg(now), fg(now)}, false},
		{"the first call of a store", 0, time.Time{}, []*request{fg(now)}, false},
	}
	for _, tc := range cases {
		c := &committer{max: 256, linger: linger, gather: gather, lastFG: tc.lastFG, lastEnd: tc.lastEnd, queue: tc.queue}
		for _, r := range tc.queue {
			if !r.background {
				c.foreground++
			}
		}
		w := c.waitFor()
		if (w > 0) != tc.wait || w > linger {
			t.Errorf("%s: wait %v, want a wait: %v", tc.name, w, tc.wait)
		}
	}
	c := &committer{max: 256, gather: -1, lastFG: 8, lastEnd: now, queue: []*request{fg(now)}, foreground: 1}
	if w := c.waitFor(); w != 0 {
		t.Errorf("GatherDelay < 0: wait %v, want none", w)
	}
}
