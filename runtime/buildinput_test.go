package runtime

import (
	"encoding/json"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/router"
)

// buildInput splices the already-encoded spec into abi.BuildInput; it must produce exactly
// what encoding the whole struct would.
func TestBuildInputMatchesEncodingTheStruct(t *testing.T) {
	req, err := router.ParseRequest([]byte(`{"slot":"s","kind":{"subprocess":{"mode":{"command":{"command":"echo","args":["ü \"q\""]}},"env":{"Z":"1"}}},"timeout":5,"labels":{"a":"b"}}`))
	if err != nil {
		t.Fatal(err)
	}
	spec, _ := req.JSON()
	for _, env := range []abi.Env{nil, abi.EnvFromMap(map[string]string{"B": "2", "A": "1\n\"x\""})} {
		got, err := buildInput("run-s-7", "run", env, spec)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := json.Marshal(abi.BuildInput{RunID: "run-s-7", Runner: "run", Env: env, Spec: req.Spec})
		if string(got) != string(want) {
			t.Errorf("buildInput:\n got %s\nwant %s", got, want)
		}
	}
}
