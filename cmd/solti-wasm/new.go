package main

import (
	"bufio"
	"bytes"
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	goruntime "runtime"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/spf13/cobra"

	soltiwasm "github.com/solti-wasm/solti-wasm"
	"github.com/solti-wasm/solti-wasm/abi"
	guestsdk "github.com/solti-wasm/solti-wasm/guest-sdk"
)

// The project templates: templates/LANG/ holds each language's own files, templates/ the
// shared ones (README, task, .gitignore). File names end in .tmpl, so that the Go and Rust
// sources are not compiled as part of this module.
//
//go:embed templates
var templates embed.FS

// sdkModule is the module whose Go SDK a Go runner imports.
const sdkModule = "github.com/solti-wasm/solti-wasm"

var newLangs = []string{"go", "rust", "c", "assemblyscript"}

type newFlags struct {
	lang     string
	dir      string
	kind     string
	checkout string
}

func newNewCmd(o *globalOptions) *cobra.Command {
	var f newFlags
	cmd := &cobra.Command{
		Use:   "new --lang go|rust|c|assemblyscript NAME",
		Short: "Scaffold a runner project in Go, Rust, C or AssemblyScript",
		Long: `Writes a runner project to DIR (default ./NAME): a runner named NAME for the extension
kind --kind (default: NAME in lower case), whose build turns {"text":"…"} into a guest plan and
whose run answers {"greeting":"hello, …"}; a README with the build command; task.json to try it.
The project builds as generated and passes solti-wasm inspect.

Every SDK is copied into the project, so that it builds anywhere with no network: Rust's
in solti/, C's as solti.h, AssemblyScript's in assembly/solti/, and Go's (with the abi
package it imports) as a module in ` + vendorDir + `/, of this binary's version, which
go.mod's replace directive names. When DIR or the working directory lies in a solti-wasm
checkout (or --solti-wasm names one), a Go project's replace names that checkout instead.`,
		Example: `  solti-wasm new --lang rust http-probe
  solti-wasm new --lang c --dir ~/src/my-runner my-runner`,
		Args: exactArgs("NAME"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return newProject(o, &f, args[0])
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&f.lang, "lang", "", "language of the project: "+strings.Join(newLangs, ", ")+" (required)")
	fl.StringVar(&f.dir, "dir", "", "directory to create (default ./NAME); it must not exist or be empty")
	fl.StringVar(&f.kind, "kind", "", "the extension kind the runner handles (default: NAME in lower case)")
	fl.StringVar(&f.checkout, "solti-wasm", "", "a solti-wasm checkout for a Go project's replace directive (default: found above DIR or the working directory)")
	return cmd
}

// projectData fills the templates.
type projectData struct {
	Name, Kind, Ident, Lang string
	Module                  string // the built module, relative to the project
	BuildCommand, BuildNote string
	Ignore                  string // .gitignore lines besides *.wasm
	GoVersion, SDKVersion   string
	Replace, ReplaceNote    string // a Go project's replace directive, and why
}

func newProject(o *globalOptions, f *newFlags, name string) error {
	if f.lang == "" {
		return usageError("--lang is required: one of %s", strings.Join(newLangs, ", "))
	}
	if !slices.Contains(newLangs, f.lang) {
		return usageError("--lang %q: want one of %s", f.lang, strings.Join(newLangs, ", "))
	}
	if !abi.ValidSlot(name) {
		return usageError("runner name %q: want 1 to 64 characters of [A-Za-z0-9._-], not . or ..", name)
	}
	kind := f.kind
	if kind == "" {
		kind = strings.ToLower(strings.ReplaceAll(name, "_", "-"))
	}
	if !abi.ValidKindType(kind) {
		return usageError("kind %q: an extension kind is 1-128 characters of [a-z0-9._/-], starting and ending with a letter or digit, and not a solti kind (--kind sets it)", kind)
	}
	dir := f.dir
	if dir == "" {
		dir = name
	}
	if entries, err := os.ReadDir(dir); err == nil && len(entries) > 0 {
		return usageError("--dir %s: exists and is not empty", dir)
	}

	ident := strings.ToLower(strings.ReplaceAll(name, ".", "-"))
	d := projectData{Name: name, Kind: kind, Ident: ident, Lang: f.lang}
	files := map[string][]byte{} // project path -> content
	switch f.lang {
	case "go":
		if err := goProject(f, dir, &d, files); err != nil {
			return err
		}
	case "rust":
		crate := strings.ReplaceAll(ident, "-", "_")
		d.Module = "target/wasm32-unknown-unknown/release/" + crate + ".wasm"
		d.BuildCommand, d.BuildNote = rustBuild()
		d.BuildNote += " The SDK is vendored in `solti/` (no crates.io); its README documents the API."
		d.Ignore = "target/"
		if err := copySDK(files, "rust", "solti", []string{"Cargo.toml", "README.md", "src"}); err != nil {
			return err
		}
	case "c":
		d.Module = ident + ".wasm"
		d.BuildCommand = "clang --target=wasm32 -O2 -mbulk-memory -nostdlib -Wl,--no-entry -Wl,--strip-all -o " + d.Module + " runner.c"
		d.BuildNote = "Debian: `apt-get install clang lld` (freestanding, no libc). `make` runs the same command. " +
			"`solti.h` is the SDK, header-only; with wasi-libc, build with `--target=wasm32-wasi -mexec-model=reactor` instead of `--target=wasm32 -nostdlib`."
		if err := copySDK(files, "c", "", []string{"solti.h"}); err != nil {
			return err
		}
	case "assemblyscript":
		d.Module = ident + ".wasm"
		d.BuildCommand = "npm install\nnpm run build"
		d.BuildNote = "AssemblyScript 0.28.20, pinned in package.json. The SDK is vendored in `assembly/solti/`."
		d.Ignore = "node_modules/"
		if err := copySDK(files, "assemblyscript/assembly", "assembly/solti", nil); err != nil {
			return err
		}
	}
	if err := renderTemplates(files, f.lang, &d); err != nil {
		return err
	}
	for _, p := range slices.Sorted(maps.Keys(files)) {
		dst := filepath.Join(dir, filepath.FromSlash(p))
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			return fail(ExitFailure, "%v", err)
		}
		if err := os.WriteFile(dst, files[p], 0o644); err != nil {
			return fail(ExitFailure, "%v", err)
		}
	}
	fmt.Fprintf(o.stdout, "created %s (%s runner %q for kind %q)\n\nbuild it:\n    cd %s\n", dir, f.lang, name, kind, dir)
	for _, line := range strings.Split(d.BuildCommand, "\n") {
		fmt.Fprintf(o.stdout, "    %s\n", line)
	}
	fmt.Fprintf(o.stdout, "    solti-wasm inspect %s\n", d.Module)
	return nil
}

