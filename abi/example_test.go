package abi_test

import (
	"encoding/json"
	"fmt"

	"github.com/solti-wasm/solti-wasm/abi"
)

func ExampleParseTaskSpec() {
	spec, err := abi.ParseTaskSpec([]byte(`{
		"slot": "reports",
		"kind": {"subprocess": {"mode": {"command": {"command": "make", "args": ["report"]}}}},
		"timeout": 30000,
		"restart": {"type": "onFailure"},
		"labels": {"team": "data"}
	}`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println("kind:", spec.Kind.Name())
	fmt.Println("backoff:", spec.Backoff.Jitter, spec.Backoff.FirstMs, spec.Backoff.MaxMs, spec.Backoff.Factor)
	fmt.Println("admission:", spec.Admission)

	canonical, _ := json.Marshal(spec)
	fmt.Println(string(canonical))

	_, err = abi.ParseTaskSpec([]byte(`{"slot":"..","kind":"embedded","timeout":1}`))
	fmt.Println(err)
	// Output:
	// kind: subprocess
	// backoff: full 1000 30000 2
	// admission: dropIfRunning
	// {"slot":"reports","kind":{"subprocess":{"mode":{"command":{"command":"make","args":["report"]}},"failOnNonZero":true}},"timeout":30000,"restart":{"type":"onFailure"},"backoff":{"jitter":"full","firstMs":1000,"maxMs":30000,"factor":2},"admission":"dropIfRunning","labels":{"team":"data"}}
	// slot: ".." must be 1-64 chars of [A-Za-z0-9._-] and not "." or ".."
}

func ExampleRunnerSelector_Matches() {
	sel := &abi.RunnerSelector{
		MatchLabels: map[string]string{"zone": "eu"},
		MatchExpressions: []abi.LabelRequirement{
			{Key: "example.com/tier", Operator: abi.OpIn, Values: []string{"gold", "silver"}},
			{Key: "spot", Operator: abi.OpDoesNotExist},
		},
	}
	for _, labels := range []map[string]string{
		{"zone": "eu", "example.com/tier": "gold"},
		{"zone": "eu", "example.com/tier": "gold", "spot": "true"},
		{"zone": "us", "example.com/tier": "gold"},
		{"zone": "eu"},
	} {
		if sel.Matches(labels) {
			fmt.Println("match")
		} else {
			fmt.Println("no match:", sel.Mismatch(labels))
		}
	}
	// Output:
	// match
	// no match: spot DoesNotExist []: runner has spot=true
	// no match: matchLabels zone=eu: runner has zone=us
	// no match: example.com/tier In [gold silver]: runner has no label example.com/tier
}
