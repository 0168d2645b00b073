package router

import (
	"context"
	"fmt"
	"maps"
	"strings"
)

// Verdict is why a runner was or was not chosen.
type Verdict string

// Verdicts, in the order the router checks them.
const (
	VerdictEmbedded      Verdict = "embedded"       // embedded tasks are never routable
	VerdictKindFiltered  Verdict = "kind-filtered"  // the runner declares other kinds
	VerdictSelector      Verdict = "selector"       // the runner's labels fail the task's selector
	VerdictUnsupported   Verdict = "unsupported"    // Supports said no
	VerdictSupportsError Verdict = "supports-error" // Supports failed, which counts as no
	VerdictChosen        Verdict = "chosen"
	VerdictNotAsked      Verdict = "not-asked" // an earlier runner was chosen
)

// Decision is one runner's line in an explanation.
type Decision struct {
	Runner  string
	Labels  map[string]string
	Verdict Verdict
	// Detail says more: the kinds declared, the requirement that failed, the error.
	Detail string
}

// Explain routes req like Route, but asks every runner up to the chosen one and reports for
// each why it was or was not chosen; runners after the chosen one are "not-asked". It builds
// nothing.
func (r *Router) Explain(ctx context.Context, req *Request) []Decision {
	s := r.pin()
	defer s.unpin()
	snap := s.entries
	out := make([]Decision, 0, len(snap))
	kind := req.Spec.Kind.Name()
	chosen := false
	for _, e := range snap {
		d := Decision{Runner: e.runner.Name(), Labels: maps.Clone(e.labels)}
		switch {
		case chosen:
			d.Verdict = VerdictNotAsked
		case req.Spec.Kind.Embedded:
			d.Verdict, d.Detail = VerdictEmbedded, "embedded tasks run in the host and are never routed"
		case !e.handles(kind):
			d.Verdict, d.Detail = VerdictKindFiltered, fmt.Sprintf("handles %s; task kind is %s", strings.Join(e.kinds, ", "), kind)
		case !req.Spec.RunnerSelector.Matches(e.labels):
			d.Verdict, d.Detail = VerdictSelector, req.Spec.RunnerSelector.Mismatch(e.labels)
		default:
			ok, err := e.runner.Supports(ctx, req)
			switch {
			case err != nil:
				d.Verdict, d.Detail = VerdictSupportsError, err.Error()
			case !ok:
				d.Verdict, d.Detail = VerdictUnsupported, "supports returned false"
			default:
				d.Verdict, chosen = VerdictChosen, true
			}
		}
		out = append(out, d)
	}
	return out
}
