package boltstore

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/solti-wasm/solti-wasm/store"
	"github.com/solti-wasm/solti-wasm/store/memstore"
)

// benchSpec is a realistic task spec (a G3 Wasm workload), about 300 bytes.
var benchSpec = []byte(`{"slot":"bench","workload":{"apiVersion":"solti.io/v1","kind":"Wasm","spec":{"module":"echo.wasm","args":["--greeting","hello"],"env":[{"key":"A","value":"1"}]}},"timeout":1000,"restart":{"type":"never"},"backoff":{"jitter":"none","firstMs":100,"maxMs":1000,"factor":2},"admission":"queue"}`)

// benchCreate creates tasks from parallelism*GOMAXPROCS goroutines and reports tasks/s
// and the p50/p99 latency of one create.
func benchCreate(b *testing.B, s store.Store, parallelism int) {
	var n atomic.Int64
	var mu sync.Mutex
	var lat []time.Duration
	b.SetParallelism(parallelism)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		var mine []time.Duration
		for pb.Next() {
			i := n.Add(1)
			t := &store.Task{
				Key:    store.Key{Tenant: "bench", Name: fmt.Sprintf("t%09d", i)},
				Labels: map[string]string{"app": "bench"},
				Spec:   benchSpec,
				Status: store.TaskStatus{Phase: store.PhasePending},
			}
			start := time.Now()
			if _, err := s.CreateTask(context.Background(), t); err != nil {
				b.Error(err)
				return
			}
			mine = append(mine, time.Since(start))
		}
		mu.Lock()
		lat = append(lat, mine...)
		mu.Unlock()
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "tasks/s")
	if len(lat) > 0 {
		slices.Sort(lat)
		b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
	}
}

// BenchmarkCreate compares the durable store with the in-memory one and with bbolt
// without fsync (the floor of what batching can reach), at 1, 8 and 32 writers per core.
func BenchmarkCreate(b *testing.B) {
	for _, par := range []int{1, 8, 32} {
		b.Run(fmt.Sprintf("mem/writers=%dx", par), func(b *testing.B) {
			s := memstore.New()
			defer s.Close()
			benchCreate(b, s, par)
		})
		b.Run(fmt.Sprintf("bolt-durable/writers=%dx", par), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "tasks.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchCreate(b, s, par)
		})
		b.Run(fmt.Sprintf("bolt-nosync/writers=%dx", par), func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "tasks.db"), Options{NoSync: true})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			benchCreate(b, s, par)
		})
	}
}

// BenchmarkCreateOneWriter is one writer creating tasks one after another, each waiting for
// its own sync: the store's cost per acknowledged write against BenchmarkCommitFloor's
// fdatasync (durable), and its CPU alone (nosync).
func BenchmarkCreateOneWriter(b *testing.B) {
	for _, noSync := range []bool{false, true} {
		b.Run(map[bool]string{false: "durable", true: "nosync"}[noSync], func(b *testing.B) {
			s, err := Open(filepath.Join(b.TempDir(), "tasks.db"), Options{NoSync: noSync})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			b.ReportAllocs()
			for i := 0; b.Loop(); i++ {
				t := &store.Task{Key: store.Key{Tenant: "t", Name: fmt.Sprintf("task-%d", i)}, Spec: []byte(`{"slot":"s"}`)}
				if _, err := s.CreateTask(context.Background(), t); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkNextRunSeq: the run-id sequence reserves blocks, so a number costs no fsync.
func BenchmarkNextRunSeq(b *testing.B) {
	s, err := Open(filepath.Join(b.TempDir(), "tasks.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := s.NextRunSeq(context.Background()); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCommitFloor is the disk's floor under one writer: a 4 KiB write and fdatasync
// on a plain file (what any durable commit pays at least once), and bbolt's own commit of
// one 600-byte put (two fdatasyncs: its pages, then its meta page), serially. A client that
// waits for each create before the next cannot go faster than one such commit per task.
func BenchmarkCommitFloor(b *testing.B) {
	b.Run("fdatasync", func(b *testing.B) {
		f, err := os.Create(filepath.Join(b.TempDir(), "f"))
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		page := make([]byte, 4096)
		for i := 0; b.Loop(); i++ {
			if _, err := f.WriteAt(page, int64(i%256)*4096); err != nil {
				b.Fatal(err)
			}
			if err := syscall.Fdatasync(int(f.Fd())); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("bolt-update", func(b *testing.B) {
		db, err := bolt.Open(filepath.Join(b.TempDir(), "tasks.db"), 0o600, &bolt.Options{NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
		if err != nil {
			b.Fatal(err)
		}
		defer db.Close()
		val := make([]byte, 600)
		for i := 0; b.Loop(); i++ {
			err := db.Update(func(tx *bolt.Tx) error {
				bk, err := tx.CreateBucketIfNotExists([]byte("b"))
				if err != nil {
					return err
				}
				return bk.Put(be64(uint64(i)), val)
			})
			if err != nil {
				b.Fatal(err)
			}
		}
	})
}
