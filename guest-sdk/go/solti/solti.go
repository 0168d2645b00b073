// Package solti is the Go guest SDK for solti-wasm runner modules (ABI v1).
//
// A runner author implements [Runner] (and optionally [Executor]), calls [Register] from an
// init function and leaves main empty. The SDK itself exports every ABI function (name,
// supports, build, describe, run, the solti_abi_v1 marker), reads inputs through the host's
// input import into one reused buffer, and writes results and errors through output. Build
// the module as a WASI reactor:
//
//	GOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared -o runner.wasm .
//
// In c-shared mode the host's call of _initialize runs package initialisation (so init
// functions run and may call Register) but never main: that is why registration happens in
// init. On other platforms the package still compiles, without the exports, so that runner
// code can be unit tested natively.
//
// Everything a call hands to the runner ([Spec], [BuildRequest], [RunRequest] and the byte
// slices they expose) is valid only during that call: the SDK reuses its buffers. Copy what
// must outlive the call.
package solti

import (
	"encoding/json"
	"fmt"

	"github.com/solti-wasm/solti-wasm/abi"
)

// Runner is what a runner module implements. The SDK calls it from the ABI exports; a module
// instance never receives two calls at once, so implementations need no locking.
type Runner interface {
	// Name is the runner's unique name (the name export). It starts every run id the runner
	// builds, so keep it short and stable.
	Name() string
	// Describe declares the runner's version, the kinds it handles and its default labels
	// (the describe export). The router asks Supports only for the listed kinds.
	Describe() abi.Description
	// Supports reports whether the runner can build the task (the supports export). It is on
	// the routing hot path: prefer [Spec.Kind] to [Spec.Decode].
	Supports(s *Spec) bool
	// Build turns a task into a plan (the build export). Return an [*abi.GuestError] (see
	// [Errorf]) to choose the error code; any other error is reported as "internal".
	Build(b *BuildRequest) (*abi.Plan, error)
}

// SupportsChecker is implemented by runners whose supports can fail rather than answer (a
// spec it cannot even classify, a broken configuration): when the registered Runner is also a
// SupportsChecker, the supports export calls CheckSupports instead of Supports, and an error
// makes it return a negative result with the error as output. The host counts that as "no"
// and shows the error to the operator (solti-wasm route).
type SupportsChecker interface {
	CheckSupports(s *Spec) (bool, error)
}

// Executor is implemented by runners that execute their own guest plans: when the registered
// Runner is also an Executor, the run export calls Run with the plan's payload.
type Executor interface {
	// Run executes one attempt and returns the task's result bytes (any bytes; JSON is
	// conventional). Errors are reported as for [Runner.Build].
	Run(r *RunRequest) ([]byte, error)
}

// BuildRequest is the decoded input of the build export (the same fields as
// [abi.BuildInput], with the task spec as a lazy [Spec]).
type BuildRequest struct {
	// RunID is the run id the router allocated for this build: "{runner}-{slot}-{seq}".
	RunID string
	// Runner is the name the host knows this runner by.
	Runner string
	// Env is the task env merged with the host's env (the host's values win), sorted by key.
	Env abi.Env
	// Spec is the task spec.
	Spec *Spec
}

// RunRequest is the decoded input of the run export.
type RunRequest struct {
	abi.RunInput
}

// DecodePayload decodes the plan payload into v, rejecting unknown fields. A failure is an
// *abi.GuestError with code invalid_spec.
func (r *RunRequest) DecodePayload(v any) error {
	if len(r.Payload) == 0 {
		return Errorf(abi.CodeMissingField, "payload")
	}
	if err := decodeStrict(r.Payload, v); err != nil {
		return Errorf(abi.CodeInvalidSpec, "payload: %v", err)
	}
	return nil
}

// registered is the module's one runner; checker is the same runner when it is a
// SupportsChecker (asserted once, at Register: a failing type assertion is a hash lookup in the
// runtime's itab table on every call, wasm having no per-site cache), else nil.
var (
	registered Runner
	checker    SupportsChecker
)

// install sets the registered runner (Register, and tests).
func install(r Runner) {
	registered = r
	checker, _ = r.(SupportsChecker)
}

