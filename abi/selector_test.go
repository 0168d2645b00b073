package abi

import (
	"testing"
)

func TestRunnerSelectorMatches(t *testing.T) {
	type labels = map[string]string
	req := func(key string, op Operator, values ...string) LabelRequirement {
		return LabelRequirement{Key: key, Operator: op, Values: values}
	}
	tests := []struct {
		name   string
		sel    *RunnerSelector
		labels labels
		want   bool
	}{
		// Empty and nil selectors match everything, including no labels.
		{"nil selector, no labels", nil, nil, true},
		{"nil selector, labels", nil, labels{"a": "b"}, true},
		{"empty selector, no labels", &RunnerSelector{}, nil, true},
		{"empty selector, labels", &RunnerSelector{}, labels{"a": "b"}, true},
		{"empty maps and lists", &RunnerSelector{MatchLabels: map[string]string{}, MatchExpressions: []LabelRequirement{}}, labels{}, true},

		// matchLabels
		{"matchLabels equal", &RunnerSelector{MatchLabels: labels{"zone": "eu"}}, labels{"zone": "eu", "arch": "arm64"}, true},
		{"matchLabels different value", &RunnerSelector{MatchLabels: labels{"zone": "eu"}}, labels{"zone": "us"}, false},
		{"matchLabels missing key", &RunnerSelector{MatchLabels: labels{"zone": "eu"}}, labels{"arch": "arm64"}, false},
		{"matchLabels no labels", &RunnerSelector{MatchLabels: labels{"zone": "eu"}}, nil, false},
		{"matchLabels empty value needs the key", &RunnerSelector{MatchLabels: labels{"zone": ""}}, labels{}, false},
		{"matchLabels empty value present", &RunnerSelector{MatchLabels: labels{"zone": ""}}, labels{"zone": ""}, true},
		{"matchLabels values are case sensitive", &RunnerSelector{MatchLabels: labels{"zone": "eu"}}, labels{"zone": "EU"}, false},
		{"matchLabels all must match", &RunnerSelector{MatchLabels: labels{"zone": "eu", "arch": "amd64"}}, labels{"zone": "eu", "arch": "arm64"}, false},

		// In
		{"In matches one of the values", &RunnerSelector{MatchExpressions: []LabelRequirement{req("tier", OpIn, "gold", "silver")}}, labels{"tier": "silver"}, true},
		{"In other value", &RunnerSelector{MatchExpressions: []LabelRequirement{req("tier", OpIn, "gold")}}, labels{"tier": "bronze"}, false},
		{"In missing key", &RunnerSelector{MatchExpressions: []LabelRequirement{req("tier", OpIn, "gold")}}, labels{}, false},
		{"In empty value listed", &RunnerSelector{MatchExpressions: []LabelRequirement{req("tier", OpIn, "")}}, labels{"tier": ""}, true},

		// NotIn
		{"NotIn other value", &RunnerSelector{MatchExpressions: []LabelRequirement{req("tier", OpNotIn, "gold")}}, labels{"tier": "bronze"}, true},
		{"NotIn listed value", &RunnerSelector{MatchExpressions: []LabelRequirement{req("tier", OpNotIn, "gold", "silver")}}, labels{"tier": "silver"}, false},
		{"NotIn matches a missing key", &RunnerSelector{MatchExpressions: []LabelRequirement{req("tier", OpNotIn, "gold")}}, labels{"zone": "eu"}, true},
		{"NotIn matches no labels", &RunnerSelector{MatchExpressions: []LabelRequirement{req("tier", OpNotIn, "gold")}}, nil, true},

		// Exists / DoesNotExist
		{"Exists present", &RunnerSelector{MatchExpressions: []LabelRequirement{req("gpu", OpExists)}}, labels{"gpu": ""}, true},
		{"Exists missing", &RunnerSelector{MatchExpressions: []LabelRequirement{req("gpu", OpExists)}}, labels{"cpu": "x"}, false},
		{"DoesNotExist missing", &RunnerSelector{MatchExpressions: []LabelRequirement{req("spot", OpDoesNotExist)}}, labels{"gpu": "a100"}, true},
		{"DoesNotExist present", &RunnerSelector{MatchExpressions: []LabelRequirement{req("spot", OpDoesNotExist)}}, labels{"spot": "true"}, false},
		{"DoesNotExist no labels", &RunnerSelector{MatchExpressions: []LabelRequirement{req("spot", OpDoesNotExist)}}, nil, true},

		// Unknown operators never match (validation rejects them earlier).
		{"unknown operator", &RunnerSelector{MatchExpressions: []LabelRequirement{req("tier", "Gt", "1")}}, labels{"tier": "2"}, false},

		// Everything is ANDed.
		{"all requirements hold", &RunnerSelector{
			MatchLabels: labels{"zone": "eu"},
			MatchExpressions: []LabelRequirement{
				req("tier", OpIn, "gold"), req("arch", OpNotIn, "s390x"), req("gpu", OpExists), req("spot", OpDoesNotExist),
			},
		}, labels{"zone": "eu", "tier": "gold", "arch": "amd64", "gpu": "a100"}, true},
		{"matchLabels fails, expressions hold", &RunnerSelector{
			MatchLabels:      labels{"zone": "us"},
			MatchExpressions: []LabelRequirement{req("tier", OpIn, "gold")},
		}, labels{"zone": "eu", "tier": "gold"}, false},
		{"last expression fails", &RunnerSelector{
			MatchExpressions: []LabelRequirement{req("tier", OpIn, "gold"), req("spot", OpDoesNotExist)},
		}, labels{"tier": "gold", "spot": "yes"}, false},
		{"prefixed keys", &RunnerSelector{MatchLabels: labels{"example.com/tier": "gold"}}, labels{"example.com/tier": "gold"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := tt.sel.Matches(tt.labels); got != tt.want {
				t.Errorf("Matches(%v) = %v, want %v", tt.labels, got, tt.want)
			}
			// Mismatch agrees with Matches.
			if mm := tt.sel.Mismatch(tt.labels); (mm == "") != tt.want {
				t.Errorf("Mismatch(%v) = %q, but Matches = %v", tt.labels, mm, tt.want)
			}
		})
	}
}

