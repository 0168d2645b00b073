package boltstore

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/solti-wasm/solti-wasm/store"
)

// noCheckpoint keeps every write in the log only, for the length of a test.
var noCheckpoint = Options{CheckpointInterval: time.Hour}

// crashImage copies what a crash of s would leave on disk now, the store file and its log,
// into a new directory and returns the copy's store path. It copies in the committer's
// loop, between batches: the file is as its last checkpoint left it, the log as synced.
func crashImage(t *testing.T, s *Store) string {
	t.Helper()
	dst := filepath.Join(t.TempDir(), "tasks.db")
	err := s.view(func(*bolt.Tx) error {
		for from, to := range map[string]string{s.path: dst, logPath(s.path): logPath(dst)} {
			if err := copyFile(from, to); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return dst
}

func copyFile(from, to string) error {
	in, err := os.Open(from)
	if err != nil {
		return err
	}
	defer in.Close()
	out, err := os.Create(to)
	if err != nil {
		return err
	}
	if _, err := io.Copy(out, in); err != nil {
		_ = out.Close()
		return err
	}
	return out.Close()
}

// create makes n tasks named prefix-i, each acknowledged.
func create(t *testing.T, s *Store, prefix string, n int) {
	t.Helper()
	for i := range n {
		if _, err := s.CreateTask(context.Background(), task("a", fmt.Sprintf("%s-%d", prefix, i))); err != nil {
			t.Fatal(err)
		}
	}
}

// names lists tenant a's task names.
func names(t *testing.T, s *Store) string {
	t.Helper()
	p, err := s.ListTasks(context.Background(), "a", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, k := range p.Tasks {
		out = append(out, k.Name)
	}
	return strings.Join(out, " ")
}

// wantRecovered opens the store at path (applying its log), checks tenant a's tasks, and
// returns the reopened store's Stats.
func wantRecovered(t *testing.T, path, want string) Stats {
	t.Helper()
	r := mustOpen(t, path, Options{})
	defer r.Close()
	if got := names(t, r); got != want {
		t.Fatalf("recovered %q, want %q", got, want)
	}
	return r.Stats()
}

// Writes held only by the log are applied at open: every acknowledged one, at its revision,
// and the run-id reservation with them.
func TestLogRecoversWhatOnlyItHolds(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"), noCheckpoint)
	defer s.Close()
	create(t, s, "t", 5)
	if _, err := s.DeleteTask(context.Background(), store.Key{Tenant: "a", Name: "t-1"}, "", 0); err != nil {
		t.Fatal(err)
	}
	seq, err := s.NextRunSeq(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Checkpoints != 0 {
		t.Fatalf("%d checkpoints with a 1h interval", st.Checkpoints)
	}
	img := crashImage(t, s)
	r := mustOpen(t, img, Options{})
	defer r.Close()
	if got := names(t, r); got != "t-0 t-2 t-3 t-4" {
		t.Fatalf("recovered tasks %q", got)
	}
	if st := r.Stats(); st.Recovered != 7 { // 5 creates, a delete, a reservation
		t.Fatalf("recovered %d records, want 7", st.Recovered)
	}
	if r.Revision() != s.Revision() {
		t.Fatalf("recovered at revision %d, acknowledged %d", r.Revision(), s.Revision())
	}
	if n, err := r.NextRunSeq(context.Background()); err != nil || n <= seq {
		t.Fatalf("run seq %d after recovery, %d was handed out (%v)", n, seq, err)
	}
}

// A record cut short (the write a crash interrupted: never acknowledged) fails its checksum
// and ends the log; every record before it is applied.
func TestLogTornTail(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"), noCheckpoint)
	defer s.Close()
	create(t, s, "t", 3)
	var end int64
	_ = s.view(func(*bolt.Tx) error { end = s.group.log.off; return nil })
	img := crashImage(t, s)
	for _, cut := range []int64{1, 5, logRecordHead + 1} {
		t.Run(fmt.Sprint("cut ", cut), func(t *testing.T) {
			dst := filepath.Join(t.TempDir(), "tasks.db")
			if err := copyFile(img, dst); err != nil {
				t.Fatal(err)
			}
			b, err := os.ReadFile(logPath(img))
			if err != nil {
				t.Fatal(err)
			}
			// The last record loses its tail; a flipped byte stands for the garbage a torn
			// sector holds.
			b = b[:end-cut]
			b[len(b)-1] ^= 0xff
			if err := os.WriteFile(logPath(dst), b, 0o600); err != nil {
				t.Fatal(err)
			}
			wantRecovered(t, dst, "t-0 t-1")
		})
	}
}

// After a checkpoint the records start again after the header, over the older ones: what is
// left of those (smaller LSNs, or torn) is never applied again.
func TestLogStartsAgainAfterACheckpoint(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"), noCheckpoint)
	defer s.Close()
	create(t, s, "old", 6)
	if err := s.Compact(); err != nil { // checkpoints first
		t.Fatal(err)
	}
	if st := s.Stats(); st.Checkpoints != 1 {
		t.Fatalf("%d checkpoints, want the compaction's 1", st.Checkpoints)
	}
	// One new write over the first old record; old-0 deleted by the file only, if the old
	// records were applied again it would come back.
	if _, err := s.DeleteTask(context.Background(), store.Key{Tenant: "a", Name: "old-0"}, "", 0); err != nil {
		t.Fatal(err)
	}
	if st := wantRecovered(t, crashImage(t, s), "old-1 old-2 old-3 old-4 old-5"); st.Recovered != 1 {
		t.Fatalf("recovered %d records, want the one after the checkpoint", st.Recovered)
	}
}

// A quiet store checkpoints once its oldest write in the log has waited CheckpointInterval:
// the file alone then holds it, and Close leaves no log behind.
func TestLogCheckpointsWhenQuiet(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := mustOpen(t, path, Options{CheckpointInterval: 20 * time.Millisecond})
	create(t, s, "t", 2)
	for deadline := time.Now().Add(10 * time.Second); s.Stats().Checkpoints == 0; time.Sleep(5 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("no checkpoint 10s after the last write")
		}
	}
	img := crashImage(t, s)
	if err := os.Remove(logPath(img)); err != nil {
		t.Fatal(err)
	}
	r := mustOpen(t, img, Options{})
	if got := names(t, r); got != "t-0 t-1" {
		t.Fatalf("the file holds %q after the checkpoint", got)
	}
	_ = r.Close()
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(logPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the log is still there after Close: %v", err)
	}
}

// When a batch's record does not fit in what is left of the log, a checkpoint makes it
// durable instead, and the log starts again; a record larger than the whole log is made
// durable the same way.
func TestLogFullCheckpoints(t *testing.T) {
	t.Parallel()
	opt := noCheckpoint
	opt.LogBytes = 4 << 10
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"), opt)
	defer s.Close()
	create(t, s, "t", 20)
	filled := s.Stats()
	if filled.Checkpoints < 1 || filled.Checkpoints < filled.LogBytes/(4<<10)-1 {
		t.Fatalf("%d checkpoints for %d bytes of records through a 4 KiB log", filled.Checkpoints, filled.LogBytes)
	}
	big := task("a", "big")
	big.Spec = []byte(`{"slot":"s","x":"` + strings.Repeat("y", 8<<10) + `"}`)
	if _, err := s.CreateTask(context.Background(), big); err != nil {
		t.Fatal(err)
	}
	if st := s.Stats(); st.Checkpoints != filled.Checkpoints+1 || st.LogBytes != filled.LogBytes {
		t.Fatalf("a record larger than the log: %d checkpoints and %d bytes logged, want %d and %d",
			st.Checkpoints, st.LogBytes, filled.Checkpoints+1, filled.LogBytes)
	}
	r := mustOpen(t, crashImage(t, s), Options{})
	defer r.Close()
	p, err := r.ListTasks(context.Background(), "a", store.ListOptions{})
	if err != nil || len(p.Tasks) != 21 {
		t.Fatalf("recovered %d tasks (%v), want 21", len(p.Tasks), err)
	}
}

// A log is applied only to its own store file: a leftover log beside another file, or
// beside a new one, is refused with an error naming it (applying it would corrupt the file,
// ignoring it would drop acknowledged writes); a file older than its log's records (an old
// copy put back) is refused too.
func TestLogOfAnotherFile(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"), noCheckpoint)
	defer s.Close()
	create(t, s, "t", 2)
	img := crashImage(t, s)

	other := mustOpen(t, filepath.Join(t.TempDir(), "other.db"), Options{})
	otherPath := other.Path()
	if err := other.Close(); err != nil {
		t.Fatal(err)
	}
	fresh := filepath.Join(t.TempDir(), "fresh.db")
	old := filepath.Join(t.TempDir(), "old.db")
	for _, c := range []struct{ name, db, want string }{
		{"another file", otherPath, "holds writes of another store file"},
		{"a new file", fresh, "holds writes of another store file"},
	} {
		if err := copyFile(logPath(img), logPath(c.db)); err != nil {
			t.Fatal(err)
		}
		_, err := Open(c.db, Options{})
		if err == nil || !strings.Contains(err.Error(), c.want) || !strings.Contains(err.Error(), logPath(c.db)) {
			t.Errorf("%s: open = %v, want %q naming the log", c.name, err, c.want)
		}
	}

	// An old copy of the file: checkpointed at 2 tasks, its log then moved on by 2 more
	// writes past a checkpoint.
	if err := copyFile(img, old); err != nil {
		t.Fatal(err)
	}
	create(t, s, "u", 1)
	if err := s.Compact(); err != nil {
		t.Fatal(err)
	}
	create(t, s, "v", 1)
	if err := copyFile(logPath(crashImage(t, s)), logPath(old)); err != nil {
		t.Fatal(err)
	}
	if _, err := Open(old, Options{}); err == nil || !strings.Contains(err.Error(), "replaced by an older copy") {
		t.Errorf("old copy: open = %v, want the older-copy refusal", err)
	}
}

// A log that is not one (bad header), or of a later format, is refused by name.
func TestLogForeignHeader(t *testing.T) {
	t.Parallel()
	for name, content := range map[string][]byte{
		"not a log": []byte("hello, this is not a boltstore log at all; padding padding padding"),
		"format 99": func() []byte {
			h := logHeader(make([]byte, logIDLen))
			h[len(logMagic)+3] = 99
			return h
		}(),
	} {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "tasks.db")
			if err := os.WriteFile(logPath(path), content, 0o600); err != nil {
				t.Fatal(err)
			}
			_, err := Open(path, Options{})
			if err == nil || !strings.Contains(err.Error(), logPath(path)) {
				t.Fatalf("open = %v, want an error naming the log", err)
			}
		})
	}
}

// When the log cannot be written, the store stops: the write is not acknowledged, every
// later call gets the failure (with errStopped), and a reopen recovers what was
// acknowledged before it.
func TestLogFailureStopsTheStore(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := mustOpen(t, path, noCheckpoint)
	create(t, s, "t", 2)
	img := crashImage(t, s)
	_ = s.view(func(*bolt.Tx) error { return s.group.log.f.Close() }) // the disk goes away
	ctx := context.Background()
	if _, err := s.CreateTask(ctx, task("a", "lost")); !errors.Is(err, errStopped) {
		t.Fatalf("create with a failed log = %v, want errStopped", err)
	}
	if _, err := s.GetTask(ctx, store.Key{Tenant: "a", Name: "t-0"}); !errors.Is(err, errStopped) {
		t.Fatalf("read after the failure = %v, want errStopped", err)
	}
	if err := s.Close(); !errors.Is(err, errStopped) {
		t.Fatalf("close after the failure = %v, want errStopped", err)
	}
	wantRecovered(t, img, "t-0 t-1")
}

// A write that fails inside the live transaction (after other acknowledged writes, before
// any checkpoint) leaves them all in place: the transaction is rebuilt from the log.
func TestFailedWriteKeepsTheLiveTransaction(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"), noCheckpoint)
	defer s.Close()
	create(t, s, "t", 3)
	boom := errors.New("boom")
	err := s.write(context.Background(), func(w *txn) error {
		if err := w.put(tasks, taskKey(store.Key{Tenant: "a", Name: "half"}), []byte("not a record")); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("write = %v, want boom", err)
	}
	if got := names(t, s); got != "t-0 t-1 t-2" {
		t.Fatalf("after the failed write: %q", got)
	}
	create(t, s, "u", 1)
	wantRecovered(t, crashImage(t, s), "t-0 t-1 t-2 u-0")
}

// record is a log record of payload at lsn, as wal.append writes it.
func record(lsn uint64, payload []byte) []byte {
	b := make([]byte, logRecordHead, logRecordHead+len(payload))
	b = append(b, payload...)
	binary.BigEndian.PutUint32(b, uint32(len(payload)))
	binary.BigEndian.PutUint64(b[8:], lsn)
	binary.BigEndian.PutUint32(b[4:], crc32.Checksum(b[8:], crc32c))
	return b
}

// FuzzLog: whatever bytes follow a log's header, reading the log never panics, a record it
// accepts is a fixed point (writing its LSN and payload again gives the same bytes), and
// replaying a payload (an accepted one, or the bytes themselves, past the checksum that
// guards them) either applies it or fails with an error.
func FuzzLog(f *testing.F) {
	put := appendEntry(nil, logPut, bucketTasks, []byte("k"), []byte("v"))
	del := appendEntry(nil, logDelete, bucketEvents, be64(7), nil)
	f.Add(append(record(1, put), record(2, del)...))
	f.Add(append(record(1, append(put, del...)), record(1, put)...))
	f.Add(record(1, appendEntry(nil, logPut, []byte("nope"), nil, nil)))
	dir := f.TempDir()
	db, err := bolt.Open(filepath.Join(dir, "f.db"), 0o600, &bolt.Options{NoSync: true})
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { _ = db.Close() })
	if err := db.Update(createV1); err != nil {
		f.Fatal(err)
	}
	id := make([]byte, logIDLen)
	path := filepath.Join(dir, "f.db-log")
	f.Fuzz(func(t *testing.T, records []byte) {
		if err := os.WriteFile(path, append(logHeader(id), records...), 0o600); err != nil {
			t.Fatal(err)
		}
		tx, err := db.Begin(true)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		_ = replay(tx, records)
		payloads, last, err := readLog(path, id, 0)
		if err != nil {
			return // refused by name (a gap): fine
		}
		if last != uint64(len(payloads)) {
			t.Fatalf("%d payloads end at LSN %d", len(payloads), last)
		}
		for off, lsn := 0, uint64(1); lsn <= last; lsn++ {
			p, got, n := nextRecord(records[off:])
			if got != lsn || !bytes.Equal(record(lsn, p), records[off:off+n]) {
				t.Fatalf("record %d at %d does not write back as it reads", lsn, off)
			}
			off += n
		}
		for _, p := range payloads {
			if err := replay(tx, p); err != nil {
				return
			}
		}
	})
}

// A long read (a listing) runs in a snapshot beside the committer: it holds every write
// acknowledged before it, and writes and point reads go on while it is held.
func TestSnapshotHoldsNoWriteUp(t *testing.T) {
	t.Parallel()
	s := mustOpen(t, filepath.Join(t.TempDir(), "tasks.db"), noCheckpoint)
	defer s.Close()
	create(t, s, "t", 3)
	held, release := make(chan int), make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- s.snapshot(func(tx *bolt.Tx) error {
			held <- tx.Bucket(bucketTasks).Stats().KeyN
			<-release
			return nil
		})
	}()
	if n := <-held; n != 3 {
		t.Fatalf("the snapshot holds %d tasks, want the 3 acknowledged before it", n)
	}
	wrote := make(chan error, 1)
	go func() {
		_, err := s.CreateTask(context.Background(), task("a", "u"))
		if err == nil {
			_, err = s.GetTask(context.Background(), store.Key{Tenant: "a", Name: "u"})
		}
		wrote <- err
	}()
	select {
	case err := <-wrote:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write waited for a snapshot read")
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if got := names(t, s); got != "t-0 t-1 t-2 u" {
		t.Fatalf("after the snapshot: %q", got)
	}
}

// The log is recreated at open by a rename over the old one: a half-written new log that a
// crash left behind is no obstacle, and is gone once the store is open.
func TestLogRecreatedByRename(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "tasks.db")
	s := mustOpen(t, path, noCheckpoint)
	create(t, s, "t", 2)
	img := crashImage(t, s)
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(logPath(img)+".new", []byte("solti-boltstore-l"), 0o600); err != nil {
		t.Fatal(err)
	}
	wantRecovered(t, img, "t-0 t-1")
	if _, err := os.Stat(logPath(img) + ".new"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the half-written log is still there: %v", err)
	}
}
