package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/solti-wasm/solti-wasm/store"
)

// RunQueue runs the queue conformance suite, each case on a queue from open holding at
// most capacity waiting items.
func RunQueue(t *testing.T, open func(t *testing.T, capacity int) store.Queue) {
	cases := []struct {
		name     string
		capacity int
		fn       func(t *testing.T, q store.Queue)
	}{
		{"FIFO", 16, testQueueFIFO},
		{"PopWaits", 4, testQueuePopWaits},
		{"PushWaitsWhenFull", 2, testQueueFull},
		{"AckRemoves", 4, testQueueAck},
		{"NakRedelivers", 4, testQueueNak},
		{"NakIntoFullQueue", 1, testQueueNakFull},
		{"Closed", 4, testQueueClosed},
		{"Concurrent", 8, testQueueConcurrent},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			q := open(t, c.capacity)
			t.Cleanup(func() {
				if err := q.Close(); err != nil && !errors.Is(err, store.ErrClosed) {
					t.Errorf("Close: %v", err)
				}
			})
			c.fn(t, q)
		})
	}
}

// item is the item of tenant a's task name, generation 1.
func item(name string) store.Item {
	return store.Item{Key: key("a", name), UID: "uid-" + name, Generation: 1}
}

// mustPush pushes it or fails the test.
func mustPush(t *testing.T, q store.Queue, it store.Item) {
	t.Helper()
	if err := q.Push(ctxT(t), it); err != nil {
		t.Fatalf("Push %s: %v", it.Name, err)
	}
}

// mustPop pops within the wait bound or fails the test.
func mustPop(t *testing.T, q store.Queue) store.Delivery {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctxT(t), wait)
	defer cancel()
	d, err := q.Pop(ctx)
	if err != nil {
		t.Fatalf("Pop: %v", err)
	}
	return d
}

// wantEmpty fails the test if q delivers within d.
func wantEmpty(t *testing.T, q store.Queue, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctxT(t), d)
	defer cancel()
	if got, err := q.Pop(ctx); err == nil {
		t.Fatalf("Pop delivered %+v, want nothing", got.Item())
	} else if !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Pop on an empty queue: %v, want the context's deadline", err)
	}
}

func testQueueFIFO(t *testing.T, q store.Queue) {
	for i := range 10 {
		mustPush(t, q, item(fmt.Sprint("t", i)))
	}
	if q.Len() != 10 {
		t.Fatalf("Len %d after 10 pushes", q.Len())
	}
	for i := range 10 {
		d := mustPop(t, q)
		if want := item(fmt.Sprint("t", i)); d.Item() != want {
			t.Fatalf("pop %d: %+v, want %+v", i, d.Item(), want)
		}
		if err := d.Ack(ctxT(t)); err != nil {
			t.Fatal(err)
		}
	}
	if q.Len() != 0 {
		t.Fatalf("Len %d after popping all", q.Len())
	}
}

func testQueuePopWaits(t *testing.T, q store.Queue) {
	got := make(chan store.Item, 1)
	go func() {
		d, err := q.Pop(ctxT(t))
		if err == nil {
			got <- d.Item()
		}
		close(got)
	}()
	time.Sleep(20 * time.Millisecond)
	mustPush(t, q, item("x"))
	select {
	case it := <-got:
		if it != item("x") {
			t.Fatalf("waiting Pop got %+v", it)
		}
	case <-time.After(wait):
		t.Fatal("a waiting Pop did not get the pushed item")
	}
	ctx, cancel := context.WithCancel(ctxT(t))
	cancel()
	_, err := q.Pop(ctx)
	wantErr(t, "Pop with an ended context", err, context.Canceled)
}

func testQueueFull(t *testing.T, q store.Queue) {
	mustPush(t, q, item("a"))
	mustPush(t, q, item("b"))
	ctx, cancel := context.WithTimeout(ctxT(t), 20*time.Millisecond)
	defer cancel()
	wantErr(t, "Push into a full queue", q.Push(ctx, item("c")), context.DeadlineExceeded)
	pushed := make(chan error, 1)
	go func() { pushed <- q.Push(ctxT(t), item("c")) }()
	select {
	case err := <-pushed:
		t.Fatalf("Push into a full queue returned %v before any Pop", err)
	case <-time.After(20 * time.Millisecond):
	}
	if d := mustPop(t, q); d.Item() != item("a") {
		t.Fatalf("popped %+v", d.Item())
	}
	select {
	case err := <-pushed:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("a blocked Push did not go through after a Pop")
	}
	for _, want := range []string{"b", "c"} {
		if d := mustPop(t, q); d.Item() != item(want) {
			t.Fatalf("popped %+v, want %s", d.Item(), want)
		}
	}
}

