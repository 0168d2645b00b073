// Package tenant reads the serve command's tenants: the YAML config (--config) with each
// tenant's name, hashed bearer token, runners directory, limits and capabilities, and the
// no-config mode's single tenant with a generated token. A *Set authenticates bearer tokens
// (httpapi.Authenticator) and hands the host its []host.Tenant.
package tenant

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/solti-wasm/solti-wasm/executor"
	"github.com/solti-wasm/solti-wasm/host"
)

// ErrConfig is matched (errors.Is) by every error of Parse and Load.
var ErrConfig = errors.New("invalid tenants config")

// ConfigError is one problem of a config: where (the file, the line when known, the field
// path) and what.
type ConfigError struct {
	File  string // the config file; "" when parsed from memory
	Line  int    // 0 when unknown
	Field string // tenants[1].limits.callTimeout; "" for the document
	Msg   string
}

func (e *ConfigError) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString("config")
	}
	if e.Line > 0 {
		fmt.Fprintf(&b, ":%d", e.Line)
	}
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// Is makes every ConfigError match ErrConfig.
func (e *ConfigError) Is(target error) bool { return target == ErrConfig }

// Config is a parsed, validated tenants config.
type Config struct {
	// Listen is the address serve listens on when --listen is not given; "" when unset.
	Listen string
	// SharedRunners is the directory of runners every tenant routes to after its own; "".
	SharedRunners string
	Tenants       []host.Tenant
	// hashes[i] is Tenants[i]'s token hash.
	hashes [][32]byte
}

// The YAML documents. Every field is spelled out so that KnownFields refuses any other key
// (a misspelt limit must not silently mean "no limit").
type configDoc struct {
	Listen        string      `yaml:"listen"`
	SharedRunners string      `yaml:"sharedRunners"`
	Tenants       []tenantDoc `yaml:"tenants"`
}

type tenantDoc struct {
	Name         string          `yaml:"name"`
	TokenSha256  string          `yaml:"tokenSha256"`
	Runners      string          `yaml:"runners"`
	Limits       limitsDoc       `yaml:"limits"`
	Capabilities capabilitiesDoc `yaml:"capabilities"`
}

type limitsDoc struct {
	MaxRunning          int     `yaml:"maxRunning"`
	MaxQueued           int     `yaml:"maxQueued"`
	CreateRate          float64 `yaml:"createRate"`
	CreateBurst         int     `yaml:"createBurst"`
	MaxMemoryPages      int64   `yaml:"maxMemoryPages"`
	MaxTotalMemoryPages int64   `yaml:"maxTotalMemoryPages"`
	CallFuel            int64   `yaml:"callFuel"`
	RunFuel             int64   `yaml:"runFuel"`
	CallTimeout         string  `yaml:"callTimeout"`
	MaxOutputBytes      int     `yaml:"maxOutputBytes"`
}

type capabilitiesDoc struct {
	Exec       []string `yaml:"exec"`
	ExecEnv    []string `yaml:"execEnv"`
	ExecCwd    []string `yaml:"execCwd"`
	WasiDir    string   `yaml:"wasiDir"`
	WasiMounts []string `yaml:"wasiMounts"`
	Env        []string `yaml:"env"`
}

// maxPages is the most 64 KiB pages a 32-bit memory has (4 GiB).
const maxPages = 65536

// dnsLabel is a DNS-1123 label: a tenant's name labels meters and appears in paths.
var dnsLabel = regexp.MustCompile(`^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$`)

// Load reads and validates the config file at path. Relative directories in it are taken
// from the file's own directory, so that the config means the same wherever serve starts.
func Load(path string) (*Config, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, &ConfigError{File: path, Msg: err.Error()}
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, &ConfigError{File: path, Msg: err.Error()}
	}
	return parse(data, path, filepath.Dir(abs))
}

// Parse validates a config held in memory; relative directories are taken from baseDir.
func Parse(data []byte, baseDir string) (*Config, error) { return parse(data, "", baseDir) }

func parse(data []byte, file, baseDir string) (*Config, error) {
	var doc configDoc
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &ConfigError{File: file, Msg: "empty: want a document with tenants"}
		}
		return nil, yamlError(file, err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, &ConfigError{File: file, Line: extra.Line, Msg: "a second YAML document: the config is one document"}
	}
	// A second decode into nodes gives each tenant's line, for the errors validation finds.
	var root yaml.Node
	_ = yaml.Unmarshal(data, &root)
	p := &parser{file: file, base: baseDir, lines: tenantLines(&root)}
	return p.config(&doc)
}

