package memstore

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"

	"github.com/solti-wasm/solti-wasm/store"
)

// BenchmarkCreate: parallel creates into the in-memory store, the ceiling the durable
// store is compared with (store/boltstore's BenchmarkCreate runs both side by side).
func BenchmarkCreate(b *testing.B) {
	s := New()
	defer s.Close()
	spec := []byte(`{"slot":"bench","timeout":1000}`)
	var n atomic.Int64
	b.SetParallelism(8)
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			t := &store.Task{Key: store.Key{Tenant: "bench", Name: fmt.Sprintf("t%09d", n.Add(1))}, Spec: spec}
			if _, err := s.CreateTask(context.Background(), t); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
}

// BenchmarkQueue: one push, pop and ack.
func BenchmarkQueue(b *testing.B) {
	q := NewQueue(1024)
	defer q.Close()
	ctx := context.Background()
	it := store.Item{Key: store.Key{Tenant: "bench", Name: "t"}, Generation: 1}
	b.ReportAllocs()
	for b.Loop() {
		if err := q.Push(ctx, it); err != nil {
			b.Fatal(err)
		}
		d, err := q.Pop(ctx)
		if err != nil {
			b.Fatal(err)
		}
		if err := d.Ack(ctx); err != nil {
			b.Fatal(err)
		}
	}
}
