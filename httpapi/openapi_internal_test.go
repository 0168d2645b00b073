package httpapi

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"
)

// TestOpenAPICoversRoutes: the document's paths and methods are exactly the handler's
// routes, so neither can gain an operation the other lacks.
func TestOpenAPICoversRoutes(t *testing.T) {
	t.Parallel()
	b, err := OpenAPI()
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Fatalf("openapi %q", doc.OpenAPI)
	}
	var inDoc, inTable []string
	for p, item := range doc.Paths {
		for m := range item {
			if m != "parameters" {
				inDoc = append(inDoc, strings.ToUpper(m)+" "+p)
			}
		}
	}
	a := New(nil, nil, Options{}).(*api)
	for _, r := range a.table() {
		for _, o := range r.ops {
			inTable = append(inTable, o.method+" /"+strings.Join(r.segs, "/"))
		}
	}
	slices.Sort(inDoc)
	slices.Sort(inTable)
	if !slices.Equal(inDoc, inTable) {
		t.Fatalf("document and handler differ:\ndocument: %v\nhandler:  %v", inDoc, inTable)
	}
	// Each operation documents every query parameter the handler accepts.
	for _, r := range a.table() {
		for _, o := range r.ops {
			var op map[string]any
			_ = json.Unmarshal(doc.Paths["/"+strings.Join(r.segs, "/")][strings.ToLower(o.method)], &op)
			params, _ := op["parameters"].([]any)
			var names []string
			for _, p := range params {
				if m, ok := p.(map[string]any); ok && m["in"] == "query" {
					names = append(names, m["name"].(string))
				}
			}
			slices.Sort(names)
			want := slices.Clone(o.params)
			slices.Sort(want)
			if !slices.Equal(names, want) {
				t.Errorf("%s /%s: document has query parameters %v, handler %v", o.method, strings.Join(r.segs, "/"), names, want)
			}
		}
	}
}

func TestSelectorRoundTrip(t *testing.T) {
	t.Parallel()
	sel, err := ParseLabelSelector(" a = 1 , b==2,c != 3,d in (x, y),e notin(z),f,!g ")
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range sel.MatchExpressions {
		got = append(got, r.Key+" "+string(r.Operator)+" "+strings.Join(r.Values, "|"))
	}
	want := "a In 1,b In 2,c NotIn 3,d In x|y,e NotIn z,f Exists ,g DoesNotExist "
	if strings.Join(got, ",") != want {
		t.Fatalf("got %q", strings.Join(got, ","))
	}
	for _, bad := range []string{"a in (x", "a in ()", "=x", "a,", "a notin x", "!", "a=1,,b=2", "a=(x)"} {
		if _, err := ParseLabelSelector(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
	if s, err := ParseLabelSelector("  "); err != nil || len(s.MatchExpressions) != 0 {
		t.Fatalf("empty: %v %v", s, err)
	}
}