// vendorDir is where a Go project gets its copy of the SDK's module, relative to the project.
const vendorDir = "third_party/solti-wasm"

// goProject fills the Go specifics: the module's go version, and how go.mod finds the SDK.
// Outside a checkout (and without --solti-wasm) the project gets the SDK of this binary's
// version as a vendored module under vendorDir, with a replace directive to it: the module is
// on no proxy, and the vendored copy needs none.
func goProject(f *newFlags, dir string, d *projectData, files map[string][]byte) error {
	d.Module = d.Ident + ".wasm"
	d.BuildCommand = "go mod tidy\nGOOS=wasip1 GOARCH=wasm go build -trimpath -buildvcs=false -buildmode=c-shared -o " + d.Module + " ."
	d.GoVersion = "1.26"
	if v := strings.TrimPrefix(goruntime.Version(), "go"); v != "" && v[0] >= '0' && v[0] <= '9' {
		d.GoVersion = v
	}
	d.SDKVersion = "v" + Version
	checkout := f.checkout
	if checkout == "" {
		for _, start := range []string{dir, "."} {
			if c := findCheckout(start); c != "" {
				checkout = c
				break
			}
		}
	} else if findCheckout(checkout) != mustAbs(checkout) {
		return usageError("--solti-wasm %s: not a solti-wasm checkout (no go.mod of module %s)", checkout, sdkModule)
	}
	const reactor = "A Go runner must be a WASI reactor (`-buildmode=c-shared`); `go mod tidy` needs no network."
	if checkout == "" {
		if err := vendorGoSDK(files, d.SDKVersion); err != nil {
			return err
		}
		d.Replace = "./" + vendorDir
		d.ReplaceNote = "The SDK (solti-wasm " + d.SDKVersion + ") is vendored in " + vendorDir + ", as the module is on no proxy."
		d.BuildNote = "The Go SDK and the `abi` package it uses are vendored in `" + vendorDir + "` (solti-wasm " + d.SDKVersion +
			", the version of the `solti-wasm` that generated this project), and go.mod replaces " + sdkModule + " with them. " + reactor
		return nil
	}
	rel, err := filepath.Rel(mustAbs(dir), checkout)
	if err != nil {
		rel = checkout
	}
	rel = filepath.ToSlash(rel)
	if !filepath.IsAbs(rel) && rel != ".." && !strings.HasPrefix(rel, "../") {
		rel = "./" + rel
	}
	d.Replace = rel
	d.ReplaceNote = "The SDK comes from a solti-wasm checkout."
	d.BuildNote = "go.mod replaces " + sdkModule + " with the checkout at `" + d.Replace + "`. " + reactor
	return nil
}

// vendorGoSDK writes the Go SDK and the abi package, without their tests, to vendorDir as a
// module of their own: no requirements, since both use only the standard library
// (TestVendoredGoSDKIsSelfContained checks it).
func vendorGoSDK(files map[string][]byte, version string) error {
	gomod, err := soltiwasm.GoSDK.ReadFile("go.mod")
	if err != nil {
		return err
	}
	goLine := ""
	for _, line := range strings.Split(string(gomod), "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "go "); ok {
			goLine = strings.TrimSpace(v)
			break
		}
	}
	if goLine == "" {
		return errors.New("the embedded go.mod has no go line")
	}
	files[vendorDir+"/go.mod"] = []byte("// solti-wasm " + version + ": the Go guest SDK and the abi package, vendored by solti-wasm new.\n" +
		"module " + sdkModule + "\n\ngo " + goLine + "\n")
	return fs.WalkDir(soltiwasm.GoSDK, ".", func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() || p == "go.mod" || strings.HasSuffix(p, "_test.go") {
			return err
		}
		b, err := soltiwasm.GoSDK.ReadFile(p)
		if err != nil {
			return err
		}
		files[vendorDir+"/"+p] = b
		return nil
	})
}