func TestRunnerSelectorMismatchMessage(t *testing.T) {
	sel := &RunnerSelector{
		MatchLabels: map[string]string{"zone": "eu", "arch": "amd64"},
		MatchExpressions: []LabelRequirement{
			{Key: "tier", Operator: OpIn, Values: []string{"gold", "silver"}},
			{Key: "spot", Operator: OpDoesNotExist},
		},
	}
	tests := []struct {
		name   string
		labels map[string]string
		want   string
	}{
		{"match", map[string]string{"zone": "eu", "arch": "amd64", "tier": "gold"}, ""},
		// matchLabels are checked in key order, so "arch" is reported before "zone".
		{"missing label, first in key order", map[string]string{}, "matchLabels arch=amd64: runner has no label arch"},
		{"wrong value", map[string]string{"arch": "arm64", "zone": "us"}, "matchLabels arch=amd64: runner has arch=arm64"},
		{"second matchLabel", map[string]string{"arch": "amd64", "zone": "us"}, "matchLabels zone=eu: runner has zone=us"},
		{"first failing expression", map[string]string{"arch": "amd64", "zone": "eu", "tier": "bronze"}, "tier In [gold silver]: runner has tier=bronze"},
		{"second failing expression", map[string]string{"arch": "amd64", "zone": "eu", "tier": "gold", "spot": "1"}, "spot DoesNotExist []: runner has spot=1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sel.Mismatch(tt.labels); got != tt.want {
				t.Errorf("Mismatch = %q, want %q", got, tt.want)
			}
		})
	}
	var nilSel *RunnerSelector
	if got := nilSel.Mismatch(map[string]string{"a": "b"}); got != "" {
		t.Errorf("nil selector Mismatch = %q", got)
	}
}

func TestLabelRequirementMatches(t *testing.T) {
	r := LabelRequirement{Key: "k", Operator: OpNotIn, Values: []string{"x"}}
	tests := []struct {
		labels map[string]string
		want   bool
	}{
		{map[string]string{"k": "x"}, false},
		{map[string]string{"k": "y"}, true},
		{map[string]string{}, true},
		{nil, true},
	}
	for _, tt := range tests {
		if got := r.Matches(tt.labels); got != tt.want {
			t.Errorf("NotIn.Matches(%v) = %v, want %v", tt.labels, got, tt.want)
		}
	}
}
