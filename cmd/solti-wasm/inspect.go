package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/solti-wasm/solti-wasm/runtime"
)

type inspectFlags struct {
	output outputFormat
}

func newInspectCmd(o *globalOptions) *cobra.Command {
	var f inspectFlags
	cmd := &cobra.Command{
		Use:   "inspect MODULE.wasm",
		Short: "Describe a runner module and check it against the ABI",
		Long: `Loads the module as run and watch do (read, validate, compile, ABI check, instantiate,
name, describe, sample smoke test) and prints what it learned: size and sha256, ABI version, name, describe output, exports with
their signatures, imports, compile and init times. A module that is not a valid runner is
described as far as loading got, ending with "valid: no: STAGE: REASON" (in --output json,
"valid": false with "stage" and "error"); stderr repeats the reason in one line,
"solti-wasm: MODULE: not a valid runner: STAGE: REASON", and it exits 1.`,
		Example: `  solti-wasm inspect examples/runners/wat-echo.wasm`,
		Args:    exactArgs("MODULE.wasm"),
		RunE: func(cmd *cobra.Command, args []string) error {
			return inspectModule(cmd.Context(), o, &f, args[0])
		},
	}
	addOutputFlag(cmd, &f.output)
	return cmd
}

// inspectReport is inspect's --output json object: the module info plus, for a module that
// is not a valid runner, the stage that refused it and why.
type inspectReport struct {
	*runtime.ModuleInfo
	Valid bool    `json:"valid"`
	Stage string  `json:"stage,omitempty"`
	Error *string `json:"error"`
}

func inspectModule(ctx context.Context, o *globalOptions, f *inspectFlags, path string) error {
	rt, err := o.newRuntime(ctx)
	if err != nil {
		return err
	}
	defer func() { _ = rt.Close(context.Background()) }()

	endProgress := o.progress("loading "+path, f.output)
	info, err := rt.Inspect(ctx, path)
	endProgress()
	if info == nil { // nothing learned: the file could not be read
		if err == nil {
			err = errors.New("no module information")
		}
		return fail(ExitFailure, "%w", err)
	}
	rep := inspectReport{ModuleInfo: info, Valid: err == nil}
	if rep.Valid && (info.Description == nil || len(info.Description.Kinds) == 0) {
		fmt.Fprintf(o.stderr, "%s\n", noKindsWarning(info.Name, info.Path))
	}
	if err != nil {
		var le *runtime.LoadError
		msg := err.Error()
		if errors.As(err, &le) {
			rep.Stage, msg = le.Stage, le.Err.Error() // the path is the report's first field
		}
		msg = oneLine(msg)
		rep.Error = &msg
	}
	if f.output == outputJSON {
		err = writeJSON(o.stdout, rep)
	} else {
		err = rep.writeText(o.stdout)
	}
	if err != nil {
		return fail(ExitFailure, "writing the report: %w", err)
	}
	if !rep.Valid {
		// The report says why on stdout; stderr says it too, in one line a script can take
		// without parsing the report.
		return fail(ExitFailure, "%s: not a valid runner: %s: %s", path, rep.Stage, *rep.Error)
	}
	return reported(ExitOK)
}

// writeText prints the fields loading got to: the exports and imports exist once the module
// compiled, the name once it was instantiated, and so on.
func (r *inspectReport) writeText(w io.Writer) error {
	var b strings.Builder
	field := func(name, format string, args ...any) {
		fmt.Fprintf(&b, "%-14s%s\n", name+":", safeText(fmt.Sprintf(format, args...)))
	}
	field("path", "%s", r.Path)
	field("size", "%d bytes", r.Size)
	field("sha256", "%s", r.SHA256)
	compiled := r.Exports != nil
	if compiled {
		if r.ABIVersion == 0 {
			field("abi version", "none (no solti_abi_v* marker export)")
		} else {
			field("abi version", "%d", r.ABIVersion)
		}
	}
	if r.Name != "" {
		field("name", "%s", r.Name)
	}
	if d := r.Description; d != nil {
		field("version", "%s", orDash(d.Version))
		field("kinds", "%s", orDash(strings.Join(d.Kinds, ", ")))
		field("labels", "%s", formatLabels(d.Labels))
		field("description", "%s", orDash(d.Description))
	} else if r.Name != "" {
		field("describe", "none (the runner is asked about every kind)")
	}
	if compiled {
		field("has run", "%s", yesNo(r.HasRun))
		field("memory", "%d pages min (%d KiB)", r.MemoryMinPages, r.MemoryMinPages*64)
		fmt.Fprintf(&b, "exports:\n")
		for _, e := range r.Exports {
			fmt.Fprintf(&b, "  %s\n", safeText(e))
		}
		fmt.Fprintf(&b, "imports:\n")
		if len(r.Imports) == 0 {
			fmt.Fprintf(&b, "  (none)\n")
		}
		for _, i := range r.Imports {
			fmt.Fprintf(&b, "  %s\n", safeText(i))
		}
		field("compile time", "%s", formatDuration(r.CompileTime))
	}
	if r.InitTime > 0 {
		field("init time", "%s", formatDuration(r.InitTime))
	}
	if r.Valid {
		field("valid", "yes")
	} else {
		field("valid", "no: %s: %s", r.Stage, *r.Error)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
