package abi

import (
	"fmt"
	"slices"
)

// Operator is a label requirement operator (Kubernetes rules).
type Operator string

// Operators.
const (
	OpIn           Operator = "In"
	OpNotIn        Operator = "NotIn"
	OpExists       Operator = "Exists"
	OpDoesNotExist Operator = "DoesNotExist"
)

// LabelRequirement is one expression of a RunnerSelector.
type LabelRequirement struct {
	Key      string   `json:"key"`
	Operator Operator `json:"operator"`
	Values   []string `json:"values,omitempty"`
}

// RunnerSelector restricts routing to runners whose labels satisfy every requirement.
// An empty selector matches every runner.
type RunnerSelector struct {
	MatchLabels      map[string]string  `json:"matchLabels,omitempty"`
	MatchExpressions []LabelRequirement `json:"matchExpressions,omitempty"`
}

// Matches reports whether labels satisfy the selector: all requirements ANDed; NotIn and
// DoesNotExist match a missing key. A nil selector matches everything.
func (s *RunnerSelector) Matches(labels map[string]string) bool {
	if s == nil {
		return true
	}
	for k, v := range s.MatchLabels {
		if got, ok := labels[k]; !ok || got != v {
			return false
		}
	}
	for _, r := range s.MatchExpressions {
		if !r.Matches(labels) {
			return false
		}
	}
	return true
}

// Matches reports whether labels satisfy this one requirement.
func (r LabelRequirement) Matches(labels map[string]string) bool {
	v, ok := labels[r.Key]
	switch r.Operator {
	case OpIn:
		return ok && slices.Contains(r.Values, v)
	case OpNotIn:
		return !ok || !slices.Contains(r.Values, v)
	case OpExists:
		return ok
	case OpDoesNotExist:
		return !ok
	}
	return false
}

// Mismatch describes the first requirement that labels fail, or returns "" when they match.
func (s *RunnerSelector) Mismatch(labels map[string]string) string {
	if s == nil {
		return ""
	}
	keys := make([]string, 0, len(s.MatchLabels))
	for k := range s.MatchLabels {
		keys = append(keys, k)
	}
	slices.Sort(keys) // deterministic explanations
	for _, k := range keys {
		want := s.MatchLabels[k]
		if got, ok := labels[k]; !ok {
			return fmt.Sprintf("matchLabels %s=%s: runner has no label %s", k, want, k)
		} else if got != want {
			return fmt.Sprintf("matchLabels %s=%s: runner has %s=%s", k, want, k, got)
		}
	}
	for _, r := range s.MatchExpressions {
		if !r.Matches(labels) {
			return fmt.Sprintf("%s %s %v: runner has %s", r.Key, r.Operator, r.Values, describeKey(labels, r.Key))
		}
	}
	return ""
}

func describeKey(labels map[string]string, key string) string {
	if v, ok := labels[key]; ok {
		return key + "=" + v
	}
	return "no label " + key
}