// rustTarget is the target a Rust runner builds for.
const rustTarget = "wasm32-unknown-unknown"

// rustBuild returns the build command of a Rust project and a note on it, for the first rustc
// that has the rustTarget standard library: the one on PATH (rustup's proxy, say), else
// Debian's /usr/bin/rustc (package libstd-rust-dev-wasm32). rustup's toolchains without the
// target come first in PATH on many machines, so the command names the rustc and cargo by
// path unless they are the ones on PATH.
func rustBuild() (command, note string) {
	const args = " build --release --offline --target " + rustTarget
	const install = "`rustup target add " + rustTarget + "`, or on Debian `apt-get install rustc cargo libstd-rust-dev-wasm32`"
	pathRustc, _ := exec.LookPath("rustc")
	pathCargo, _ := exec.LookPath("cargo")
	for _, rustc := range []string{pathRustc, "/usr/bin/rustc"} {
		if rustc == "" || !rustcHasTarget(rustc, rustTarget) {
			continue
		}
		cargo := filepath.Join(filepath.Dir(rustc), "cargo")
		if _, err := os.Stat(cargo); err != nil {
			if cargo = pathCargo; cargo == "" {
				continue
			}
		}
		if rustc == pathRustc && cargo == pathCargo {
			return "cargo" + args, "Built with the rustc and cargo on PATH, which have the " + rustTarget + " target."
		}
		return "RUSTC=" + rustc + " " + cargo + args,
			"The full paths pick " + rustc + ", which has the " + rustTarget + " target, ahead of the rustc on PATH, which lacks it."
	}
	return "cargo" + args, "No rustc with the " + rustTarget + " target was found when this project was generated: install it with " + install + "."
}

// rustcHasTarget reports whether rustc has the standard library of target: its
// target-libdir holds a libstd.
func rustcHasTarget(rustc, target string) bool {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, rustc, "--print", "target-libdir", "--target", target).Output()
	if err != nil {
		return false
	}
	libs, _ := filepath.Glob(filepath.Join(strings.TrimSpace(string(out)), "libstd-*.rlib"))
	return len(libs) > 0
}

// findCheckout returns the absolute root of the solti-wasm checkout holding start (a
// directory that need not exist yet), or "".
func findCheckout(start string) string {
	dir := mustAbs(start)
	for {
		if b, err := os.ReadFile(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(bytes.NewReader(b))
			for sc.Scan() {
				if line := strings.TrimSpace(sc.Text()); strings.HasPrefix(line, "module ") {
					if strings.TrimSpace(strings.TrimPrefix(line, "module ")) == sdkModule {
						if _, err := os.Stat(filepath.Join(dir, "guest-sdk", "go", "solti")); err == nil {
							return dir
						}
					}
					break
				}
			}
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return ""
		}
		dir = parent
	}
}

func mustAbs(p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		return p
	}
	return a
}

// copySDK copies the embedded SDK files under from (only the listed entries, or all) to the
// project directory to.
func copySDK(files map[string][]byte, from, to string, only []string) error {
	return fs.WalkDir(guestsdk.Files, from, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		rel := strings.TrimPrefix(p, from+"/")
		if only != nil && !slices.Contains(only, rel) && !slices.Contains(only, strings.SplitN(rel, "/", 2)[0]) {
			return nil
		}
		b, err := guestsdk.Files.ReadFile(p)
		if err != nil {
			return err
		}
		files[path.Join(to, rel)] = b
		return nil
	})
}

// renderTemplates executes templates/LANG/** and the shared templates into files.
func renderTemplates(files map[string][]byte, lang string, d *projectData) error {
	render := func(p, out string) error {
		src, err := templates.ReadFile(p)
		if err != nil {
			return err
		}
		t, err := template.New(p).Option("missingkey=error").Parse(string(src))
		if err != nil {
			return err
		}
		var b bytes.Buffer
		if err := t.Execute(&b, d); err != nil {
			return err
		}
		files[out] = b.Bytes()
		return nil
	}
	root := "templates/" + lang
	err := fs.WalkDir(templates, root, func(p string, e fs.DirEntry, err error) error {
		if err != nil || e.IsDir() {
			return err
		}
		return render(p, strings.TrimSuffix(strings.TrimPrefix(p, root+"/"), ".tmpl"))
	})
	if err != nil {
		return err
	}
	for p, out := range map[string]string{"README.md.tmpl": "README.md", "task.json.tmpl": "task.json", "gitignore.tmpl": ".gitignore"} {
		if err := render("templates/"+p, out); err != nil {
			return err
		}
	}
	if len(files) == 0 {
		return errors.New("no templates for " + lang)
	}
	return nil
}
