package storetest

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sync"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// full is a task with every field set, to check that a backend keeps them all.
func full(tenant, name string) *store.Task {
	code := 3
	at := time.Date(2026, 12, 1, 10, 0, 0, 123456789, time.UTC)
	return &store.Task{
		Key:         key(tenant, name),
		UID:         "uid-" + name,
		Generation:  2,
		CreatedAt:   at,
		Labels:      map[string]string{"app": "web", "tier": "1"},
		Annotations: map[string]string{"note": "kept"},
		Spec:        []byte(`{"slot":"s1","timeout":1000}`),
		Status: store.TaskStatus{
			ObservedGeneration: 2, Phase: store.PhaseRunning, Attempt: 1, ExitCode: &code,
			Error: "boom", Reason: "RunnerBuildFailed", UpdatedAt: at.Add(time.Second),
		},
		Plan: &store.PlanRecord{
			Generation: 2, RunID: "echo-s1-7", Runner: "echo", Module: "sha256:00",
			Plan: []byte(`{"kind":"guest"}`), Env: []byte(`{"A":"1"}`),
		},
	}
}

// same reports whether a and b are equal, times by instant (a backend may drop the
// monotonic reading or the location).
func same(a, b *store.Task) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return bytes.Equal(ja, jb)
}

func testCreateGet(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	in := full("a", "x")
	got := mustCreate(t, s, in)
	if got.ResourceVersion == 0 {
		t.Fatal("created task has ResourceVersion 0")
	}
	want := in.Clone()
	want.ResourceVersion = got.ResourceVersion
	if !same(got, want) {
		t.Fatalf("created\n%+v\nwant\n%+v", got, want)
	}
	read, err := s.GetTask(ctx, in.Key)
	if err != nil {
		t.Fatal(err)
	}
	if !same(read, want) {
		t.Fatalf("read back\n%+v\nwant\n%+v", read, want)
	}
	if _, err := s.GetTask(ctx, key("a", "nope")); err == nil {
		t.Fatal("GetTask of a missing task: no error")
	} else {
		wantErr(t, "GetTask missing", err, store.ErrNotFound)
	}
	if s.Revision() != got.ResourceVersion {
		t.Fatalf("Revision() = %d after one write at %d", s.Revision(), got.ResourceVersion)
	}
}

func testCreateDefaults(t *testing.T, s store.Store) {
	before := time.Now().Add(-time.Second)
	a := mustCreate(t, s, task("a", "x", "s"))
	b := mustCreate(t, s, task("a", "y", "s"))
	if a.UID == "" || a.UID == b.UID {
		t.Fatalf("UIDs %q and %q: want distinct, non-empty", a.UID, b.UID)
	}
	if a.Generation != 1 {
		t.Fatalf("Generation %d, want 1", a.Generation)
	}
	if a.CreatedAt.Before(before) || a.CreatedAt.After(time.Now().Add(time.Second)) {
		t.Fatalf("CreatedAt %v, want about now", a.CreatedAt)
	}
}

func testCreateExists(t *testing.T, s store.Store) {
	first := mustCreate(t, s, task("a", "x", "s"))
	_, err := s.CreateTask(ctxT(t), task("a", "x", "other"))
	wantErr(t, "second create", err, store.ErrExists)
	got, err := s.GetTask(ctxT(t), key("a", "x"))
	if err != nil {
		t.Fatal(err)
	}
	if !same(got, first) {
		t.Fatalf("a failed create changed the task: %+v", got)
	}
	// Another tenant's name is its own.
	mustCreate(t, s, task("b", "x", "s"))
}

func testSpecVerbatim(t *testing.T, s store.Store) {
	// Spacing, key order, HTML characters and a big number: what a JSON round trip would
	// change.
	spec := []byte("{ \"timeout\" : 1000,\n  \"slot\":\"s\", \"cmd\":\"a<b>&c\", \"n\": 12345678901234567890 }")
	in := task("a", "x", "s")
	in.Spec = spec
	in.Plan = &store.PlanRecord{Plan: []byte(`{ "z":1, "a" : "<&>" }`)}
	mustCreate(t, s, in)
	got, err := s.GetTask(ctxT(t), in.Key)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Spec, spec) {
		t.Fatalf("spec read back as\n%s\nwant\n%s", got.Spec, spec)
	}
	if !bytes.Equal(got.Plan.Plan, in.Plan.Plan) {
		t.Fatalf("plan read back as %s, want %s", got.Plan.Plan, in.Plan.Plan)
	}
	page, err := s.ListTasks(ctxT(t), "a", store.ListOptions{Slot: "s"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tasks) != 1 || !bytes.Equal(page.Tasks[0].Spec, spec) {
		t.Fatalf("listed %d tasks; spec %s", len(page.Tasks), page.Tasks[0].Spec)
	}
}

