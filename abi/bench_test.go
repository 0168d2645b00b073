package abi

import (
	"encoding/json"
	"testing"
)

// Decoding benchmarks: the host parses every task spec it routes and every plan a build
// returns, and Go guests decode the canonical spec in every build call.

var (
	benchSpec       = []byte(`{"slot":"transform-demo","kind":{"extension":{"type":"transform","spec":{"text":"hello world","ops":["squash","trim","upper"]}}},"timeout":5000,"restart":{"type":"onFailure"},"backoff":{"jitter":"equal","firstMs":500,"maxMs":5000,"factor":2},"admission":"dropIfRunning","runnerSelector":{"matchLabels":{"lang":"go"}},"labels":{"app":"demo","team":"docs"}}`)
	benchSubprocess = []byte(`{"slot":"subprocess-demo","kind":{"subprocess":{"mode":{"command":{"command":"echo","args":["hello","from","an","exec","plan"]}},"env":{"GREETING":"hello"},"failOnNonZero":true}},"timeout":5000}`)
	benchExecPlan   = []byte(`{"exec":{"command":"echo","args":["hello","from","an","exec","plan"],"env":{"GREETING":"hello"},"failOnNonZero":true}}`)
	benchGuestPlan  = []byte(`{"guest":{"payload":{"text":"hello world","ops":["squash","trim","upper"]}}}`)
)

func BenchmarkParseTaskSpec(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   []byte
	}{{"extension", benchSpec}, {"subprocess", benchSubprocess}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for i := 0; i < b.N; i++ {
				if _, err := ParseTaskSpec(bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkUnmarshalTaskSpec is the guest side: lenient decoding of canonical JSON.
func BenchmarkUnmarshalTaskSpec(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchSpec)))
	for i := 0; i < b.N; i++ {
		var s TaskSpec
		if err := json.Unmarshal(benchSpec, &s); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParsePlan(b *testing.B) {
	for _, bc := range []struct {
		name string
		in   []byte
	}{{"exec", benchExecPlan}, {"guest", benchGuestPlan}} {
		b.Run(bc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(bc.in)))
			for i := 0; i < b.N; i++ {
				if _, err := ParsePlan(bc.in); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
