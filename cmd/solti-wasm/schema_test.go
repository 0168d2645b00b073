package main

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/solti-wasm/solti-wasm/abi"
)

func TestSchemaCommand(t *testing.T) {
	for _, name := range append(abi.SchemaNames(), "") {
		args := []string{"schema"}
		if name != "" {
			args = append(args, name)
		}
		code, stdout, stderr := run(t, context.Background(), args...)
		if code != 0 {
			t.Fatalf("%v: exit %d, stderr %s", args, code, stderr)
		}
		want := name
		if want == "" {
			want = "taskspec"
		}
		raw, _ := abi.Schema(want)
		if stdout != string(raw) {
			t.Errorf("%v printed something else than abi.Schema(%q)", args, want)
		}
		var v map[string]any
		if err := json.Unmarshal([]byte(stdout), &v); err != nil || v["$schema"] != "https://json-schema.org/draft/2020-12/schema" {
			t.Errorf("%v: not a 2020-12 schema: %v", args, err)
		}
	}
	code, _, stderr := run(t, context.Background(), "schema", "tasks")
	if code != ExitUsage || !strings.Contains(stderr, `no schema "tasks" (want one of description, plan, task, taskspec)`) {
		t.Errorf("schema tasks: exit %d, stderr %s", code, stderr)
	}
}