func testQueueAck(t *testing.T, q store.Queue) {
	mustPush(t, q, item("x"))
	d := mustPop(t, q)
	if err := d.Ack(ctxT(t)); err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(ctxT(t)); err == nil {
		t.Fatal("a second Ack of one delivery: no error")
	}
	if err := d.Nak(ctxT(t), 0); err == nil {
		t.Fatal("Nak after Ack: no error")
	}
	wantEmpty(t, q, 50*time.Millisecond)
	// Popped and not settled: not delivered again by itself.
	mustPush(t, q, item("y"))
	mustPop(t, q)
	wantEmpty(t, q, 50*time.Millisecond)
}

func testQueueNak(t *testing.T, q store.Queue) {
	mustPush(t, q, item("x"))
	d := mustPop(t, q)
	const delay = 80 * time.Millisecond
	start := time.Now()
	if err := d.Nak(ctxT(t), delay); err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(ctxT(t)); err == nil {
		t.Fatal("Ack after Nak: no error")
	}
	mustPush(t, q, item("y")) // pushed after the Nak, delivered before it comes back
	if d := mustPop(t, q); d.Item() != item("y") {
		t.Fatalf("popped %+v, want y", d.Item())
	}
	again := mustPop(t, q)
	if since := time.Since(start); since < delay {
		t.Fatalf("nacked item back after %v, before its delay %v", since, delay)
	}
	if again.Item() != item("x") {
		t.Fatalf("redelivered %+v, want x", again.Item())
	}
	// Nak without delay: back at once.
	if err := again.Nak(ctxT(t), 0); err != nil {
		t.Fatal(err)
	}
	if d := mustPop(t, q); d.Item() != item("x") {
		t.Fatalf("popped %+v, want x", d.Item())
	}
}

func testQueueNakFull(t *testing.T, q store.Queue) {
	mustPush(t, q, item("a"))
	d := mustPop(t, q)
	mustPush(t, q, item("b")) // full again
	done := make(chan error, 1)
	go func() { done <- d.Nak(ctxT(t), 0) }()
	select {
	case err := <-done:
		if err != nil {
			t.Fatal(err)
		}
	case <-time.After(wait):
		t.Fatal("Nak blocked on a full queue")
	}
	for _, want := range []string{"b", "a"} {
		if got := mustPop(t, q); got.Item() != item(want) {
			t.Fatalf("popped %+v, want %s", got.Item(), want)
		}
	}
}

func testQueueClosed(t *testing.T, q store.Queue) {
	mustPush(t, q, item("x"))
	d := mustPop(t, q)
	waiting := make(chan error, 1)
	go func() {
		_, err := q.Pop(ctxT(t))
		waiting <- err
	}()
	time.Sleep(20 * time.Millisecond)
	if err := q.Close(); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-waiting:
		wantErr(t, "a Pop waiting at Close", err, store.ErrClosed)
	case <-time.After(wait):
		t.Fatal("Close did not wake a waiting Pop")
	}
	_, err := q.Pop(ctxT(t))
	wantErr(t, "Pop after Close", err, store.ErrClosed)
	wantErr(t, "Push after Close", q.Push(ctxT(t), item("y")), store.ErrClosed)
	wantErr(t, "Nak after Close", d.Nak(ctxT(t), 0), store.ErrClosed)
}

func testQueueConcurrent(t *testing.T, q store.Queue) {
	const producers, each, consumers = 4, 100, 3
	var mu sync.Mutex
	got := make(map[store.Item]int)
	ctx, cancel := context.WithCancel(ctxT(t))
	defer cancel()
	var cwg sync.WaitGroup
	for range consumers {
		cwg.Go(func() {
			for {
				d, err := q.Pop(ctx)
				if err != nil {
					return
				}
				it := d.Item()
				mu.Lock()
				got[it]++
				n := got[it]
				mu.Unlock()
				// Every item is nacked once, then acked: each is delivered exactly twice.
				if n == 1 {
					_ = d.Nak(ctx, time.Millisecond)
				} else {
					_ = d.Ack(ctx)
				}
			}
		})
	}
	var pwg sync.WaitGroup
	for p := range producers {
		pwg.Go(func() {
			for i := range each {
				if err := q.Push(ctx, item(fmt.Sprintf("p%d-%d", p, i))); err != nil {
					t.Errorf("Push: %v", err)
					return
				}
			}
		})
	}
	pwg.Wait()
	deadline := time.Now().Add(wait)
	for {
		mu.Lock()
		done := 0
		for _, n := range got {
			if n == 2 {
				done++
			}
		}
		total := len(got)
		mu.Unlock()
		if done == producers*each {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d items delivered twice (%d seen)", done, producers*each, total)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	cwg.Wait()
	for it, n := range got {
		if n != 2 {
			t.Fatalf("%+v delivered %d times, want 2 (once nacked, once acked)", it, n)
		}
	}
}