func testCopies(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	ch, err := s.Watch(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	in := full("a", "x")
	got := mustCreate(t, s, in)
	// Changing what was passed in or handed out changes nothing stored.
	in.Labels["app"] = "changed"
	in.Spec[2] = 'X'
	got.Labels["app"] = "changed"
	got.Annotations["note"] = "changed"
	got.Spec[2] = 'X'
	*got.Status.ExitCode = 99
	got.Plan.Plan[2] = 'X'
	ev := next(t, ch)
	ev.Task.Labels["app"] = "changed"
	ev.Task.Spec[2] = 'X'
	read, err := s.GetTask(ctx, in.Key)
	if err != nil {
		t.Fatal(err)
	}
	orig := full("a", "x")
	orig.ResourceVersion = read.ResourceVersion
	if !same(read, orig) {
		t.Fatalf("stored task changed through a copy:\n%+v", read)
	}
	read.Labels["tier"] = "changed"
	again, _ := s.GetTask(ctx, in.Key)
	if again.Labels["tier"] != "1" {
		t.Fatal("a GetTask result shares its labels with the store")
	}
	page, _ := s.ListTasks(ctx, "a", store.ListOptions{})
	page.Tasks[0].Labels["tier"] = "changed"
	again, _ = s.GetTask(ctx, in.Key)
	if again.Labels["tier"] != "1" {
		t.Fatal("a ListTasks result shares its labels with the store")
	}

	code := 1
	run := &store.Run{Tenant: "a", Task: "x", TaskUID: read.UID, Seq: 1, Phase: store.PhaseFailed,
		ExitCode: &code, OutputTail: []byte("out")}
	if err := s.PutRun(ctx, run); err != nil {
		t.Fatal(err)
	}
	run.OutputTail[0] = 'X'
	*run.ExitCode = 9
	runs, err := s.ListRuns(ctx, in.Key)
	if err != nil {
		t.Fatal(err)
	}
	if string(runs[0].OutputTail) != "out" || *runs[0].ExitCode != 1 {
		t.Fatalf("stored run changed through the caller's: %+v", runs[0])
	}
	runs[0].OutputTail[0] = 'Y'
	runs, _ = s.ListRuns(ctx, in.Key)
	if string(runs[0].OutputTail) != "out" {
		t.Fatal("a ListRuns result shares its output tail with the store")
	}
}

func testUpdateConditional(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	cur := mustCreate(t, s, full("a", "x"))

	upd := cur.Clone()
	upd.Status.Phase = store.PhaseSucceeded
	upd.Generation = 3
	upd.UID = ""                // empty: the stored one is kept
	upd.CreatedAt = time.Time{} // the stored one is kept
	got, err := s.UpdateTask(ctx, upd, cur.ResourceVersion)
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion <= cur.ResourceVersion {
		t.Fatalf("update gave revision %d after %d", got.ResourceVersion, cur.ResourceVersion)
	}
	if got.UID != cur.UID || !got.CreatedAt.Equal(cur.CreatedAt) || got.Generation != 3 || got.Status.Phase != store.PhaseSucceeded {
		t.Fatalf("updated task %+v", got)
	}

	// A stale revision, another uid: conflicts that change nothing.
	_, err = s.UpdateTask(ctx, cur, cur.ResourceVersion)
	wantErr(t, "update at a stale revision", err, store.ErrConflict)
	other := got.Clone()
	other.UID = "another-incarnation"
	_, err = s.UpdateTask(ctx, other, 0)
	wantErr(t, "update with another uid", err, store.ErrConflict)
	read, _ := s.GetTask(ctx, cur.Key)
	if !same(read, got) {
		t.Fatalf("a conflicting update changed the task: %+v", read)
	}

	// 0: unconditional.
	if _, err := s.UpdateTask(ctx, cur, 0); err != nil {
		t.Fatalf("unconditional update: %v", err)
	}
	_, err = s.UpdateTask(ctx, task("a", "missing", "s"), 0)
	wantErr(t, "update of a missing task", err, store.ErrNotFound)
	_, err = s.UpdateTask(ctx, task("b", "x", "s"), 0)
	wantErr(t, "update of another tenant's name", err, store.ErrNotFound)
}

func testDeleteConditional(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	cur := mustCreate(t, s, task("a", "x", "s"))
	_, err := s.DeleteTask(ctx, cur.Key, "other-uid", 0)
	wantErr(t, "delete with another uid", err, store.ErrConflict)
	_, err = s.DeleteTask(ctx, cur.Key, "", cur.ResourceVersion+100)
	wantErr(t, "delete at another revision", err, store.ErrConflict)
	_, err = s.DeleteTask(ctx, key("b", "x"), "", 0)
	wantErr(t, "delete of another tenant's name", err, store.ErrNotFound)
	if _, err := s.GetTask(ctx, cur.Key); err != nil {
		t.Fatalf("a refused delete removed the task: %v", err)
	}
	gone, err := s.DeleteTask(ctx, cur.Key, cur.UID, cur.ResourceVersion)
	if err != nil {
		t.Fatal(err)
	}
	if gone.UID != cur.UID || gone.ResourceVersion <= cur.ResourceVersion || gone.ResourceVersion != s.Revision() {
		t.Fatalf("deleted task %+v (revision now %d), want the last state at the delete's revision", gone, s.Revision())
	}
	_, err = s.GetTask(ctx, cur.Key)
	wantErr(t, "get after delete", err, store.ErrNotFound)
	_, err = s.DeleteTask(ctx, cur.Key, "", 0)
	wantErr(t, "second delete", err, store.ErrNotFound)

	// Unconditional delete; and a name deleted and created again is a new uid.
	again := mustCreate(t, s, task("a", "x", "s"))
	if again.UID == cur.UID {
		t.Fatal("a task created again kept its old uid")
	}
	if _, err := s.DeleteTask(ctx, again.Key, "", 0); err != nil {
		t.Fatal(err)
	}
}

func testDeleteDropsRuns(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	cur := mustCreate(t, s, task("a", "x", "s"))
	for seq := uint64(1); seq <= 3; seq++ {
		if err := s.PutRun(ctx, &store.Run{Tenant: "a", Task: "x", TaskUID: cur.UID, Seq: seq, Phase: store.PhaseFailed}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.DeleteTask(ctx, cur.Key, "", 0); err != nil {
		t.Fatal(err)
	}
	_, err := s.ListRuns(ctx, cur.Key)
	wantErr(t, "runs of a deleted task", err, store.ErrNotFound)
	again := mustCreate(t, s, task("a", "x", "s"))
	runs, err := s.ListRuns(ctx, again.Key)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 0 {
		t.Fatalf("a task created again has %d runs of its predecessor", len(runs))
	}
}

func testInvalid(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	_, err := s.CreateTask(ctx, &store.Task{Key: key("", "x")})
	wantErr(t, "create without a tenant", err, store.ErrInvalid)
	_, err = s.CreateTask(ctx, &store.Task{Key: key("a", "")})
	wantErr(t, "create without a name", err, store.ErrInvalid)
	_, err = s.CreateTask(ctx, nil)
	wantErr(t, "create nil", err, store.ErrInvalid)
	bad := task("a", "x", "s")
	bad.Spec = []byte(`{"slot":`)
	_, err = s.CreateTask(ctx, bad)
	wantErr(t, "create with a broken spec", err, store.ErrInvalid)
	_, err = s.UpdateTask(ctx, &store.Task{Key: key("a", "")}, 0)
	wantErr(t, "update without a name", err, store.ErrInvalid)
	cur := mustCreate(t, s, task("a", "x", "s"))
	err = s.PutRun(ctx, &store.Run{Tenant: "a", Task: "x", TaskUID: cur.UID})
	wantErr(t, "run with Seq 0", err, store.ErrInvalid)
	err = s.PutRun(ctx, &store.Run{Tenant: "a", Task: "x", Seq: 1})
	wantErr(t, "run without a task uid", err, store.ErrInvalid)
	_, err = s.ListTasks(ctx, "a", store.ListOptions{Limit: -1})
	wantErr(t, "negative limit", err, store.ErrInvalid)
	if s.Revision() != cur.ResourceVersion {
		t.Fatalf("refused writes moved the revision to %d", s.Revision())
	}
}

func testRevisionsIncrease(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	var last store.Revision
	check := func(what string, rev store.Revision) {
		t.Helper()
		if rev <= last {
			t.Fatalf("%s: revision %d after %d", what, rev, last)
		}
		if s.Revision() != rev {
			t.Fatalf("%s: Revision() = %d, the write was %d", what, s.Revision(), rev)
		}
		last = rev
	}
	for i := range 5 {
		cur := mustCreate(t, s, task("a", fmt.Sprint("t", i), "s"))
		check("create", cur.ResourceVersion)
		cur = mustUpdate(t, s, cur)
		check("update", cur.ResourceVersion)
		if i%2 == 0 {
			gone, err := s.DeleteTask(ctx, cur.Key, "", 0)
			if err != nil {
				t.Fatal(err)
			}
			check("delete", gone.ResourceVersion)
		}
	}
	// Reads and runs do not move it.
	if _, err := s.ListTasks(ctx, "a", store.ListOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.NextRunSeq(ctx); err != nil {
		t.Fatal(err)
	}
	if s.Revision() != last {
		t.Fatalf("reads moved the revision from %d to %d", last, s.Revision())
	}
}

func testConcurrentWrites(t *testing.T, s store.Store) {
	const writers, each = 8, 25
	var mu sync.Mutex
	seen := make(map[store.Revision]string)
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				name := fmt.Sprintf("w%d-%d", w, i)
				got, err := s.CreateTask(ctxT(t), task("a", name, "s"))
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				if prev, dup := seen[got.ResourceVersion]; dup {
					errs <- fmt.Errorf("revision %d given to %s and %s", got.ResourceVersion, prev, name)
				}
				seen[got.ResourceVersion] = name
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	page, err := s.ListTasks(ctxT(t), "a", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tasks) != writers*each {
		t.Fatalf("listed %d tasks after %d creates", len(page.Tasks), writers*each)
	}
	for _, tk := range page.Tasks {
		if seen[tk.ResourceVersion] != tk.Name {
			t.Fatalf("task %s has revision %d, its create returned %q's", tk.Name, tk.ResourceVersion, seen[tk.ResourceVersion])
		}
	}
}

// names lists the names of ts.
func names(ts []*store.Task) []string {
	out := make([]string, len(ts))
	for i, tk := range ts {
		out[i] = tk.Name
	}
	return out
}

func testListFilters(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	mk := func(name, slot string, p store.Phase, labels map[string]string) {
		tk := task("a", name, slot)
		tk.Status.Phase = p
		tk.Labels = labels
		mustCreate(t, s, tk)
	}
	// Created out of name order: listings are in name order all the same.
	mk("e", "s2", store.PhaseRunning, map[string]string{"app": "db"})
	mk("a", "s1", store.PhasePending, map[string]string{"app": "web"})
	mk("d", "s1", store.PhaseFailed, nil)
	mk("b", "s2", store.PhaseSucceeded, map[string]string{"app": "web"})
	mk("c", "s1", store.PhaseRunning, map[string]string{"app": "web", "tier": "1"})
	mustCreate(t, s, task("other", "a", "s1"))

	web := func(l map[string]string) bool { return l["app"] == "web" }
	for _, c := range []struct {
		opt  store.ListOptions
		want []string
	}{
		{store.ListOptions{}, []string{"a", "b", "c", "d", "e"}},
		{store.ListOptions{Slot: "s1"}, []string{"a", "c", "d"}},
		{store.ListOptions{Slot: "none"}, []string{}},
		{store.ListOptions{Phases: phases(store.PhaseRunning)}, []string{"c", "e"}},
		{store.ListOptions{Phases: phases(store.PhaseSucceeded, store.PhaseFailed)}, []string{"b", "d"}},
		{store.ListOptions{Match: web}, []string{"a", "b", "c"}},
		{store.ListOptions{Slot: "s1", Phases: phases(store.PhaseRunning, store.PhasePending), Match: web}, []string{"a", "c"}},
	} {
		page, err := s.ListTasks(ctx, "a", c.opt)
		if err != nil {
			t.Fatal(err)
		}
		if got := names(page.Tasks); !reflect.DeepEqual(got, c.want) && (len(got) != 0 || len(c.want) != 0) {
			t.Errorf("list %+v: %v, want %v", c.opt, got, c.want)
		}
		if page.Next != "" || page.Remaining > 0 {
			t.Errorf("unbounded list %+v: Next %q Remaining %d", c.opt, page.Next, page.Remaining)
		}
		if page.Revision != s.Revision() {
			t.Errorf("list revision %d, store at %d", page.Revision, s.Revision())
		}
	}
	page, err := s.ListTasks(ctx, "nobody", store.ListOptions{})
	if err != nil || len(page.Tasks) != 0 {
		t.Fatalf("list of an unknown tenant: %v, %d tasks", err, len(page.Tasks))
	}
}

func testListPaging(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	for i := range 7 {
		tk := task("a", fmt.Sprintf("t%d", i), "s")
		if i%3 == 2 {
			tk.Status.Phase = store.PhaseFailed // t2, t5 filtered out
		}
		mustCreate(t, s, tk)
	}
	opt := store.ListOptions{Limit: 2, Phases: phases(store.PhasePending)}
	var got []string
	var remaining []int
	at := store.Revision(0)
	for pages := 0; ; pages++ {
		if pages > 5 {
			t.Fatal("paging does not end")
		}
		page, err := s.ListTasks(ctx, "a", opt)
		if err != nil {
			t.Fatal(err)
		}
		if at == 0 {
			at = page.Revision
		} else if page.Revision != at {
			t.Fatalf("continuation page at revision %d, the listing began at %d", page.Revision, at)
		}
		if len(page.Tasks) > 2 {
			t.Fatalf("page of %d tasks, limit 2", len(page.Tasks))
		}
		got = append(got, names(page.Tasks)...)
		if page.Remaining >= 0 {
			remaining = append(remaining, page.Remaining)
		}
		if page.Next == "" {
			break
		}
		if page.Next != page.Tasks[len(page.Tasks)-1].Name {
			t.Fatalf("Next %q, the page ended at %q", page.Next, page.Tasks[len(page.Tasks)-1].Name)
		}
		opt.After, opt.AtRevision = page.Next, page.Revision
		// A write between pages does not break the continuation.
		mustCreate(t, s, task("a", fmt.Sprintf("zz%d", pages), "other"))
	}
	want := []string{"t0", "t1", "t3", "t4", "t6", "zz0", "zz1", "zz2"}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pages listed %v, want %v", got, want)
	}
	if len(remaining) > 0 && remaining[len(remaining)-1] != 0 {
		t.Fatalf("Remaining per page %v: the last must be 0", remaining)
	}
	if len(remaining) > 0 && remaining[0] != 3 {
		t.Fatalf("Remaining after the first page %d, want 3 (t3 t4 t6)", remaining[0])
	}
	// A limit that ends exactly at the last match leaves no Next.
	page, err := s.ListTasks(ctx, "a", store.ListOptions{Limit: 3, Slot: "other"})
	if err != nil {
		t.Fatal(err)
	}
	if len(page.Tasks) != 3 || page.Next != "" || page.Remaining > 0 {
		t.Fatalf("exact page: %v Next %q Remaining %d", names(page.Tasks), page.Next, page.Remaining)
	}
}

func testListExpired(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	cur := mustCreate(t, s, task("a", "x", "s"))
	first := cur.ResourceVersion
	for i := 0; ; i++ {
		if i == MaxFeedWrites {
			t.Fatalf("a continuation at revision %d still works after %d writes: the backend must expire old revisions", first, i)
		}
		_, err := s.ListTasks(ctx, "a", store.ListOptions{AtRevision: first, After: "a"})
		if errors.Is(err, store.ErrExpired) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		cur = mustUpdate(t, s, cur)
	}
	// The latest revision is still good.
	if _, err := s.ListTasks(ctx, "a", store.ListOptions{AtRevision: s.Revision(), After: "a"}); err != nil {
		t.Fatalf("continuation at the current revision: %v", err)
	}
}

func testTenantIsolation(t *testing.T, s store.Store) {
	ctx := ctxT(t)
	a := mustCreate(t, s, task("a", "x", "s"))
	mustCreate(t, s, task("b", "y", "s"))
	if _, err := s.GetTask(ctx, key("b", "x")); err == nil {
		t.Fatal("tenant b reads tenant a's task")
	}
	page, err := s.ListTasks(ctx, "b", store.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if got := names(page.Tasks); !reflect.DeepEqual(got, []string{"y"}) {
		t.Fatalf("tenant b lists %v", got)
	}
	if err := s.PutRun(ctx, &store.Run{Tenant: "b", Task: "x", TaskUID: a.UID, Seq: 1}); err != nil {
		t.Fatal(err)
	}
	runs, err := s.ListRuns(ctx, a.Key)
	if err != nil || len(runs) != 0 {
		t.Fatalf("a run filed under tenant b reached tenant a's task: %v %v", runs, err)
	}
}
