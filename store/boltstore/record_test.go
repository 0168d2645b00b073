package boltstore

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// fullTask has every field of store.Task set, none to its zero value.
func fullTask() *store.Task {
	code := -3
	return &store.Task{
		Key: store.Key{Tenant: "tenant", Name: "name"}, UID: "0190f3a1-0000-7000-8000-000000000001",
		ResourceVersion: 1 << 40, Generation: 300,
		CreatedAt:   time.Date(2026, 12, 1, 10, 11, 12, 131415, time.FixedZone("", 3600)),
		Labels:      map[string]string{"b": "2", "a": "1", "": "empty key"},
		Annotations: map[string]string{"note": "é \"quoted\"\x00"},
		Spec:        []byte(`{"slot":"s",  "timeout":1000}`),
		Status: store.TaskStatus{ObservedGeneration: 299, Phase: store.PhaseFailed, Attempt: 7, ExitCode: &code,
			Error: "boom", Reason: "RunnerBuildFailed", UpdatedAt: time.Date(2026, 12, 2, 1, 2, 3, 4, time.UTC),
			FinishedAt: time.Date(2026, 12, 2, 1, 2, 4, 5, time.FixedZone("", -5*3600-30*60))},
		Plan: &store.PlanRecord{Generation: 300, RunID: "r-s-7", Runner: "r", Module: "sha256:ab",
			Plan: []byte(`{"guest": {"entry":"run"}}`), Env: []byte(`{"A":"1"}`)},
		DeletionRequested: true,
	}
}

// TestRecordFields fails when store.Task gains or loses a field: the record codec
// (record.go) encodes each by name, so a new one needs its own encoding, a schema version
// and a migration.
func TestRecordFields(t *testing.T) {
	want := map[reflect.Type][]string{
		reflect.TypeFor[store.Task](): {"Key", "UID", "ResourceVersion", "Generation", "CreatedAt", "Labels", "Annotations",
			"Spec", "Status", "Plan", "DeletionRequested"},
		reflect.TypeFor[store.Key]():        {"Tenant", "Name"},
		reflect.TypeFor[store.TaskStatus](): {"ObservedGeneration", "Phase", "Attempt", "ExitCode", "Error", "Reason", "UpdatedAt", "FinishedAt"},
		reflect.TypeFor[store.PlanRecord](): {"Generation", "RunID", "Runner", "Module", "Plan", "Env"},
		reflect.TypeFor[store.Run](): {"Tenant", "Task", "TaskUID", "Seq", "Generation", "Attempt", "RunID",
			"WorkloadAPIVersion", "WorkloadKind", "Phase", "StartedAt", "FinishedAt", "ExitCode", "Error", "OutputTail", "FuelUsed"},
	}
	for typ, names := range want {
		var got []string
		for f := range typ.Fields() {
			got = append(got, f.Name)
		}
		if !slices.Equal(got, names) {
			t.Errorf("%v has fields %v; the record codec knows %v: encode the new ones (record.go), bump SchemaVersion and migrate", typ, got, names)
		}
	}
	// And no field of fullTask is left at its zero value, so that the round trip below
	// covers each.
	var zero func(v reflect.Value, path string)
	zero = func(v reflect.Value, path string) {
		switch {
		case v.Kind() == reflect.Pointer && !v.IsNil():
			zero(v.Elem(), path)
		case v.Kind() == reflect.Struct && v.Type() != reflect.TypeFor[time.Time]():
			for i := range v.NumField() {
				zero(v.Field(i), path+"."+v.Type().Field(i).Name)
			}
		case v.IsZero():
			t.Errorf("full record%s is zero", path)
		}
	}
	zero(reflect.ValueOf(fullTask()), "")
	zero(reflect.ValueOf(fullRun()), "")
}

// fullRun has every field of store.Run set.
func fullRun() *store.Run {
	fin, code := time.Date(2026, 12, 2, 1, 2, 4, 5, time.FixedZone("", 7200)), 2
	return &store.Run{Tenant: "tenant", Task: "name", TaskUID: "uid", Seq: 1 << 33, Generation: 4, Attempt: -1, RunID: "r-s-9",
		WorkloadAPIVersion: "solti.io/v1", WorkloadKind: "Wasm", Phase: store.PhaseSucceeded,
		StartedAt: time.Date(2026, 12, 2, 1, 2, 3, 4, time.UTC), FinishedAt: &fin, ExitCode: &code, Error: "e",
		OutputTail: []byte("out\n"), FuelUsed: 1 << 50}
}

