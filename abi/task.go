package abi

import (
	"errors"
	"strings"
)

// Task is solti's current-generation manifest, as its API writes and kubectl-style tools
// send it: {"apiVersion":"solti.io/v1","kind":"Task","metadata":{...},"spec":{...}}. The
// server-written parts (metadata's uid, resourceVersion, generation, creationTimestamp;
// status) are read and otherwise ignored.
type Task struct {
	APIVersion string     `json:"apiVersion"`
	Kind       string     `json:"kind"`
	Metadata   ObjectMeta `json:"metadata"`
	// Spec is the task spec, its Labels taken from Metadata.Labels.
	Spec TaskSpec `json:"spec"`

	g3 bool // the spec is of the current generation (workload), set by the decoder
}

// ObjectMeta is a Task manifest's metadata.
type ObjectMeta struct {
	// Name is a DNS-1123 subdomain of at most 253 characters.
	Name              string            `json:"name"`
	UID               string            `json:"uid,omitempty"`
	ResourceVersion   string            `json:"resourceVersion,omitempty"`
	Generation        uint64            `json:"generation,omitempty"`
	CreationTimestamp string            `json:"creationTimestamp,omitempty"`
	Labels            map[string]string `json:"labels,omitempty"`
	Annotations       map[string]string `json:"annotations,omitempty"`
}

// validate checks the manifest and its spec. Errors name fields as the document spells them:
// a current-generation spec's kind errors point into workload, a manifest's into spec.
func (t *Task) validate() error {
	manifest := t.APIVersion != ""
	if manifest {
		if !validDNSSubdomain(t.Metadata.Name) {
			return invalid("metadata.name", "%q must be a DNS-1123 subdomain: at most 253 chars of [a-z0-9.-], each dot-separated part starting and ending with a letter or digit", t.Metadata.Name)
		}
		for k := range t.Metadata.Annotations {
			if !ValidLabelKey(k) {
				return invalid("metadata.annotations", "invalid annotation key %q (a qualified name, as label keys)", k)
			}
		}
	}
	err := t.Spec.Validate()
	var ve *ValidationError
	if err == nil || !errors.As(err, &ve) {
		return err
	}
	return &ValidationError{Field: t.field(ve.Field, manifest), Reason: ve.Reason}
}

// field maps a path of the ABI v1 spec onto the document the user wrote.
func (t *Task) field(f string, manifest bool) string {
	if manifest && (f == "labels" || strings.HasPrefix(f, "labels.")) {
		return "metadata." + f
	}
	if t.g3 {
		switch {
		case f == "kind":
			f = "workload"
		case strings.HasPrefix(f, "kind.extension.type"):
			f = "workload.apiVersion"
		case strings.HasPrefix(f, "kind."):
			rest := strings.TrimPrefix(f, "kind.")
			if i := strings.IndexByte(rest, '.'); i >= 0 {
				f = "workload.spec" + rest[i:]
			} else {
				f = "workload.spec"
			}
		}
	}
	if t.g3 && strings.HasSuffix(f, ".mode.script.runtime") {
		f = strings.TrimSuffix(f, "runtime") + "interpreter"
	}
	if manifest {
		return "spec." + f
	}
	return f
}
