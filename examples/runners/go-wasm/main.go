// Command go-wasm is an example solti-wasm runner written with the Go guest SDK. It handles
// solti's "wasm" kind by turning it into a wasi plan, which the host runs as a sandboxed WASI
// command module:
//
//	{"wasm":{"module":"gofmt.wasm","args":["-l","main.go"],"env":{"SOLTI_WASI_MOUNTS":"/src"}}}
//
// becomes
//
//	{"wasi":{"module":"gofmt.wasm","args":["-l","main.go"],"mounts":[{"guest":"/src"}]}}
//
// module is passed through unchanged: the host resolves it inside its WASI module directory
// (solti-wasm run --wasi-dir) and refuses, as a policy, any path that is absolute or leaves
// that directory. args are the command's arguments (after argv[0], the module's file name).
//
// solti's wasm kind has no field for stdin or directories, so two env keys, which this runner
// consumes and does not pass on, ask for them:
//
//	SOLTI_WASI_STDIN   the command's stdin, in padded standard base64
//	SOLTI_WASI_MOUNTS  the directories to mount, comma-separated GUEST[:ro|rw] guest paths
//	                   ("/src,/out:rw"); without a mode, as the host grants it. The host
//	                   mounts only what its operator granted (--wasi-mount) and refuses the
//	                   plan if it asks for more.
//
// The rest of the env is the command's environment: the build input's env (the task env
// merged with the host's, host values winning), nothing else of the host's. The runner has no
// run export of its own: wasi plans are executed by the host.
//
// Build it with go generate ./examples/... (see examples/gen.go).
package main

import (
	"encoding/base64"
	"path"
	"strings"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/guest-sdk/go/solti"
)

func init() { solti.Register(wasm{}) }

func main() {} // never runs in a c-shared module: the host calls the exports

// The env keys this runner consumes.
const (
	envStdin  = "SOLTI_WASI_STDIN"
	envMounts = "SOLTI_WASI_MOUNTS"
)

type wasm struct{}

func (wasm) Name() string { return "go-wasm" }

func (wasm) Describe() abi.Description {
	return abi.Description{
		Version:     "1.0.0",
		Kinds:       []string{abi.KindWasm},
		Labels:      map[string]string{"lang": "go", "example": "wasm"},
		Description: "turns wasm tasks into wasi plans (stdin and mounts from SOLTI_WASI_STDIN and SOLTI_WASI_MOUNTS)",
	}
}

func (wasm) Supports(s *solti.Spec) bool { return s.Kind() == abi.KindWasm }

func (wasm) Build(b *solti.BuildRequest) (*abi.Plan, error) {
	spec, err := b.Spec.Decode()
	if err != nil {
		return nil, err
	}
	w := spec.Kind.Wasm
	if w == nil {
		return nil, solti.Errorf(abi.CodeUnsupportedKind, "task kind %q is not wasm", spec.Kind.Name())
	}
	plan := solti.WasiPlan(w.Module, w.Args...)
	// The host already merged the task env into b.Env; merging again (host values winning)
	// changes nothing then, and keeps the task env with a host that did not.
	for _, kv := range abi.Merge(w.Env, b.Env) {
		switch kv.Key {
		case envStdin:
			stdin, err := base64.StdEncoding.DecodeString(kv.Value)
			if err != nil {
				return nil, solti.Errorf(abi.CodeInvalidSpec, "kind.wasm.env.%s: not padded standard base64: %v", envStdin, err)
			}
			plan.Wasi.Stdin = stdin
		case envMounts:
			if plan.Wasi.Mounts, err = parseMounts(kv.Value); err != nil {
				return nil, err
			}
		default:
			plan.Wasi.Env = append(plan.Wasi.Env, kv) // Merge's result is sorted: so is this
		}
	}
	solti.Debug("wasi planned", "runId", b.RunID, "module", w.Module, "args", len(w.Args),
		"stdin", len(plan.Wasi.Stdin), "mounts", len(plan.Wasi.Mounts))
	return plan, nil
}

// parseMounts reads SOLTI_WASI_MOUNTS: GUEST[:ro|rw], comma-separated.
func parseMounts(v string) ([]abi.WasiMount, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var ms []abi.WasiMount
	for i, item := range strings.Split(v, ",") {
		item = strings.TrimSpace(item)
		m := abi.WasiMount{Guest: item}
		if g, mode, ok := strings.Cut(item, ":"); ok {
			m.Guest, m.Mode = g, mode
		}
		switch {
		case m.Mode != "" && m.Mode != abi.MountReadOnly && m.Mode != abi.MountReadWrite:
			return nil, solti.Errorf(abi.CodeInvalidSpec, "kind.wasm.env.%s[%d]: mode %q is not ro or rw (want GUEST[:ro|rw], comma-separated)", envMounts, i, m.Mode)
		case !path.IsAbs(m.Guest) || path.Clean(m.Guest) != m.Guest:
			return nil, solti.Errorf(abi.CodeInvalidSpec, "kind.wasm.env.%s[%d]: %q is not an absolute, clean guest path like /src (want GUEST[:ro|rw], comma-separated)", envMounts, i, m.Guest)
		}
		for _, o := range ms {
			if o.Guest == m.Guest {
				return nil, solti.Errorf(abi.CodeInvalidSpec, "kind.wasm.env.%s[%d]: %s is asked for twice", envMounts, i, m.Guest)
			}
		}
		ms = append(ms, m)
	}
	return ms, nil
}