// Register installs the module's runner. Call it exactly once, from an init function: the
// host runs init functions when it initialises the module, and never runs main.
func Register(r Runner) {
	if r == nil {
		panic("solti.Register: nil Runner")
	}
	if registered != nil {
		panic("solti.Register called twice: a module holds exactly one runner")
	}
	install(r)
}

// Return codes of the exports besides abi.SupportsYes/No: build and run fail with a positive
// code, supports with a negative one (the ABI reserves 0 and 1 for its answers).
const (
	rcOK           int32 = 0
	rcFailed       int32 = 1
	rcSupportsFail int32 = -1
)

// errNoRunner is every export's answer when no runner was registered.
var errNoRunner = &abi.GuestError{Code: abi.CodeInternal, Message: "no runner registered: call solti.Register from an init function"}

// The call* functions hold the logic of each export, free of wasm specifics so that it can be
// tested natively. Each returns the export's return code and the bytes to hand to output
// (nil: leave output unset). They turn panics into internal errors: an unrecovered panic would
// exit the Go runtime and leave the instance unusable for every later call.

func callName() (rc int32, out []byte) {
	defer recoverInto(&rc, &out, rcFailed)
	if registered == nil {
		return rcFailed, errorJSON(errNoRunner)
	}
	return rcOK, []byte(registered.Name())
}

func callDescribe() (rc int32, out []byte) {
	defer recoverInto(&rc, &out, rcFailed)
	if registered == nil {
		return rcFailed, errorJSON(errNoRunner)
	}
	return marshalResult(registered.Describe())
}

// theSpec is reused by every supports call so that the hot path makes no garbage.
var theSpec Spec

// callSupports is the supports export's logic, for tests: supportsCall's code and output.
func callSupports(in []byte) (rc int32, out []byte) {
	rc = supportsCall(in)
	out, supportsOut = supportsOut, nil
	return rc, out
}

// supportsOut is what a supports call that failed hands to output (nil: none), until the
// export (or callSupports) takes it.
var supportsOut []byte

// supportsCall answers one supports call; a failure's error is left in supportsOut. The usual
// case, a registered Runner that is not a SupportsChecker, is lean: under Go's wasm code
// generation every argument and result of a Go call goes through memory (a bounds-checked
// access on wazero), so it returns one word and makes no call but the runner's, and the panic
// guard is a closure deferred without arguments (open-coded: one direct call on return).
func supportsCall(in []byte) (rc int32) {
	if registered == nil || checker != nil {
		rc, supportsOut = callSupportsChecked(in)
		return rc
	}
	defer func() {
		if p := recover(); p != nil {
			rc, supportsOut = rcSupportsFail, errorJSON(Errorf(abi.CodeInternal, "panic: %v", p))
		}
	}()
	theSpec.reset(in)
	if registered.Supports(&theSpec) {
		return abi.SupportsYes
	}
	return abi.SupportsNo
}

// callSupportsChecked is callSupports for a SupportsChecker (and with no runner registered).
func callSupportsChecked(in []byte) (rc int32, out []byte) {
	defer recoverInto(&rc, &out, rcSupportsFail)
	if registered == nil {
		return rcSupportsFail, errorJSON(errNoRunner)
	}
	theSpec.reset(in)
	yes, err := checker.CheckSupports(&theSpec)
	switch {
	case err != nil:
		return rcSupportsFail, errorJSON(asGuestError(err))
	case yes:
		return abi.SupportsYes, nil
	}
	return abi.SupportsNo, nil
}

// buildInput mirrors abi.BuildInput but keeps the spec raw, for the lazy Spec. A test checks
// that the two stay in step.
type buildInput struct {
	RunID  string          `json:"runId"`
	Runner string          `json:"runner"`
	Env    abi.Env         `json:"env,omitempty"`
	Spec   json.RawMessage `json:"spec"`
}

