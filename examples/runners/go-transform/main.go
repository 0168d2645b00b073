// Command go-transform is an example solti-wasm runner written with the Go guest SDK. It
// handles the extension kind "transform":
//
//	{"extension":{"type":"transform","spec":{"text":"...","ops":["squash","trim","upper"]}}}
//
// and the same kind as a current-generation solti workload, which the host maps to the
// extension type transformGVK (ABI.md §5.1):
//
//	{"apiVersion":"transform.example.com/v1","kind":"Transform","spec":{...}}
//
// build checks the ops and returns a guest plan; run applies the ops to the text in order and
// returns {"result":"...","ops":[...],"counts":{"bytes":B,"runes":R,"words":W,"lines":L}},
// the counts being those of the result. The ops:
//
//	upper      upper-case
//	lower      lower-case
//	trim       strip leading and trailing white space
//	squash     replace every run of white space with one space
//	reverse    reverse the text, rune by rune
//	sortwords  sort the words and join them with single spaces
//
// Build it with go generate ./examples/... (see examples/gen.go).
package main

import (
	"encoding/json"
	"slices"
	"strings"
	"unicode/utf8"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/guest-sdk/go/solti"
)

func init() { solti.Register(transformer{}) }

func main() {} // never runs in a c-shared module: the host calls the exports

// ops maps each op name to its function.
var ops = map[string]func(string) string{
	"upper":     strings.ToUpper,
	"lower":     strings.ToLower,
	"trim":      strings.TrimSpace,
	"squash":    func(s string) string { return strings.Join(strings.Fields(s), " ") },
	"reverse":   reverse,
	"sortwords": func(s string) string { w := strings.Fields(s); slices.Sort(w); return strings.Join(w, " ") },
}

// transformSpec is the extension spec, and also the guest plan's payload: build has checked
// it, run applies it.
type transformSpec struct {
	Text *string  `json:"text"` // a pointer to tell a missing text from an empty one
	Ops  []string `json:"ops"`
}

// transformGVK is the extension type of the workload transform.example.com/v1, kind Transform.
const transformGVK = "transform.example.com/v1/Transform"

type transformer struct{}

func (transformer) Name() string { return "go-transform" }

func (transformer) Describe() abi.Description {
	return abi.Description{
		Version:     "1.0.0",
		Kinds:       []string{"transform", transformGVK},
		Labels:      map[string]string{"lang": "go", "example": "transform"},
		Description: "applies text ops (upper, lower, trim, squash, reverse, sortwords) in a guest plan",
	}
}

func (transformer) Supports(s *solti.Spec) bool {
	k := s.Kind()
	return k == "transform" || k == transformGVK
}

func (transformer) Build(b *solti.BuildRequest) (*abi.Plan, error) {
	var spec transformSpec
	if err := b.Spec.DecodeExtension(&spec); err != nil {
		return nil, err
	}
	if spec.Text == nil {
		return nil, solti.Errorf(abi.CodeMissingField, "kind.extension.spec.text")
	}
	for i, op := range spec.Ops {
		if ops[op] == nil {
			return nil, solti.Errorf(abi.CodeInvalidSpec, "ops[%d]: unknown op %q (want upper, lower, trim, squash, reverse or sortwords)", i, op)
		}
	}
	solti.Debug("transform planned", "runId", b.RunID, "ops", len(spec.Ops), "bytes", len(*spec.Text))
	return solti.GuestPlan(spec)
}

func (transformer) Run(r *solti.RunRequest) ([]byte, error) {
	var spec transformSpec
	if err := r.DecodePayload(&spec); err != nil {
		return nil, err
	}
	if spec.Text == nil {
		return nil, solti.Errorf(abi.CodeMissingField, "payload.text")
	}
	text := *spec.Text
	for _, op := range spec.Ops {
		f := ops[op]
		if f == nil { // build checked; a payload from elsewhere may not be
			return nil, solti.Errorf(abi.CodeInvalidSpec, "unknown op %q", op)
		}
		text = f(text)
	}
	type counts struct {
		Bytes int `json:"bytes"`
		Runes int `json:"runes"`
		Words int `json:"words"`
		Lines int `json:"lines"`
	}
	res := struct {
		Result string   `json:"result"`
		Ops    []string `json:"ops"`
		Counts counts   `json:"counts"`
	}{text, spec.Ops, counts{len(text), utf8.RuneCountInString(text), len(strings.Fields(text)), lines(text)}}
	if res.Ops == nil {
		res.Ops = []string{}
	}
	solti.Info("transformed", "runId", r.RunID, "attempt", r.Attempt, "bytes", len(text))
	return json.Marshal(res)
}

// reverse reverses s rune by rune, so that multi-byte characters stay whole.
func reverse(s string) string {
	r := []rune(s)
	slices.Reverse(r)
	return string(r)
}

// lines counts lines as wc -l would, plus a last line without a newline.
func lines(s string) int {
	n := strings.Count(s, "\n")
	if s != "" && !strings.HasSuffix(s, "\n") {
		n++
	}
	return n
}