func TestRunRecordRoundTrip(t *testing.T) {
	for _, in := range []*store.Run{fullRun(), {}, {OutputTail: []byte{}}} {
		b := encodeRun(in)
		got, err := decodeRun(b)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, in) {
			t.Errorf("round trip:\n got %#v\nwant %#v", got, in)
		}
		for n := range len(b) {
			if _, err := decodeRun(b[:n]); err == nil {
				t.Fatalf("a run record cut at %d of %d bytes decoded", n, len(b))
			}
		}
		if _, err := decodeRun(append(b, 0)); err == nil {
			t.Fatal("a run record with a trailing byte decoded")
		}
	}
}

func TestRecordRoundTrip(t *testing.T) {
	empty := &store.Task{Key: store.Key{Tenant: "t", Name: "n"}, Spec: []byte{}, Labels: map[string]string{},
		Plan: &store.PlanRecord{Plan: []byte{}}}
	for _, in := range []*store.Task{fullTask(), {}, empty} {
		b := encodeTask(in)
		got, err := decodeTask(b)
		if err != nil {
			t.Fatal(err)
		}
		want := *in // (not Clone: it makes empty byte fields nil, which the record keeps apart)
		if len(want.Labels) == 0 {
			want.Labels = nil // an empty map is stored as none (as schema 1's omitempty did)
		}
		if !reflect.DeepEqual(got, &want) {
			t.Errorf("round trip:\n got %#v %#v\nwant %#v %#v", got, got.Plan, &want, want.Plan)
		}
		for _, tm := range [][2]time.Time{{got.CreatedAt, in.CreatedAt}, {got.Status.FinishedAt, in.Status.FinishedAt}} {
			if _, o1 := tm[0].Zone(); true {
				if _, o2 := tm[1].Zone(); o1 != o2 {
					t.Errorf("time %v came back as %v: zone offset lost", tm[1], tm[0])
				}
			}
		}
		if h, err := readHead(b); err != nil || string(h.uid) != in.UID || h.rev != in.ResourceVersion || !h.createdAt.Equal(in.CreatedAt) {
			t.Errorf("head: %+v, %v", h, err)
		}
		// The same task encodes to the same bytes, whatever its maps' order.
		if again := encodeTask(got); !bytes.Equal(again, encodeTask(in)) {
			t.Errorf("re-encoding changed the record:\n%q\n%q", again, b)
		}
		// Every truncation and a trailing byte are errors, not panics or silent tasks.
		for n := range len(b) {
			if _, err := decodeTask(b[:n]); err == nil {
				t.Fatalf("a record cut at %d of %d bytes decoded", n, len(b))
			}
		}
		if _, err := decodeTask(append(b, 0)); err == nil {
			t.Fatal("a record with a trailing byte decoded")
		}
	}
	if _, err := decodeTask([]byte(`{"tenant":"a"}`)); err == nil {
		t.Fatal("a schema 1 (JSON) record decoded as schema 2")
	}
}

