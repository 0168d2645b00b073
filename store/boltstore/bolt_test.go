package boltstore

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/solti-wasm/solti-wasm/store"
)

func task(tenant, name string) *store.Task {
	return &store.Task{
		Key:    store.Key{Tenant: tenant, Name: name},
		Spec:   []byte(`{"slot":"s","timeout":1000}`),
		Status: store.TaskStatus{Phase: store.PhasePending},
	}
}

func mustOpen(t *testing.T, path string, opt Options) *Store {
	t.Helper()
	s, err := Open(path, opt)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestReopenKeepsEverything(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := mustOpen(t, path, Options{RunSeqBlock: 10})
	var revs []store.Revision
	for i := range 5 {
		got, err := s.CreateTask(ctx, task("a", fmt.Sprint("t", i)))
		if err != nil {
			t.Fatal(err)
		}
		revs = append(revs, got.ResourceVersion)
	}
	t0, _ := s.GetTask(ctx, store.Key{Tenant: "a", Name: "t0"})
	if err := s.PutRun(ctx, &store.Run{Tenant: "a", Task: "t0", TaskUID: t0.UID, Seq: 1, Phase: store.PhaseRunning}); err != nil {
		t.Fatal(err)
	}
	var lastSeq uint64
	for range 3 {
		lastSeq, _ = s.NextRunSeq(ctx)
	}
	// An explicit compaction swaps the file under the open store and keeps everything.
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	last := s.Revision()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}

	s = mustOpen(t, path, Options{RunSeqBlock: 10})
	defer s.Close()
	if s.Revision() != last {
		t.Fatalf("reopened at revision %d, closed at %d", s.Revision(), last)
	}
	page, err := s.ListTasks(ctx, "a", store.ListOptions{})
	if err != nil || len(page.Tasks) != 5 {
		t.Fatalf("reopened: %v, %d tasks", err, len(page.Tasks))
	}
	runs, err := s.ListRuns(ctx, t0.Key)
	if err != nil || len(runs) != 1 {
		t.Fatalf("reopened: runs %v, %v", runs, err)
	}
	if seq, _ := s.NextRunSeq(ctx); seq <= lastSeq {
		t.Fatalf("run seq %d after a restart, %d before it", seq, lastSeq)
	}
	next, err := s.CreateTask(ctx, task("a", "after"))
	if err != nil {
		t.Fatal(err)
	}
	if next.ResourceVersion != last+1 {
		t.Fatalf("first write after a restart at revision %d, want %d", next.ResourceVersion, last+1)
	}
	// The feed survived: a watch from before the restart replays from disk.
	ch, err := s.Watch(ctx, "a", revs[2])
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []store.Revision{revs[3], revs[4], next.ResourceVersion} {
		select {
		case ev := <-ch:
			if ev.Revision != want {
				t.Fatalf("replayed revision %d, want %d", ev.Revision, want)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("no replayed event")
		}
	}
}

func TestFeedBoundsOnDisk(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	now := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := mustOpen(t, path, Options{FeedEvents: 10, FeedAge: time.Minute, MemEvents: 2, Now: clock})
	for i := range 15 {
		if _, err := s.CreateTask(ctx, task("a", fmt.Sprint("t", i))); err != nil {
			t.Fatal(err)
		}
	}
	// Count bound: revisions 6..15 are held.
	if _, err := s.Watch(ctx, "a", 4); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("watch from 4 of 15 with 10 kept: %v, want ErrExpired", err)
	}
	wctx, cancel := context.WithCancel(ctx)
	if _, err := s.Watch(wctx, "a", 5); err != nil {
		t.Fatalf("watch from 5: %v", err)
	}
	cancel()
	// Age bound: two minutes later one write drops every older event.
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	if _, err := s.CreateTask(ctx, task("a", "late")); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Watch(ctx, "a", 10); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("watch from 10 after its events aged out: %v, want ErrExpired", err)
	}
	_, err := s.ListTasks(ctx, "a", store.ListOptions{AtRevision: 10, After: "t1"})
	if !errors.Is(err, store.ErrExpired) {
		t.Fatalf("list continuation at 10 after its events aged out: %v, want ErrExpired", err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	// The bound holds across a restart.
	s = mustOpen(t, path, Options{FeedEvents: 10, FeedAge: time.Minute, Now: clock})
	defer s.Close()
	if _, err := s.Watch(ctx, "a", 10); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("reopened: watch from 10: %v, want ErrExpired", err)
	}
	ch, err := s.Watch(ctx, "a", 15)
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev.Revision != 16 || ev.Task.Name != "late" {
		t.Fatalf("reopened: replayed %d %s, want 16 late", ev.Revision, ev.Task.Name)
	}
}