func callBuild(in []byte) (rc int32, out []byte) {
	defer recoverInto(&rc, &out, rcFailed)
	if registered == nil {
		return rcFailed, errorJSON(errNoRunner)
	}
	bi, err := readBuildInput(in)
	if err != nil {
		return rcFailed, errorJSON(Errorf(abi.CodeInternal, "build input: %v", err))
	}
	// A new Spec rather than theSpec: the runner may keep the BuildRequest for the call.
	plan, err := registered.Build(&BuildRequest{RunID: bi.RunID, Runner: bi.Runner, Env: bi.Env, Spec: NewSpec(bi.Spec)})
	if err != nil {
		return rcFailed, errorJSON(asGuestError(err))
	}
	if plan == nil {
		return rcFailed, errorJSON(Errorf(abi.CodeInternal, "Build returned neither a plan nor an error"))
	}
	// Catch a malformed plan here, where the message can name the runner's mistake, rather
	// than have the host reject it later.
	if err := plan.Validate(); err != nil {
		return rcFailed, errorJSON(Errorf(abi.CodeInternal, "Build returned an invalid plan: %v", err))
	}
	return marshalResult(plan)
}

// readBuildInput reads canonical JSON, {"runId":"r","runner":"n"[,"env":{...}],"spec":S},
// without decoding the spec (S is the rest of the input but its closing brace: the lazy Spec
// reads what the runner asks for), and decodes any other JSON in full.
func readBuildInput(in []byte) (buildInput, error) {
	var bi buildInput
	id, i, ok := plainString(in, len(`{"runId":`))
	ok = ok && hasPrefixAt(in, 0, `{"runId":`) && hasPrefixAt(in, i, `,"runner":`)
	var runner []byte
	if ok {
		runner, i, ok = plainString(in, i+len(`,"runner":`))
	}
	if ok && hasPrefixAt(in, i, `,"env":`) {
		at := i + len(`,"env":`)
		if i = skipValue(in, at); i < 0 || json.Unmarshal(in[at:i], &bi.Env) != nil {
			ok = false
		}
	}
	if ok && hasPrefixAt(in, i, `,"spec":`) && len(in) >= i+len(`,"spec":`)+2 && in[len(in)-1] == '}' {
		bi.RunID, bi.Runner = string(id), string(runner)
		bi.Spec = in[i+len(`,"spec":`) : len(in)-1 : len(in)-1]
		return bi, nil
	}
	bi = buildInput{}
	err := json.Unmarshal(in, &bi)
	return bi, err
}

func callRun(in []byte) (rc int32, out []byte) {
	defer recoverInto(&rc, &out, rcFailed)
	if registered == nil {
		return rcFailed, errorJSON(errNoRunner)
	}
	ex, ok := registered.(Executor)
	if !ok {
		return rcFailed, errorJSON(Errorf(abi.CodeInternal, "runner has no run"))
	}
	var rr RunRequest
	if err := json.Unmarshal(in, &rr.RunInput); err != nil {
		return rcFailed, errorJSON(Errorf(abi.CodeInternal, "run input: %v", err))
	}
	res, err := ex.Run(&rr)
	if err != nil {
		return rcFailed, errorJSON(asGuestError(err))
	}
	if res == nil {
		res = []byte{} // an empty result is still a result: output is always set on success
	}
	return rcOK, res
}

func marshalResult(v any) (int32, []byte) {
	b, err := json.Marshal(v)
	if err != nil {
		return rcFailed, errorJSON(Errorf(abi.CodeInternal, "encoding the result: %v", err))
	}
	return rcOK, b
}

// recoverInto turns a panic of the runner into an internal error result.
func recoverInto(rc *int32, out *[]byte, failRC int32) {
	if p := recover(); p != nil {
		*rc, *out = failRC, errorJSON(Errorf(abi.CodeInternal, "panic: %v", p))
	}
}

// limitOutput replaces an output the host would trap on with an error it can report.
func limitOutput(rc int32, out []byte, failRC int32) (int32, []byte) {
	if len(out) > abi.DefaultMaxOutputBytes {
		return failRC, errorJSON(Errorf(abi.CodeInternal, "output of %d bytes exceeds the ABI limit of %d", len(out), abi.DefaultMaxOutputBytes))
	}
	return rc, out
}

func errorJSON(e *abi.GuestError) []byte {
	b, err := json.Marshal(e)
	if err != nil { // cannot happen for two strings; keep a valid answer anyway
		return []byte(fmt.Sprintf(`{"code":"internal","message":%q}`, err.Error()))
	}
	return b
}
