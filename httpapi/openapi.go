package httpapi

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"

	"github.com/solti-wasm/solti-wasm/abi"
)

// openapiTemplate is the hand-written part of the document: paths, the API's own schemas.
//
//go:embed openapi.json
var openapiTemplate []byte

// OpenAPI returns the API's OpenAPI 3.1 document: openapi.json with the JSON Schemas of
// package abi merged into components.schemas (each $defs entry as abi.NAME, and the
// documents themselves as abi.document.task and abi.document.taskspec), so that the task spec's schema has one
// source, abi/schema. The tests validate every response they receive against it.
func OpenAPI() ([]byte, error) { return openapiDoc() }

var openapiDoc = sync.OnceValues(buildOpenAPI)

func buildOpenAPI() ([]byte, error) {
	var doc map[string]any
	if err := json.Unmarshal(openapiTemplate, &doc); err != nil {
		return nil, fmt.Errorf("openapi.json: %w", err)
	}
	comps, _ := doc["components"].(map[string]any)
	schemas, _ := comps["schemas"].(map[string]any)
	if schemas == nil {
		return nil, fmt.Errorf("openapi.json: no components.schemas")
	}
	for _, name := range []string{"task", "taskspec"} {
		raw, err := abi.Schema(name)
		if err != nil {
			return nil, err
		}
		var s map[string]any
		if err := json.Unmarshal(raw, &s); err != nil {
			return nil, fmt.Errorf("abi schema %s: %w", name, err)
		}
		rewriteRefs(s)
		defs, _ := s["$defs"].(map[string]any)
		for k, v := range defs {
			key := "abi." + k
			if prev, ok := schemas[key]; ok && !jsonEqual(prev, v) {
				return nil, fmt.Errorf("abi schemas task and taskspec define %s differently", k)
			}
			schemas[key] = v
		}
		for _, k := range []string{"$defs", "$schema", "$id"} {
			delete(s, k)
		}
		schemas["abi.document."+name] = s
	}
	return json.MarshalIndent(doc, "", "  ")
}

// rewriteRefs points a schema's "#/$defs/X" references at "#/components/schemas/abi.X".
func rewriteRefs(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" && strings.HasPrefix(s, "#/$defs/") {
				v[k] = "#/components/schemas/abi." + strings.TrimPrefix(s, "#/$defs/")
				continue
			}
			rewriteRefs(x)
		}
	case []any:
		for _, x := range v {
			rewriteRefs(x)
		}
	}
}

func jsonEqual(a, b any) bool {
	x, _ := json.Marshal(a)
	y, _ := json.Marshal(b)
	return string(x) == string(y)
}

func (a *api) openapi(w http.ResponseWriter, r *http.Request, c *call) error {
	doc, err := OpenAPI()
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(doc)
	return nil
}
