// Command go-subprocess is an example solti-wasm runner written with the Go guest SDK. It
// handles solti's "subprocess" kind by turning it into an exec plan, which the host runs where
// its policy allows the command:
//
//   - command mode runs command with args;
//   - script mode runs the script body with its runtime: sh, bash and zsh get "-c BODY",
//     python3 and python "-c BODY", node "-e BODY", perl "-e BODY"; a runtime given as a path
//     ("/usr/bin/python3") is named by its base name. The script's args follow the body (for the
//     shells after a $0 that names the runtime, so that they are $1, $2, ...). A script with a
//     flag (solti's older custom runtime {"custom":{"command","flag"}}) gets that flag; any other
//     runtime is an invalid_spec error.
//
// The plan's env is the build input's env (the task env merged with the host's), its cwd and
// failOnNonZero those of the task. The runner has no run export of its own: exec plans are
// executed by the host.
//
// Build it with go generate ./examples/... (see examples/gen.go).
package main

import (
	"path"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/guest-sdk/go/solti"
)

func init() { solti.Register(subprocess{}) }

func main() {} // never runs in a c-shared module: the host calls the exports

// evalFlags maps a script runtime to the flag that makes it run a program given as an argument.
var evalFlags = map[string]string{
	"sh": "-c", "bash": "-c", "zsh": "-c",
	"python3": "-c", "python": "-c",
	"node": "-e", "perl": "-e",
}

// shells take the script's args after a $0.
var shells = map[string]bool{"sh": true, "bash": true, "zsh": true}

type subprocess struct{}

func (subprocess) Name() string { return "go-subprocess" }

func (subprocess) Describe() abi.Description {
	return abi.Description{
		Version:     "1.0.0",
		Kinds:       []string{abi.KindSubprocess},
		Labels:      map[string]string{"lang": "go", "example": "subprocess"},
		Description: "turns subprocess tasks (command or script mode) into exec plans",
	}
}

func (subprocess) Supports(s *solti.Spec) bool { return s.Kind() == abi.KindSubprocess }

func (subprocess) Build(b *solti.BuildRequest) (*abi.Plan, error) {
	spec, err := b.Spec.Decode()
	if err != nil {
		return nil, err
	}
	sub := spec.Kind.Subprocess
	if sub == nil {
		return nil, solti.Errorf(abi.CodeUnsupportedKind, "task kind %q is not subprocess", spec.Kind.Name())
	}
	var plan *abi.Plan
	switch m := sub.Mode; {
	case m.Command != nil:
		plan = solti.ExecPlan(m.Command.Command, m.Command.Args...)
	case m.Script != nil:
		rt := m.Script.Runtime
		flag, ok := evalFlags[path.Base(rt)]
		if m.Script.Flag != "" {
			flag, ok = m.Script.Flag, true
		}
		if !ok {
			return nil, solti.Errorf(abi.CodeInvalidSpec, "kind.subprocess.mode.script.runtime: unknown runtime %q (want sh, bash, zsh, python3, python, node or perl)", rt)
		}
		args := []string{flag, string(m.Script.Body)}
		if shells[path.Base(rt)] && len(m.Script.Args) > 0 {
			args = append(args, path.Base(rt)) // $0
		}
		plan = solti.ExecPlan(rt, append(args, m.Script.Args...)...)
	default:
		return nil, solti.Errorf(abi.CodeMissingField, "kind.subprocess.mode")
	}
	// The host already merged the task env into b.Env; merging again (host values winning)
	// changes nothing then, and keeps the task env with a host that did not.
	plan.Exec.Env = abi.Merge(sub.Env, b.Env)
	plan.Exec.Cwd = sub.Cwd
	plan.Exec.FailOnNonZero = sub.FailOnNonZero
	solti.Debug("exec planned", "runId", b.RunID, "command", plan.Exec.Command, "args", len(plan.Exec.Args))
	return plan, nil
}
