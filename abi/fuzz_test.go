package abi

import (
	"bytes"
	"encoding/json"
	"reflect"
	"regexp"
	"testing"
)

// The fuzz targets hold the decoder to its promises: whatever the strict host parser accepts,
// the lenient guest decoder reads as the same value; canonical JSON round-trips to the same
// value and bytes; the plan fast path agrees with the full parser; the hand-written label
// rules agree with the schema's patterns. Seeds: testdata/fuzz/ and the schema corpus.

func addCorpus(f *testing.F, doc string) {
	for _, c := range readCorpus(f, doc) {
		f.Add(c.doc)
	}
}

func FuzzTaskSpec(f *testing.F) {
	addCorpus(f, "taskspec")
	addCorpus(f, "task")
	f.Fuzz(func(t *testing.T, data []byte) {
		strict, err := ParseTaskSpec(data)
		if err != nil {
			return
		}
		var lenient TaskSpec
		if err := json.Unmarshal(data, &lenient); err != nil {
			t.Fatalf("strict accepts what lenient refuses: %v\n%s", err, data)
		}
		if !reflect.DeepEqual(*strict, lenient) {
			t.Fatalf("strict and lenient differ\nstrict:  %#v\nlenient: %#v\n%s", *strict, lenient, data)
		}
		canon, err := json.Marshal(strict)
		if err != nil {
			t.Fatalf("a parsed spec does not encode: %v", err)
		}
		// An extension spec is raw JSON and keeps its spelling, which the canonical encoding
		// changes ("&" becomes \u0026; regression seed 1978045cca7ad6a9): values are compared
		// by their canonical bytes, and strict and lenient by what they read from them.
		var guest TaskSpec
		if err := json.Unmarshal(canon, &guest); err != nil {
			t.Fatalf("a guest cannot read the canonical form (%v)\n%s", err, canon)
		}
		if g, _ := json.Marshal(&guest); !bytes.Equal(g, canon) {
			t.Fatalf("a guest reads the canonical form differently\n%s\n%s", canon, g)
		}
		again, err := ParseTaskSpec(canon)
		if err != nil {
			t.Fatalf("the canonical form does not parse: %v\n%s", err, canon)
		}
		if !reflect.DeepEqual(*again, guest) {
			t.Fatalf("strict and lenient read the canonical form differently\n%s", canon)
		}
		if canon2, _ := json.Marshal(again); !bytes.Equal(canon, canon2) {
			t.Fatalf("canonical form is not a fixed point:\n%s\n%s", canon, canon2)
		}
	})
}

func FuzzPlan(f *testing.F) {
	addCorpus(f, "plan")
	f.Add([]byte(`{"guest":{"payload":{"a":[1,{"b":null}]}}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		strict, err := ParsePlan(data)
		full, fullErr := parsePlanFull(data)
		if (err == nil) != (fullErr == nil) {
			t.Fatalf("fast path and full parser disagree: %v / %v\n%s", err, fullErr, data)
		}
		if err != nil {
			return
		}
		if !reflect.DeepEqual(strict, full) {
			t.Fatalf("fast path and full parser read different plans\n%s", data)
		}
		var lenient Plan
		if err := json.Unmarshal(data, &lenient); err != nil || !reflect.DeepEqual(*strict, lenient) {
			t.Fatalf("lenient decoding differs (%v)\n%s", err, data)
		}
		canon, err := json.Marshal(strict)
		if err != nil {
			t.Fatal(err)
		}
		// A payload keeps its spelling (it is raw JSON), and the canonical encoding escapes
		// HTML characters ("&" becomes \u0026): so the property is that the canonical form is
		// a fixed point, not that the payload's bytes survive (regression seed 793475ca511dd253).
		again, err := ParsePlan(canon)
		if err != nil {
			t.Fatalf("canonical plan does not parse (%v)\n%s", err, canon)
		}
		if canon2, err := json.Marshal(again); err != nil || !bytes.Equal(canon2, canon) {
			t.Fatalf("canonical plan does not round-trip (%v)\n%s\n%s", err, canon, canon2)
		}
	})
}

func FuzzDescription(f *testing.F) {
	addCorpus(f, "description")
	f.Fuzz(func(t *testing.T, data []byte) {
		d, err := ParseDescription(data)
		if err != nil {
			return
		}
		canon, err := json.Marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		// As for plans: the raw sample keeps its spelling, so the canonical form must be a
		// fixed point (regression seed 9bde562ed00fb19c: ">" escaped as \u003e).
		again, err := ParseDescription(canon)
		if err != nil {
			t.Fatalf("canonical description does not parse (%v)\n%s\n%s", err, data, canon)
		}
		if canon2, err := json.Marshal(again); err != nil || !bytes.Equal(canon2, canon) {
			t.Fatalf("description does not round-trip (%v)\n%s\n%s\n%s", err, data, canon, canon2)
		}
	})
}

// Label patterns, as in abi/schema (gen.py's LABEL_KEY and LABEL_VALUE).
var (
	schemaLabelKey    = regexp.MustCompile(`^(?:[a-z0-9](?:[-a-z0-9.]{0,251}[a-z0-9])?/)?[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`)
	schemaLabelKeyNot = regexp.MustCompile(`^[^/]*(?:\.\.|\.-|-\.)[^/]*/`)
	schemaLabelValue  = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$`)
)

func FuzzSelector(f *testing.F) {
	f.Add([]byte(`{"matchLabels":{"a":"b"},"matchExpressions":[{"key":"c","operator":"In","values":["d"]}]}`), "a", "b")
	f.Add([]byte(`{"matchExpressions":[{"key":"x","operator":"NotIn","values":["y"]},{"key":"z","operator":"DoesNotExist"}]}`), "x", "y")
	f.Add([]byte(`{"matchExpressions":[{"key":"example.com/gpu","operator":"Exists"}]}`), "example.com/gpu", "")
	f.Add([]byte(`{}`), "a..b/c", "-")
	f.Fuzz(func(t *testing.T, sel []byte, key, value string) {
		// The hand-written label rules and the schema's patterns must agree.
		if got, want := ValidLabelKey(key), schemaLabelKey.MatchString(key) && !schemaLabelKeyNot.MatchString(key); got != want {
			t.Fatalf("ValidLabelKey(%q) = %v, the schema says %v", key, got, want)
		}
		if got, want := ValidLabelValue(value), schemaLabelValue.MatchString(value); got != want {
			t.Fatalf("ValidLabelValue(%q) = %v, the schema says %v", value, got, want)
		}
		doc := append(append([]byte(`{"slot":"s","kind":"embedded","timeout":1,"runnerSelector":`), sel...), '}')
		s, err := ParseTaskSpec(doc)
		if err != nil {
			return
		}
		labels := map[string]string{key: value}
		for _, l := range []map[string]string{nil, labels, s.RunnerSelector.MatchLabels} {
			m := s.RunnerSelector.Matches(l)
			if why := s.RunnerSelector.Mismatch(l); m != (why == "") {
				t.Fatalf("Matches(%v) = %v but Mismatch says %q", l, m, why)
			}
		}
	})
}