// TestConcurrentWritesPublishInOrder: batches commit in parallel with bbolt running their
// commit handlers concurrently; a watcher must still see every revision once, in order.
func TestConcurrentWritesPublishInOrder(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openT(t, Options{MemEvents: 64})
	defer s.Close()
	ch, err := s.Watch(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 8, 60
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				tk, err := s.CreateTask(ctx, task("a", fmt.Sprintf("w%d-%d", w, i)))
				if err != nil {
					t.Error(err)
					return
				}
				if s.Revision() < tk.ResourceVersion {
					t.Errorf("create returned at revision %d before publishing it (Revision %d)", tk.ResourceVersion, s.Revision())
				}
			}
		})
	}
	for want := store.Revision(1); want <= writers*each; want++ {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("watch closed at revision %d", want)
			}
			if ev.Revision != want {
				t.Fatalf("got revision %d, want %d", ev.Revision, want)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("no event %d", want)
		}
	}
	wg.Wait()
}

func TestLocked(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := mustOpen(t, path, Options{})
	defer s.Close()
	start := time.Now()
	_, err := Open(path, Options{LockTimeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) {
		t.Fatalf("second open: %v, want ErrLocked", err)
	}
	if !strings.Contains(err.Error(), path) {
		t.Fatalf("error %q does not name the file", err)
	}
	// bbolt retries the lock every 50ms and gives up one retry before the timeout.
	if d := time.Since(start); d < 40*time.Millisecond || d > 5*time.Second {
		t.Fatalf("second open gave up after %v, want about the 100ms timeout", d)
	}
}

// v3 is a test-only schema: this build's steps, then version 3 adds a label to every task.
var v3 = schema{version: 3, steps: map[uint64]func(*bolt.Tx) error{
	1: migrateV1toV2,
	2: func(tx *bolt.Tx) error {
		return rewrite(tx.Bucket(bucketTasks), func(k, v []byte) ([]byte, error) {
			t, err := decodeTask(v)
			if err != nil {
				return nil, err
			}
			if t.Labels == nil {
				t.Labels = map[string]string{}
			}
			t.Labels["migrated"] = "v3"
			return encodeTask(t), nil
		})
	},
}}

func TestSchemaMigrates(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := mustOpen(t, path, Options{})
	if _, err := s.CreateTask(ctx, task("a", "x")); err != nil {
		t.Fatal(err)
	}
	s.Close()

	s2, err := open(path, Options{}, v3)
	if err != nil {
		t.Fatalf("migrating to v3: %v", err)
	}
	got, err := s2.GetTask(ctx, store.Key{Tenant: "a", Name: "x"})
	if err != nil || got.Labels["migrated"] != "v3" {
		t.Fatalf("after the v2->v3 step: %+v, %v", got, err)
	}
	s2.Close()
	if v := fileSchema(t, path); v != 3 {
		t.Fatalf("file at schema %d after migrating, want 3", v)
	}

	// This build (v2) refuses the v3 file, naming it and both versions.
	_, err = Open(path, Options{})
	var se *SchemaError
	if !errors.As(err, &se) || !errors.Is(err, ErrSchema) || se.Found != 3 || se.Want != 2 {
		t.Fatalf("opening a v3 file: %v, want a SchemaError 3 > 2", err)
	}
	for _, want := range []string{path, "version 3", "this build's 2"} {
		if !strings.Contains(err.Error(), want) {
			t.Fatalf("error %q does not say %q", err, want)
		}
	}
}

func TestSchemaMigrationFailureKeepsFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := mustOpen(t, path, Options{})
	s.Close()
	broken := schema{version: 3, steps: map[uint64]func(*bolt.Tx) error{
		1: migrateV1toV2,
		2: func(tx *bolt.Tx) error {
			_ = tx.Bucket(bucketMeta).Put([]byte("half"), []byte("done"))
			return errors.New("step failed")
		},
	}}
	_, err := open(path, Options{}, broken)
	if err == nil || !strings.Contains(err.Error(), "migrating schema version 2 to 3") {
		t.Fatalf("failing step: %v", err)
	}
	if v := fileSchema(t, path); v != 2 {
		t.Fatalf("a failed migration left schema %d, want 2", v)
	}
	missing := schema{version: 4, steps: v3.steps}
	if _, err := open(path, Options{}, missing); err == nil || !strings.Contains(err.Error(), "no migration from schema version 3 to 4") {
		t.Fatalf("missing step: %v", err)
	}
	s = mustOpen(t, path, Options{}) // still a good v2 file
	s.Close()
}