// yamlError makes the decoder's error (which may list several, one a line) a ConfigError of
// the first, keeping its line.
func yamlError(file string, err error) error {
	var te *yaml.TypeError
	msg := err.Error()
	if errors.As(err, &te) && len(te.Errors) > 0 {
		msg = te.Errors[0]
		if len(te.Errors) > 1 {
			msg += fmt.Sprintf(" (and %d more)", len(te.Errors)-1)
		}
	}
	msg = strings.TrimPrefix(msg, "yaml: ")
	line := 0
	if rest, ok := strings.CutPrefix(msg, "line "); ok {
		if n, tail, ok := strings.Cut(rest, ": "); ok {
			if _, err := fmt.Sscanf(n, "%d", &line); err == nil {
				msg = tail
			}
		}
	}
	// The decoder names Go types ("in type tenant.limitsDoc"); the reader knows only keys.
	if i := strings.Index(msg, " in type tenant."); i >= 0 {
		msg = msg[:i]
	}
	return &ConfigError{File: file, Line: line, Msg: msg}
}

// tenantLines returns, for each item of the tenants sequence, the line it starts on and the
// lines of its keys (nested keys as "limits.callTimeout").
func tenantLines(root *yaml.Node) []map[string]int {
	if root.Kind != yaml.DocumentNode || len(root.Content) == 0 {
		return nil
	}
	top := root.Content[0]
	var out []map[string]int
	for i := 0; i+1 < len(top.Content); i += 2 {
		if top.Content[i].Value != "tenants" || top.Content[i+1].Kind != yaml.SequenceNode {
			continue
		}
		for _, item := range top.Content[i+1].Content {
			m := map[string]int{"": item.Line}
			keyLines(item, "", m)
			out = append(out, m)
		}
	}
	return out
}

func keyLines(n *yaml.Node, prefix string, m map[string]int) {
	if n.Kind != yaml.MappingNode {
		return
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := prefix + n.Content[i].Value
		m[k] = n.Content[i].Line
		keyLines(n.Content[i+1], k+".", m)
	}
}

type parser struct {
	file, base string
	lines      []map[string]int
}

// errAt is a ConfigError about tenants[i]'s field (a key path inside it, "" for the item).
func (p *parser) errAt(i int, field, format string, args ...any) error {
	line := 0
	if i < len(p.lines) {
		if l, ok := p.lines[i][field]; ok {
			line = l
		} else {
			line = p.lines[i][""]
		}
	}
	name := fmt.Sprintf("tenants[%d]", i)
	if field != "" {
		name += "." + field
	}
	return &ConfigError{File: p.file, Line: line, Field: name, Msg: fmt.Sprintf(format, args...)}
}

// dir resolves a directory of the config and checks that it is one.
func (p *parser) dir(d string) (string, error) {
	if !filepath.IsAbs(d) {
		d = filepath.Join(p.base, d)
	}
	fi, err := os.Stat(d)
	if err != nil {
		return "", err
	}
	if !fi.IsDir() {
		return "", fmt.Errorf("%s is not a directory", d)
	}
	return filepath.Clean(d), nil
}

func (p *parser) config(doc *configDoc) (*Config, error) {
	c := &Config{Listen: doc.Listen}
	if doc.SharedRunners != "" {
		d, err := p.dir(doc.SharedRunners)
		if err != nil {
			return nil, &ConfigError{File: p.file, Field: "sharedRunners", Msg: err.Error()}
		}
		c.SharedRunners = d
	}
	if len(doc.Tenants) == 0 {
		return nil, &ConfigError{File: p.file, Field: "tenants", Msg: "none: the config needs at least one tenant"}
	}
	names := map[string]int{}
	tokens := map[[32]byte]int{}
	for i := range doc.Tenants {
		t, h, err := p.tenant(i, &doc.Tenants[i])
		if err != nil {
			return nil, err
		}
		if j, ok := names[t.Name]; ok {
			return nil, p.errAt(i, "name", "%q is also tenants[%d]'s name", t.Name, j)
		}
		if j, ok := tokens[h]; ok {
			return nil, p.errAt(i, "tokenSha256", "the same token hash as tenants[%d] (%s): each tenant needs its own token", j, doc.Tenants[j].Name)
		}
		names[t.Name], tokens[h] = i, i
		c.Tenants = append(c.Tenants, t)
		c.hashes = append(c.hashes, h)
	}
	return c, nil
}

func (p *parser) tenant(i int, d *tenantDoc) (host.Tenant, [32]byte, error) {
	var h [32]byte
	t := host.Tenant{Name: d.Name}
	if !dnsLabel.MatchString(d.Name) {
		return t, h, p.errAt(i, "name", "%q must be a DNS-1123 label: 1 to 63 characters of [a-z0-9-], starting and ending with a letter or digit", d.Name)
	}
	hash, err := ParseHash(d.TokenSha256)
	if err != nil {
		return t, h, p.errAt(i, "tokenSha256", "%v (make one with: solti-wasm token new)", err)
	}
	h = hash
	if d.Runners == "" {
		return t, h, p.errAt(i, "runners", "missing: each tenant needs its own runners directory")
	}
	if t.Runners, err = p.dir(d.Runners); err != nil {
		return t, h, p.errAt(i, "runners", "%v", err)
	}
	if t.Limits, err = p.limits(i, &d.Limits); err != nil {
		return t, h, err
	}
	if t.Capabilities, err = p.capabilities(i, &d.Capabilities); err != nil {
		return t, h, err
	}
	return t, h, nil
}

