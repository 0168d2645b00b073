package runtime

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/solti-wasm/solti-wasm/abi"
	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

var (
	sigVoid   = engine.FuncType{}
	sigNoArgs = engine.FuncType{Results: []engine.ValueType{engine.I32}}
	sigInLen  = engine.FuncType{Params: []engine.ValueType{engine.I32}, Results: []engine.ValueType{engine.I32}}
)

// abiExports lists ABI v1's exports with their signatures and whether they are required.
var abiExports = []struct {
	name     string
	sig      engine.FuncType
	required bool
}{
	{abi.ExportMarker, sigVoid, true},
	{abi.ExportName, sigNoArgs, true},
	{abi.ExportSupports, sigInLen, true},
	{abi.ExportBuild, sigInLen, true},
	{abi.ExportDescribe, sigNoArgs, false},
	{abi.ExportRun, sigInLen, false},
	{abi.ExportInitialize, sigVoid, false},
}

var hostSigs = map[string]engine.FuncType{
	abi.ImportInput:  sigInput,
	abi.ImportOutput: sigOut,
	abi.ImportLog:    sigLog,
	abi.ImportEmit:   sigEmit, // optional, added within v1
}

// abiVersion returns the ABI version the module's marker export declares, or 0.
func abiVersion(exports []engine.Export) int {
	v := 0
	for _, e := range exports {
		if n, ok := strings.CutPrefix(e.Name, abi.MarkerPrefix); ok && e.Kind == engine.KindFunc && canonicalDecimal(n) {
			if x, err := strconv.Atoi(n); err == nil && x > 0 {
				if x == abi.Version {
					return x
				}
				v = x
			}
		}
	}
	return v
}

// canonicalDecimal reports whether s is a version as a marker writes it (ABI §3): decimal
// digits without a sign or a leading zero.
func canonicalDecimal(s string) bool {
	if s == "" || s[0] == '0' {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// badMarker returns the first export that looks like a version marker, digits after the
// prefix, but does not write its version canonically (solti_abi_v01), or "".
func badMarker(exports []engine.Export) string {
	for _, e := range exports {
		n, ok := strings.CutPrefix(e.Name, abi.MarkerPrefix)
		if !ok || e.Kind != engine.KindFunc || n == "" || canonicalDecimal(n) {
			continue
		}
		if strings.Trim(n, "0123456789") == "" || n[0] == '+' || n[0] == '-' {
			return e.Name
		}
	}
	return ""
}

// checkABI validates a compiled module against ABI v1: the version marker, the exports and
// their signatures, the memory, and the imports (only the solti host functions and WASI).
func checkABI(imports []engine.Import, exports []engine.Export, maxPages uint32) error {
	if bad := badMarker(exports); bad != "" {
		return errorf(ErrABIVersion, "export %s is not a version marker: the version after %s must be canonical decimal, without a sign or leading zeros (%s%d)", bad, abi.MarkerPrefix, abi.MarkerPrefix, abi.Version)
	}
	switch v := abiVersion(exports); {
	case v == 0:
		return errorf(ErrNotRunner, "no %s export (a solti runner exports this marker function)", abi.ExportMarker)
	case v != abi.Version:
		return errorf(ErrABIVersion, "module speaks solti ABI v%d (export %s%d); this host speaks v%d", v, abi.MarkerPrefix, v, abi.Version)
	}
	byName := make(map[string]engine.Export, len(exports))
	for _, e := range exports {
		byName[e.Name] = e
	}
	mem, ok := byName[abi.ExportMemory]
	if !ok || mem.Kind != engine.KindMemory {
		return errorf(ErrMissingExport, "no exported memory named %q", abi.ExportMemory)
	}
	if mem.MinPages > maxPages {
		return errorf(ErrMemoryLimit, "initial memory of %d pages exceeds the %d-page cap", mem.MinPages, maxPages)
	}
	for _, want := range abiExports {
		got, ok := byName[want.name]
		switch {
		case !ok && want.required:
			return errorf(ErrMissingExport, "no %s export (want func %s)", want.name, want.sig)
		case !ok:
		case got.Kind != engine.KindFunc:
			return errorf(ErrExportType, "export %s is a %s, want func %s", want.name, got.Kind, want.sig)
		case !got.Type.Equal(want.sig):
			return errorf(ErrExportType, "export %s has type %s, want %s", want.name, got.Type, want.sig)
		}
	}
	for _, im := range imports {
		switch {
		case im.Module == abi.HostModule:
			want, ok := hostSigs[im.Name]
			if !ok {
				return errorf(ErrForbiddenImport, "imports %s.%s, which ABI v1 does not define (it has input, output, log, emit)", im.Module, im.Name)
			}
			if im.Kind != engine.KindFunc || !im.Type.Equal(want) {
				return errorf(ErrForbiddenImport, "imports %s.%s as %s %s, want func %s", im.Module, im.Name, im.Kind, im.Type, want)
			}
		case im.Module == abi.WASIModule && im.Kind == engine.KindFunc:
			// Provided without files, network, env or args: see ABI.md, "Sandbox".
		default:
			return errorf(ErrForbiddenImport, "imports %s %s.%s; a runner may import only %s functions and %s",
				im.Kind, im.Module, im.Name, abi.HostModule, abi.WASIModule)
		}
	}
	return nil
}

func describeExports(exports []engine.Export) []string {
	out := make([]string, 0, len(exports))
	for _, e := range exports {
		if e.Kind == engine.KindFunc {
			out = append(out, fmt.Sprintf("%s: func %s", e.Name, e.Type))
		} else if e.Kind == engine.KindMemory {
			out = append(out, fmt.Sprintf("%s: memory (%d pages min)", e.Name, e.MinPages))
		} else {
			out = append(out, fmt.Sprintf("%s: %s", e.Name, e.Kind))
		}
	}
	return out
}

func describeImports(imports []engine.Import) []string {
	out := make([]string, 0, len(imports))
	for _, im := range imports {
		if im.Kind == engine.KindFunc {
			out = append(out, fmt.Sprintf("%s.%s: func %s", im.Module, im.Name, im.Type))
		} else {
			out = append(out, fmt.Sprintf("%s.%s: %s", im.Module, im.Name, im.Kind))
		}
	}
	return out
}