func TestSchemaForeignFile(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "other.db")
	db, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	_ = db.Update(func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("someone-else")); return err })
	db.Close()
	_, err = Open(path, Options{})
	var se *SchemaError
	if !errors.As(err, &se) || se.Found != 0 {
		t.Fatalf("a bbolt file of another program: %v, want a SchemaError", err)
	}
}

// fileSchema reads the schema version of the file at path.
func fileSchema(t *testing.T, path string) uint64 {
	t.Helper()
	db, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var v uint64
	_ = db.View(func(tx *bolt.Tx) error { v = u64(tx.Bucket(bucketMeta).Get(keySchema)); return nil })
	return v
}

func fileSize(t *testing.T, path string) int64 {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Size()
}

// fill creates n tasks of about 4 KiB each (concurrently, to batch) and checkpoints them
// into the file (within one checkpoint interval, a sweep's deletes would otherwise meet the
// creates in the live transaction, and the file would never grow).
func fill(t *testing.T, s *Store, n int) {
	t.Helper()
	pad := strings.Repeat("x", 4000)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < n; i += 8 {
				tk := task("a", fmt.Sprintf("t%05d", i))
				tk.Annotations = map[string]string{"pad": pad}
				tk.Status = store.TaskStatus{Phase: store.PhaseSucceeded, FinishedAt: time.Unix(0, 0)}
				if _, err := s.CreateTask(context.Background(), tk); err != nil {
					t.Error(err)
					return
				}
			}
		})
	}
	wg.Wait()
	if err := s.group.exclusive(func() error { return nil }); err != nil { // (a job runs checkpointed)
		t.Fatal(err)
	}
}

func TestCompactAtOpen(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tasks.db")
	opt := Options{FeedEvents: 10, NoSync: true, CompactFreeBytes: -1}
	s := mustOpen(t, path, opt)
	fill(t, s, 1000)
	n, err := s.Sweep(context.Background(), time.Now(), store.Retention{Tasks: time.Hour})
	if err != nil || n != 1000 {
		t.Fatalf("Sweep: %d, %v", n, err)
	}
	s.Close()
	before := fileSize(t, path)
	if before < 4<<20 {
		t.Fatalf("file of 1000 4-KiB tasks is %d bytes: the test writes too little", before)
	}
	// Under the threshold: left alone.
	s = mustOpen(t, path, Options{CompactFreeBytes: before * 2})
	s.Close()
	if got := fileSize(t, path); got != before {
		t.Fatalf("file under the threshold changed from %d to %d bytes", before, got)
	}
	s = mustOpen(t, path, Options{CompactFreeBytes: 1 << 20})
	defer s.Close()
	after := fileSize(t, path)
	if after*4 > before {
		t.Fatalf("compaction at open: %d -> %d bytes, want at least 4x smaller", before, after)
	}
	if _, err := os.Stat(path + ".compact"); !os.IsNotExist(err) {
		t.Fatalf("compaction left its temporary file: %v", err)
	}
	// The store works on, at its revision.
	tk, err := s.CreateTask(context.Background(), task("a", "new"))
	if err != nil || tk.ResourceVersion != 2001 {
		t.Fatalf("after compaction: %+v, %v (want revision 2001)", tk, err)
	}
}

