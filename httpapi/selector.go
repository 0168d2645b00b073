package httpapi

import (
	"fmt"
	"strings"

	"github.com/solti-wasm/solti-wasm/abi"
)

// ParseLabelSelector reads a Kubernetes label selector (the labelSelector query parameter):
// comma-separated requirements, all of which must hold, each one of
//
//	key=value  key==value  key!=value  key in (v1,v2)  key notin (v1,v2)  key  !key
//
// It returns them as an abi.RunnerSelector, whose matching has the same semantics (!= and
// notin match a missing key). Keys and values follow the label rules (abi.ValidLabelKey,
// ValidLabelValue); an empty selector matches everything.
func ParseLabelSelector(s string) (*abi.RunnerSelector, error) {
	sel := &abi.RunnerSelector{}
	p := &selParser{s: s}
	p.space()
	if p.eof() {
		return sel, nil
	}
	for {
		r, err := p.requirement()
		if err != nil {
			return nil, fmt.Errorf("labelSelector %q: %w", s, err)
		}
		sel.MatchExpressions = append(sel.MatchExpressions, r)
		p.space()
		if p.eof() {
			return sel, nil
		}
		if !p.take(",") {
			return nil, fmt.Errorf("labelSelector %q: at offset %d: want ',' between requirements, got %q", s, p.i, p.rest())
		}
	}
}

type selParser struct {
	s string
	i int
}

func (p *selParser) eof() bool    { return p.i >= len(p.s) }
func (p *selParser) rest() string { return p.s[p.i:] }

func (p *selParser) space() {
	for p.i < len(p.s) && (p.s[p.i] == ' ' || p.s[p.i] == '\t') {
		p.i++
	}
}

func (p *selParser) take(tok string) bool {
	if strings.HasPrefix(p.s[p.i:], tok) {
		p.i += len(tok)
		return true
	}
	return false
}

// word reads a key or a value: everything up to a space or an operator character.
func (p *selParser) word() string {
	start := p.i
	for p.i < len(p.s) && !strings.ContainsRune(" \t,=!()", rune(p.s[p.i])) {
		p.i++
	}
	return p.s[start:p.i]
}

func (p *selParser) key() (string, error) {
	p.space()
	at := p.i
	k := p.word()
	if k == "" {
		return "", fmt.Errorf("at offset %d: want a label key, got %q", at, p.rest())
	}
	if !abi.ValidLabelKey(k) {
		return "", fmt.Errorf("invalid label key %q", k)
	}
	return k, nil
}

func (p *selParser) value() (string, error) {
	p.space()
	v := p.word()
	if !abi.ValidLabelValue(v) {
		return "", fmt.Errorf("invalid label value %q (at most 63 chars of [A-Za-z0-9._-], starting and ending with a letter or digit)", v)
	}
	return v, nil
}

func (p *selParser) requirement() (abi.LabelRequirement, error) {
	p.space()
	if p.take("!") {
		k, err := p.key()
		return abi.LabelRequirement{Key: k, Operator: abi.OpDoesNotExist}, err
	}
	k, err := p.key()
	if err != nil {
		return abi.LabelRequirement{}, err
	}
	p.space()
	switch {
	case p.eof() || strings.HasPrefix(p.rest(), ","):
		return abi.LabelRequirement{Key: k, Operator: abi.OpExists}, nil
	case p.take("=="), p.take("="):
		v, err := p.value()
		return abi.LabelRequirement{Key: k, Operator: abi.OpIn, Values: []string{v}}, err
	case p.take("!="):
		v, err := p.value()
		return abi.LabelRequirement{Key: k, Operator: abi.OpNotIn, Values: []string{v}}, err
	}
	at := p.i
	switch op := p.word(); op {
	case "in", "notin":
		vs, err := p.set()
		o := abi.OpIn
		if op == "notin" {
			o = abi.OpNotIn
		}
		return abi.LabelRequirement{Key: k, Operator: o, Values: vs}, err
	default:
		return abi.LabelRequirement{}, fmt.Errorf("at offset %d: want an operator (=, ==, !=, in, notin) after key %q, got %q", at, k, p.s[at:])
	}
}

// set reads "(v1, v2, ...)".
func (p *selParser) set() ([]string, error) {
	p.space()
	if !p.take("(") {
		return nil, fmt.Errorf("at offset %d: want '(' to open a set of values", p.i)
	}
	p.space()
	if strings.HasPrefix(p.rest(), ")") {
		return nil, fmt.Errorf("at offset %d: a set of values may not be empty", p.i)
	}
	var vs []string
	for {
		v, err := p.value()
		if err != nil {
			return nil, err
		}
		vs = append(vs, v)
		p.space()
		if p.take(")") {
			return vs, nil
		}
		if !p.take(",") {
			return nil, fmt.Errorf("at offset %d: want ',' or ')' in a set of values", p.i)
		}
	}
}