func (p *parser) limits(i int, d *limitsDoc) (host.Limits, error) {
	l := host.Limits{
		MaxRunning: d.MaxRunning, MaxQueued: d.MaxQueued, CreateRate: d.CreateRate, CreateBurst: d.CreateBurst,
		CallFuel: d.CallFuel, RunFuel: d.RunFuel, MaxOutputBytes: d.MaxOutputBytes,
	}
	for _, n := range []struct {
		field string
		v     float64
	}{
		{"maxRunning", float64(d.MaxRunning)}, {"maxQueued", float64(d.MaxQueued)},
		{"createRate", d.CreateRate}, {"createBurst", float64(d.CreateBurst)},
		{"maxMemoryPages", float64(d.MaxMemoryPages)}, {"maxTotalMemoryPages", float64(d.MaxTotalMemoryPages)},
		{"callFuel", float64(d.CallFuel)}, {"runFuel", float64(d.RunFuel)}, {"maxOutputBytes", float64(d.MaxOutputBytes)},
	} {
		if n.v < 0 {
			return l, p.errAt(i, "limits."+n.field, "%v: must be >= 0 (0 takes the host's default)", n.v)
		}
	}
	if d.MaxMemoryPages > maxPages {
		return l, p.errAt(i, "limits.maxMemoryPages", "%d: at most %d (4 GiB)", d.MaxMemoryPages, maxPages)
	}
	if d.MaxTotalMemoryPages > 0 && d.MaxTotalMemoryPages < d.MaxMemoryPages {
		return l, p.errAt(i, "limits.maxTotalMemoryPages", "%d is below maxMemoryPages (%d): no instance could have its full memory", d.MaxTotalMemoryPages, d.MaxMemoryPages)
	}
	if d.MaxTotalMemoryPages > 1<<32-1 {
		return l, p.errAt(i, "limits.maxTotalMemoryPages", "%d: too large", d.MaxTotalMemoryPages)
	}
	l.MaxMemoryPages, l.MaxTotalMemoryPages = uint32(d.MaxMemoryPages), uint32(d.MaxTotalMemoryPages)
	if d.CallTimeout != "" {
		ct, err := time.ParseDuration(d.CallTimeout)
		if err != nil {
			return l, p.errAt(i, "limits.callTimeout", "%q: not a Go duration such as 5s or 250ms", d.CallTimeout)
		}
		if ct < 0 {
			return l, p.errAt(i, "limits.callTimeout", "%q: must be >= 0 (0 takes the host's default)", d.CallTimeout)
		}
		l.CallTimeout = ct
	}
	return l, nil
}

func (p *parser) capabilities(i int, d *capabilitiesDoc) (host.Capabilities, error) {
	c := host.Capabilities{Exec: d.Exec, ExecEnv: d.ExecEnv, Env: d.Env}
	for j, e := range d.Exec {
		if e == "" {
			return c, p.errAt(i, "capabilities.exec", "[%d] is empty: name a command", j)
		}
	}
	if err := executor.ValidatePatterns(d.ExecEnv); err != nil {
		return c, p.errAt(i, "capabilities.execEnv", "%v", err)
	}
	for j, name := range d.Env {
		if name == "" || strings.ContainsAny(name, "=\x00") {
			return c, p.errAt(i, "capabilities.env", "[%d] %q: want an environment variable name", j, name)
		}
	}
	for j, cwd := range d.ExecCwd {
		dir, err := p.dir(cwd)
		if err != nil {
			return c, p.errAt(i, "capabilities.execCwd", "[%d]: %v", j, err)
		}
		c.ExecCwd = append(c.ExecCwd, dir)
	}
	if d.WasiDir != "" {
		dir, err := p.dir(d.WasiDir)
		if err != nil {
			return c, p.errAt(i, "capabilities.wasiDir", "%v", err)
		}
		c.WasiDir = dir
	}
	guests := map[string]string{}
	for j, m := range d.WasiMounts {
		g, err := executor.ParseMountGrant(m)
		if err != nil {
			return c, p.errAt(i, "capabilities.wasiMounts", "[%d]: %v", j, err)
		}
		if g.Host, err = p.dir(g.Host); err != nil {
			return c, p.errAt(i, "capabilities.wasiMounts", "[%d] %q: %v", j, m, err)
		}
		if prev, ok := guests[g.Guest]; ok {
			return c, p.errAt(i, "capabilities.wasiMounts", "[%d] %q: %s is already granted (%s)", j, m, g.Guest, prev)
		}
		guests[g.Guest] = m
		c.WasiMounts = append(c.WasiMounts, g.String())
	}
	return c, nil
}

// ParseHash reads a tokenSha256: 64 hex digits (either case).
func ParseHash(s string) ([32]byte, error) {
	var h [32]byte
	if s == "" {
		return h, errors.New("missing: the hex SHA-256 of the tenant's bearer token")
	}
	b, err := hex.DecodeString(s)
	if err != nil || len(b) != len(h) {
		return h, fmt.Errorf("%q: want 64 hex digits, the SHA-256 of the bearer token", s)
	}
	copy(h[:], b)
	return h, nil
}
