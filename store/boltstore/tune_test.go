package boltstore

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkBatchDelay is what Options.MaxBatchDelay's default was chosen from: durable
// creates at 1, 8 and 32 writers per core under several delays.
func BenchmarkBatchDelay(b *testing.B) {
	for _, d := range []time.Duration{200 * time.Microsecond, time.Millisecond, 3 * time.Millisecond} {
		for _, par := range []int{1, 8, 32} {
			b.Run(fmt.Sprintf("delay=%v/writers=%dx", d, par), func(b *testing.B) {
				s, err := Open(filepath.Join(b.TempDir(), "tasks.db"), Options{MaxBatchDelay: d})
				if err != nil {
					b.Fatal(err)
				}
				defer s.Close()
				benchCreate(b, s, par)
			})
		}
	}
}
