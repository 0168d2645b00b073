package registry

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// OrderFileName is the order file the registry reads in the runners directory.
const OrderFileName = "runners.order"

// parseOrder reads an order file: one module file name per line, blank lines and # comments
// ignored. It returns each listed name's rank and one warning per line it ignored.
func parseOrder(data []byte) (map[string]int, []string) {
	rank := map[string]int{}
	var warnings []string
	sc := bufio.NewScanner(bytes.NewReader(data))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.ContainsAny(line, `/\`) || filepath.Ext(line) != ".wasm":
			warnings = append(warnings, fmt.Sprintf("line %d: %q: want a *.wasm file name of the directory", n, line))
		default:
			if _, dup := rank[line]; dup {
				warnings = append(warnings, fmt.Sprintf("line %d: %q is listed twice; the first line counts", n, line))
				continue
			}
			rank[line] = len(rank)
		}
	}
	return rank, warnings
}

// loadOrder sets r.rank from Config.Order or the order file. r.mu must be held.
func (r *Registry) loadOrder() {
	if r.cfg.Order != nil {
		r.rank, _ = parseOrder([]byte(strings.Join(r.cfg.Order, "\n")))
		return
	}
	data, err := os.ReadFile(filepath.Join(r.cfg.Dir, OrderFileName))
	if errors.Is(err, fs.ErrNotExist) {
		r.rank = nil
		return
	}
	if err != nil {
		r.log.Warn("order file ignored", "path", filepath.Join(r.cfg.Dir, OrderFileName), "err", err)
		r.rank = nil
		return
	}
	var warnings []string
	r.rank, warnings = parseOrder(data)
	for _, w := range warnings {
		r.log.Warn("order file: line ignored", "path", filepath.Join(r.cfg.Dir, OrderFileName), "detail", w)
	}
}

// comparePaths orders module files for routing: files the order lists first, in its order,
// then the others in lexical order of file name. r.mu must be held.
func (r *Registry) comparePaths(a, b string) int {
	ba, bb := filepath.Base(a), filepath.Base(b)
	ra, oka := r.rank[ba]
	rb, okb := r.rank[bb]
	switch {
	case oka && okb:
		return ra - rb
	case oka:
		return -1
	case okb:
		return 1
	}
	return strings.Compare(ba, bb)
}