// TestMigrateV1File opens a file that the last schema 1 build wrote (testdata/v1.db.gz,
// written by commit 30537ce: tasks of two tenants, one with every field set, an update with
// a run, a deleted task, a reserved run-id block) and checks that everything reads back
// after the migration to schema 2, events included.
func TestMigrateV1File(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "v1.db")
	f, err := os.Open(filepath.Join("testdata", "v1.db.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	raw, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, raw, 0o600); err != nil {
		t.Fatal(err)
	}
	if v := fileSchema(t, path); v != 1 {
		t.Fatalf("fixture at schema %d, want 1", v)
	}
	s := mustOpen(t, path, Options{FeedAge: -1})
	if v := s.Revision(); v != 5 {
		t.Fatalf("revision %d after migrating, want 5", v)
	}

	want := fullTask()
	want.Key = store.Key{Tenant: "a", Name: "full"}
	want.ResourceVersion, want.Generation, want.Labels = 1, 2, map[string]string{"app": "x", "tier": "1"}
	want.Annotations = map[string]string{"note": "é \"quoted\""}
	want.Status.ObservedGeneration, want.Status.Attempt, *want.Status.ExitCode = 2, 2, 3
	now := time.Date(2026, 12, 3, 8, 0, 0, 0, time.UTC)
	want.Status.UpdatedAt, want.Status.FinishedAt = now.Add(-time.Minute), now.Add(-time.Second)
	want.Plan.Generation = 2
	got, err := s.GetTask(ctx, want.Key)
	if err != nil {
		t.Fatal(err)
	}
	if !got.CreatedAt.Equal(want.CreatedAt) {
		t.Fatalf("createdAt %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	got.CreatedAt = want.CreatedAt // the fixture's JSON kept the offset, not the zone value
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("migrated task:\n got %+v\nwant %+v", got, want)
	}

	plain, err := s.GetTask(ctx, store.Key{Tenant: "b", Name: "plain"})
	if err != nil || plain.ResourceVersion != 3 || plain.Status.Phase != store.PhaseRunning || string(plain.Spec) != `{"slot":"p"}` {
		t.Fatalf("migrated plain task: %+v, %v", plain, err)
	}
	runs, err := s.ListRuns(ctx, plain.Key)
	if err != nil || len(runs) != 1 || runs[0].FuelUsed != 42 || string(runs[0].OutputTail) != "hi\n" {
		t.Fatalf("runs of the plain task: %+v, %v", runs, err)
	}
	if _, err := s.GetTask(ctx, store.Key{Tenant: "b", Name: "gone"}); err == nil {
		t.Fatal("the deleted task came back")
	}

	// The feed's events, read from disk, are the fixture's five writes.
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	ch, err := s.Watch(wctx, "b", 0+1)
	if err != nil {
		t.Fatal(err)
	}
	wantEvents := []struct {
		typ  store.EventType
		rev  store.Revision
		name string
	}{{store.EventAdded, 2, "plain"}, {store.EventModified, 3, "plain"}, {store.EventAdded, 4, "gone"}, {store.EventDeleted, 5, "gone"}}
	for _, w := range wantEvents {
		select {
		case ev := <-ch:
			if ev.Type != w.typ || ev.Revision != w.rev || ev.Task.Name != w.name || ev.Task.ResourceVersion != w.rev {
				t.Fatalf("event %+v (task %+v), want %+v", ev, ev.Task, w)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("no event %+v", w)
		}
	}

	// The run-id sequence goes on after the block the v1 build reserved.
	if n, err := s.NextRunSeq(ctx); err != nil || n <= 3 {
		t.Fatalf("next run seq %d, %v", n, err)
	}
	// And the migrated file takes writes and reopens at schema 2.
	plain.Status.Phase = store.PhaseSucceeded
	if _, err := s.UpdateTask(ctx, plain, 3); err != nil {
		t.Fatal(err)
	}
	s.Close()
	if v := fileSchema(t, path); v != SchemaVersion {
		t.Fatalf("file at schema %d after migrating, want %d", v, SchemaVersion)
	}
	s = mustOpen(t, path, Options{})
	defer s.Close()
	if got, err := s.GetTask(ctx, plain.Key); err != nil || got.ResourceVersion != 6 || got.Status.Phase != store.PhaseSucceeded {
		t.Fatalf("after reopening: %+v, %v", got, err)
	}
}

// FuzzDecodeRecords: any bytes decode to a task or a run, or to an error, never a panic; and
// what decodes survives its own round trip: encoding it, decoding that and encoding again
// gives the same bytes (a fuzzed record may spell a time another way than encodeTask would,
// so the input itself is not compared).
func FuzzDecodeRecords(f *testing.F) {
	f.Add(encodeTask(fullTask()))
	f.Add(encodeTask(&store.Task{}))
	f.Add(encodeRun(fullRun()))
	f.Fuzz(func(t *testing.T, b []byte) {
		if task, err := decodeTask(b); err == nil {
			enc := encodeTask(task)
			again, err := decodeTask(enc)
			if err != nil || !bytes.Equal(encodeTask(again), enc) {
				t.Fatalf("decoded %+v; its encoding %x decodes to %+v, %v", task, enc, again, err)
			}
		}
		if run, err := decodeRun(b); err == nil {
			enc := encodeRun(run)
			again, err := decodeRun(enc)
			if err != nil || !bytes.Equal(encodeRun(again), enc) {
				t.Fatalf("decoded %+v; its encoding %x decodes to %+v, %v", run, enc, again, err)
			}
		}
	})
}