func TestCompactAtSweep(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := mustOpen(t, path, Options{FeedEvents: 10, NoSync: true, CompactFreeBytes: 1 << 20})
	defer s.Close()
	fill(t, s, 1000)
	before := fileSize(t, path)
	ch, err := s.Watch(ctx, "a", s.Revision())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.Sweep(ctx, time.Now(), store.Retention{Tasks: time.Hour}); err != nil {
		t.Fatal(err)
	}
	after := fileSize(t, path)
	if after*4 > before {
		t.Fatalf("compaction at Sweep: %d -> %d bytes, want at least 4x smaller", before, after)
	}
	// Watches and writes go on across the swap of files.
	for range 1000 {
		if ev := <-ch; ev.Type != store.EventDeleted {
			t.Fatalf("event %s during Sweep", ev.Type)
		}
	}
	tk, err := s.CreateTask(ctx, task("a", "new"))
	if err != nil {
		t.Fatal(err)
	}
	if ev := <-ch; ev.Revision != tk.ResourceVersion {
		t.Fatalf("after compaction: event %d, want %d", ev.Revision, tk.ResourceVersion)
	}
}

// Keys are length-prefixed: tenant "a" with task "bc" and tenant "ab" with task "c" (or
// runs of uids "u" and "u1") never share or mix records.
func TestKeysDoNotCollide(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openT(t, Options{})
	defer s.Close()
	a := task("a", "bc")
	a.UID = "u"
	ab := task("ab", "c")
	ab.UID = "u1"
	for _, tk := range []*store.Task{a, ab} {
		if _, err := s.CreateTask(ctx, tk); err != nil {
			t.Fatal(err)
		}
	}
	for _, r := range []*store.Run{{Tenant: "a", Task: "bc", TaskUID: "u", Seq: 1}, {Tenant: "ab", Task: "c", TaskUID: "u1", Seq: 1}} {
		if err := s.PutRun(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		tenant string
		want   string
	}{{"a", "bc"}, {"ab", "c"}} {
		page, err := s.ListTasks(ctx, c.tenant, store.ListOptions{})
		if err != nil || len(page.Tasks) != 1 || page.Tasks[0].Name != c.want {
			t.Fatalf("tenant %s lists %v (%v), want only %s", c.tenant, page, err, c.want)
		}
		runs, err := s.ListRuns(ctx, store.Key{Tenant: c.tenant, Name: c.want})
		if err != nil || len(runs) != 1 || runs[0].Tenant != c.tenant {
			t.Fatalf("runs of %s/%s: %+v (%v)", c.tenant, c.want, runs, err)
		}
	}
	if _, err := s.DeleteTask(ctx, a.Key, "", 0); err != nil {
		t.Fatal(err)
	}
	if runs, err := s.ListRuns(ctx, ab.Key); err != nil || len(runs) != 1 {
		t.Fatalf("deleting a/bc took ab/c's runs: %+v (%v)", runs, err)
	}
}

// Sweep removes what is due in writes of at most sweepBatch records, so that the others'
// writes run between them: 600 due tasks take at least 3 writes, and every one of them goes,
// with its Deleted event.
func TestSweepInBoundedWrites(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := openT(t, Options{NoSync: true})
	defer s.Close()
	const due = 600
	fill(t, s, due)
	ch, err := s.Watch(ctx, "a", s.Revision())
	if err != nil {
		t.Fatal(err)
	}
	before := s.Stats().Commits
	n, err := s.Sweep(ctx, time.Now(), store.Retention{Tasks: time.Hour})
	if err != nil || n != due {
		t.Fatalf("Sweep: %d, %v; want %d", n, err, due)
	}
	if writes := s.Stats().Commits - before; writes < due/sweepBatch+1 {
		t.Fatalf("the sweep took %d writes, want at least %d of %d records", writes, due/sweepBatch+1, sweepBatch)
	}
	for range due {
		if ev := <-ch; ev.Type != store.EventDeleted {
			t.Fatalf("event %s during Sweep", ev.Type)
		}
	}
	if p, err := s.ListTasks(ctx, "a", store.ListOptions{}); err != nil || len(p.Tasks) != 0 {
		t.Fatalf("after Sweep: %d tasks (%v)", len(p.Tasks), err)
	}
}
