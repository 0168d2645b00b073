package abi

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// corpusCase is one document of testdata/schema/DOC.txt.
type corpusCase struct {
	name  string
	ok    bool
	field string // the field a refusal must name
	// decoderOnly: refused by the decoder, beyond what JSON Schema can see (duplicate keys,
	// nesting depth), so the schema accepts it.
	decoderOnly bool
	doc         []byte
}

func readCorpus(t testing.TB, doc string) []corpusCase {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "schema", doc+".txt"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var cases []corpusCase
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "-- ") && strings.HasSuffix(line, " --"):
			h := strings.TrimSuffix(strings.TrimPrefix(line, "-- "), " --")
			verdict, rest, _ := strings.Cut(h, " ")
			c := corpusCase{name: rest}
			switch verdict {
			case "ok":
				c.ok = true
			case "bad", "bad!":
				c.decoderOnly = verdict == "bad!"
				i := strings.LastIndex(rest, ": ")
				if i < 0 {
					t.Fatalf("%s: header %q names no field", doc, line)
				}
				c.name, c.field = rest[:i], rest[i+2:]
			default:
				t.Fatalf("%s: bad header %q", doc, line)
			}
			cases = append(cases, c)
		default:
			if len(cases) == 0 {
				t.Fatalf("%s: text before the first header", doc)
			}
			c := &cases[len(cases)-1]
			c.doc = append(append(c.doc, line...), '\n')
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return cases
}

// parseDoc runs the decoder that reads doc.
func parseDoc(doc string, data []byte) error {
	var err error
	switch doc {
	case "taskspec":
		_, err = ParseTaskSpec(data)
	case "task":
		_, err = ParseTask(data)
	case "plan":
		_, err = ParsePlan(data)
	case "description":
		_, err = ParseDescription(data)
	default:
		panic(doc)
	}
	return err
}

func compileSchema(t testing.TB, name string) *jsonschema.Schema {
	t.Helper()
	raw, err := Schema(name)
	if err != nil {
		t.Fatal(err)
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("schema %s is not JSON: %v", name, err)
	}
	c := jsonschema.NewCompiler()
	c.DefaultDraft(jsonschema.Draft2020)
	url := "urn:solti-wasm:abi:v1:" + name
	if err := c.AddResource(url, v); err != nil {
		t.Fatal(err)
	}
	s, err := c.Compile(url)
	if err != nil {
		t.Fatalf("schema %s does not compile: %v", name, err)
	}
	return s
}

// TestSchemasAgreeWithDecoder validates every document of the committed corpus with a real
// JSON Schema validator and with the decoder: both accept the good ones, both refuse the bad
// ones (save the few refusals JSON Schema cannot express), and every refusal names its field.
func TestSchemasAgreeWithDecoder(t *testing.T) {
	for _, doc := range SchemaNames() {
		t.Run(doc, func(t *testing.T) {
			schema := compileSchema(t, doc)
			cases := readCorpus(t, doc)
			if len(cases) < 5 {
				t.Fatalf("corpus %s has only %d documents", doc, len(cases))
			}
			for _, c := range cases {
				decErr := parseDoc(doc, c.doc)
				inst, jerr := jsonschema.UnmarshalJSON(bytes.NewReader(c.doc))
				var schemaErr error
				if jerr == nil {
					schemaErr = schema.Validate(inst)
				}
				switch {
				case c.ok:
					if decErr != nil {
						t.Errorf("%s: decoder refuses a good document: %v", c.name, decErr)
					}
					if schemaErr != nil || jerr != nil {
						t.Errorf("%s: schema refuses a good document: %v %v", c.name, jerr, schemaErr)
					}
				default:
					if decErr == nil {
						t.Errorf("%s: decoder accepts a bad document", c.name)
						continue
					}
					if !namesField(decErr, c.field) {
						t.Errorf("%s: error %q does not name %s", c.name, decErr, c.field)
					}
					if c.decoderOnly {
						continue
					}
					if schemaErr == nil && jerr == nil {
						t.Errorf("%s: schema accepts a document the decoder refuses with %q", c.name, decErr)
					}
				}
			}
		})
	}
}

// namesField: a *ValidationError on field, or for "(document)" any error about the document
// as a whole (syntax, depth, duplicates).
func namesField(err error, field string) bool {
	var ve *ValidationError
	if errors.As(err, &ve) {
		return ve.Field == field || strings.HasPrefix(err.Error(), field+": ") ||
			strings.HasPrefix(err.Error(), "describe output: "+field+": ")
	}
	if field == "(document)" {
		var se *SyntaxError
		return errors.As(err, &se)
	}
	return strings.Contains(err.Error(), field+": ")
}

func TestSchemaAccessor(t *testing.T) {
	if got, want := fmt.Sprint(SchemaNames()), "[description plan task taskspec]"; got != want {
		t.Fatalf("SchemaNames() = %s, want %s", got, want)
	}
	if _, err := Schema("nope"); err == nil || !strings.Contains(err.Error(), `no schema "nope" (want one of description, plan, task, taskspec)`) {
		t.Fatalf("Schema(nope) = %v", err)
	}
}
