package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// maxManifestBytes bounds a manifest file: the server takes bodies up to 4 MiB.
const maxManifestBytes = 4 << 20

// readManifests reads the task manifests of -f FILE ("-": stdin): a JSON document, or YAML
// (one document or several, separated by ---), each converted to JSON with its keys in the
// file's order. Errors name the file and, for YAML, the line.
func readManifests(path string, stdin io.Reader) ([][]byte, error) {
	var data []byte
	var err error
	if path == "-" {
		data, err = io.ReadAll(io.LimitReader(stdin, maxManifestBytes+1))
	} else {
		data, err = readLimited(path)
	}
	if err != nil {
		return nil, fail(ExitInvalidTask, "-f %s: %v", path, err)
	}
	if len(data) > maxManifestBytes {
		return nil, fail(ExitInvalidTask, "-f %s: larger than %d bytes (the server's body limit)", path, maxManifestBytes)
	}
	ext := strings.ToLower(filepath.Ext(path))
	if ext == ".json" || ext != ".yaml" && ext != ".yml" && bytes.HasPrefix(bytes.TrimSpace(data), []byte("{")) {
		if !json.Valid(data) {
			var v any
			err := json.Unmarshal(data, &v)
			return nil, fail(ExitInvalidTask, "-f %s: not valid JSON: %v", path, err)
		}
		return [][]byte{bytes.TrimSpace(data)}, nil
	}
	docs, err := yamlToJSON(data)
	if err != nil {
		return nil, fail(ExitInvalidTask, "-f %s: %v", path, err)
	}
	if len(docs) == 0 {
		return nil, fail(ExitInvalidTask, "-f %s: no manifest in it", path)
	}
	return docs, nil
}

func readLimited(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return io.ReadAll(io.LimitReader(f, maxManifestBytes+1))
}

// yamlToJSON converts each document of a YAML stream to JSON.
func yamlToJSON(data []byte) ([][]byte, error) {
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var out [][]byte
	for {
		var n yaml.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			return nil, fmt.Errorf("not valid YAML: %s", strings.TrimPrefix(err.Error(), "yaml: "))
		}
		if len(n.Content) == 0 || n.Content[0].ShortTag() == "!!null" && n.Content[0].Value == "" {
			continue // an empty document (a trailing ---)
		}
		var b bytes.Buffer
		if err := nodeJSON(&b, n.Content[0], 0); err != nil {
			return nil, fmt.Errorf("document %d: %w", len(out)+1, err)
		}
		out = append(out, b.Bytes())
	}
}

// maxYAMLDepth bounds nesting (and alias expansion) of a YAML manifest, as the server bounds
// JSON's.
const maxYAMLDepth = 128

// nodeJSON writes a YAML node as JSON: mappings as objects (string keys only), sequences as
// arrays, scalars by their resolved tag.
func nodeJSON(b *bytes.Buffer, n *yaml.Node, depth int) error {
	if depth > maxYAMLDepth {
		return fmt.Errorf("line %d: nested deeper than %d", n.Line, maxYAMLDepth)
	}
	switch n.Kind {
	case yaml.AliasNode:
		return nodeJSON(b, n.Alias, depth+1)
	case yaml.MappingNode:
		b.WriteByte('{')
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, v := n.Content[i], n.Content[i+1]
			if k.Kind != yaml.ScalarNode || k.Tag == "!!merge" {
				return fmt.Errorf("line %d: a mapping key must be a plain string", k.Line)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			key, _ := json.Marshal(k.Value)
			b.Write(key)
			b.WriteByte(':')
			if err := nodeJSON(b, v, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case yaml.SequenceNode:
		b.WriteByte('[')
		for i, c := range n.Content {
			if i > 0 {
				b.WriteByte(',')
			}
			if err := nodeJSON(b, c, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case yaml.ScalarNode:
		return scalarJSON(b, n)
	default:
		return fmt.Errorf("line %d: unexpected YAML node", n.Line)
	}
	return nil
}

func scalarJSON(b *bytes.Buffer, n *yaml.Node) error {
	switch n.ShortTag() {
	case "!!null":
		b.WriteString("null")
	case "!!bool":
		var v bool
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		b.WriteString(strconv.FormatBool(v))
	case "!!int":
		var v int64
		if err := n.Decode(&v); err != nil {
			var u uint64
			if err2 := n.Decode(&u); err2 != nil {
				return fmt.Errorf("line %d: integer %s: %v", n.Line, n.Value, err)
			}
			b.WriteString(strconv.FormatUint(u, 10))
			return nil
		}
		b.WriteString(strconv.FormatInt(v, 10))
	case "!!float":
		var v float64
		if err := n.Decode(&v); err != nil {
			return fmt.Errorf("line %d: %v", n.Line, err)
		}
		if math.IsInf(v, 0) || math.IsNaN(v) {
			return fmt.Errorf("line %d: %s has no JSON form", n.Line, n.Value)
		}
		b.WriteString(strconv.FormatFloat(v, 'g', -1, 64))
	case "!!str", "!!timestamp":
		s, _ := json.Marshal(n.Value)
		b.Write(s)
	default:
		return fmt.Errorf("line %d: YAML tag %s has no JSON form", n.Line, n.Tag)
	}
	return nil
}

// jsonToYAML writes a JSON value as YAML, keys in their JSON order (YAML reads JSON, so
// the node tree is the JSON's; it is re-emitted in block style).
func jsonToYAML(w io.Writer, data []byte) error {
	var n yaml.Node
	if err := yaml.Unmarshal(data, &n); err != nil {
		return err
	}
	clearStyle(&n)
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(&n); err != nil {
		return err
	}
	return enc.Close()
}

// clearStyle drops the flow style of JSON's braces and brackets, and the quotes of strings
// that need none.
func clearStyle(n *yaml.Node) {
	if n.Kind != yaml.ScalarNode {
		n.Style = 0
	} else if n.Style == yaml.DoubleQuotedStyle {
		n.Style = 0
	}
	for _, c := range n.Content {
		clearStyle(c)
	}
}
