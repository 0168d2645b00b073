package memstore

import (
	"context"
	"errors"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/solti-wasm/solti-wasm/store"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestCreateGetWatch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := New()
	defer s.Close()
	ch, err := s.Watch(ctx, "a", 0)
	if err != nil {
		t.Fatal(err)
	}
	got, err := s.CreateTask(ctx, &store.Task{Key: store.Key{Tenant: "a", Name: "x"}, Spec: []byte(`{"slot":"s"}`)})
	if err != nil {
		t.Fatal(err)
	}
	if got.ResourceVersion != 1 || got.UID == "" || got.Generation != 1 {
		t.Fatalf("created %+v", got)
	}
	if _, err := s.CreateTask(ctx, &store.Task{Key: got.Key}); !errors.Is(err, store.ErrExists) {
		t.Fatalf("second create: %v, want ErrExists", err)
	}
	select {
	case ev := <-ch:
		if ev.Type != store.EventAdded || ev.Revision != 1 || ev.Task.Name != "x" {
			t.Fatalf("event %+v", ev)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no event")
	}
}

func TestFeedExpires(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	s := NewWithOptions(Options{History: 4})
	defer s.Close()
	for i := range 6 {
		if _, err := s.CreateTask(ctx, &store.Task{Key: store.Key{Tenant: "a", Name: string(rune('a' + i))}}); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := s.Watch(ctx, "a", 1); !errors.Is(err, store.ErrExpired) {
		t.Fatalf("watch from 1: %v, want ErrExpired", err)
	}
	ch, err := s.Watch(ctx, "a", 2)
	if err != nil {
		t.Fatal(err)
	}
	for want := store.Revision(3); want <= 6; want++ {
		if ev := <-ch; ev.Revision != want {
			t.Fatalf("got revision %d, want %d", ev.Revision, want)
		}
	}
}

func TestQueueNakDelay(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	q := NewQueue(1)
	defer q.Close()
	it := store.Item{Key: store.Key{Tenant: "a", Name: "x"}, Generation: 1}
	if err := q.Push(ctx, it); err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 20*time.Millisecond)
	defer cancel()
	if err := q.Push(short, it); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("push into a full queue: %v, want deadline", err)
	}
	d, err := q.Pop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := d.Nak(ctx, 30*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(ctx); !errors.Is(err, ErrSettled) {
		t.Fatalf("ack after nak: %v, want ErrSettled", err)
	}
	d2, err := q.Pop(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if time.Since(start) < 30*time.Millisecond || d2.Item() != it {
		t.Fatalf("redelivered %+v after %v", d2.Item(), time.Since(start))
	}
}
