package abi

import (
	"encoding/json"
	"slices"
	"strings"
)

// EnvVar is one environment variable.
type EnvVar struct {
	Key   string
	Value string
}

// Env is an environment as a list sorted by key, with unique keys. Its canonical JSON form is an
// object ({"KEY":"value"}) written in key order; decoding also reads solti-model's ordered
// list [{"key":"KEY","value":"value"}].
type Env []EnvVar

// MarshalJSON writes the object in key order.
func (e Env) MarshalJSON() ([]byte, error) {
	m := make(map[string]string, len(e))
	for _, kv := range e {
		m[kv.Key] = kv.Value
	}
	return json.Marshal(m) // encoding/json sorts map keys
}

// UnmarshalJSON reads an object or solti-model's list [{"key":"K","value":"V"}] (where the last
// of a repeated key wins), and sorts it by key.
func (e *Env) UnmarshalJSON(data []byte) error {
	v, err := decodeWith(data, "env", false, func(b *binder, i int32) (Env, error) { return b.env(i, "env", false) })
	*e = v
	return err
}

// EnvFromMap returns m as a sorted Env.
func EnvFromMap(m map[string]string) Env {
	if len(m) == 0 {
		return nil
	}
	e := make(Env, 0, len(m))
	for k, v := range m {
		e = append(e, EnvVar{k, v})
	}
	slices.SortFunc(e, func(a, b EnvVar) int { return strings.Compare(a.Key, b.Key) })
	return e
}

// Get returns the value of key.
func (e Env) Get(key string) (string, bool) {
	i, ok := slices.BinarySearchFunc(e, key, func(kv EnvVar, k string) int { return strings.Compare(kv.Key, k) })
	if !ok {
		return "", false
	}
	return e[i].Value, true
}

// Merge returns base overlaid with over: keys of over win. The result is sorted by key.
// This is solti's rule for task env (base) and runner env (over).
func Merge(base, over Env) Env {
	m := make(map[string]string, len(base)+len(over))
	for _, kv := range base {
		m[kv.Key] = kv.Value
	}
	for _, kv := range over {
		m[kv.Key] = kv.Value
	}
	return EnvFromMap(m)
}
