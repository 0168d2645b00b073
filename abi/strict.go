package abi

import (
	"encoding/json"
	"slices"
	"strconv"
)

// checkKnown rejects fields of data that decoding into v ignored. It runs before validation,
// so that a misspelt field ("timout") is reported as unknown rather than as the missing field
// it left behind. It works thus: it re-encodes v
// canonically and looks for every key of the input at the same path in the output. A key
// that is absent there is unknown (or wrongly cased: encoding/json matches names without
// regard to case) unless its value is empty, which omitempty drops. Free-form values
// (extension specs, guest payloads, label and env maps) survive the round trip whole, so
// they pass unchecked by construction.
func checkKnown(data []byte, v any) error {
	var in, out any
	if err := json.Unmarshal(data, &in); err != nil {
		return err
	}
	canon, err := json.Marshal(v)
	if err != nil {
		return nil // v is invalid in a way Validate reports better
	}
	if err := json.Unmarshal(canon, &out); err != nil {
		return err
	}
	if path := unknownPath(in, out, ""); path != "" {
		return invalid(path, "unknown field (field names are case-sensitive camelCase)")
	}
	return nil
}

func unknownPath(in, out any, path string) string {
	switch in := in.(type) {
	case map[string]any:
		o, _ := out.(map[string]any)
		keys := make([]string, 0, len(in))
		for k := range in {
			keys = append(keys, k)
		}
		slices.Sort(keys) // report the same field every time
		for _, k := range keys {
			p := k
			if path != "" {
				p = path + "." + k
			}
			ov, ok := o[k]
			if !ok {
				if empty(in[k]) {
					continue
				}
				return p
			}
			if u := unknownPath(in[k], ov, p); u != "" {
				return u
			}
		}
	case []any:
		o, _ := out.([]any)
		for i, x := range in {
			if i < len(o) {
				if u := unknownPath(x, o[i], path+"["+strconv.Itoa(i)+"]"); u != "" {
					return u
				}
			}
		}
	}
	return ""
}

func empty(v any) bool {
	switch v := v.(type) {
	case nil:
		return true
	case bool:
		return !v
	case float64:
		return v == 0
	case string:
		return v == ""
	case []any:
		return len(v) == 0
	case map[string]any:
		return len(v) == 0
	}
	return false
}
