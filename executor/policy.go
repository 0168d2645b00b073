package executor

import (
	"fmt"
	"path"
	"path/filepath"
	"strings"

	"github.com/solti-wasm/solti-wasm/abi"
)

// DefaultEnvDeny are the variables no exec plan may set unless the policy names them exactly
// (ExecPolicy.Env): each makes an allowed command run code or read configuration the plan
// chooses. Patterns are path.Match patterns.
//
//   - the dynamic loader: LD_* (LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT), DYLD_* (macOS), and
//     glibc's GCONV_PATH, GLIBC_TUNABLES, LOCPATH, NLSPATH, HOSTALIASES, RESOLV_HOST_CONF;
//   - shells: BASH_ENV and ENV (a file sourced at start), BASH_FUNC_* (exported functions),
//     SHELLOPTS, BASHOPTS, PS4 and PROMPT_COMMAND (expanded or run), IFS, CDPATH, GLOBIGNORE;
//   - what a command finds and where its configuration is: PATH (the command itself is
//     looked up in the host's PATH, but a script's commands would be looked up in the plan's),
//     HOME, XDG_CONFIG_HOME, SHELL;
//   - interpreters' and tools' code injection: PYTHON*, PERL5*, PERLLIB, RUBYLIB, RUBYOPT,
//     NODE_OPTIONS, NODE_PATH, JAVA_TOOL_OPTIONS, _JAVA_OPTIONS, JDK_JAVA_OPTIONS, CLASSPATH,
//     GIT_* (GIT_SSH_COMMAND, GIT_CONFIG_*), SSH_ASKPASS, EDITOR, VISUAL, PAGER.
var DefaultEnvDeny = []string{
	"LD_*", "DYLD_*", "GCONV_PATH", "GLIBC_TUNABLES", "LOCPATH", "NLSPATH", "HOSTALIASES", "RESOLV_HOST_CONF",
	"BASH_ENV", "ENV", "BASH_FUNC_*", "SHELLOPTS", "BASHOPTS", "PS4", "PROMPT_COMMAND", "IFS", "CDPATH", "GLOBIGNORE",
	"PATH", "HOME", "XDG_CONFIG_HOME", "SHELL",
	"PYTHON*", "PERL5*", "PERLLIB", "RUBYLIB", "RUBYOPT", "NODE_OPTIONS", "NODE_PATH",
	"JAVA_TOOL_OPTIONS", "_JAVA_OPTIONS", "JDK_JAVA_OPTIONS", "CLASSPATH", "GIT_*", "SSH_ASKPASS", "EDITOR", "VISUAL", "PAGER",
}

// ValidatePatterns checks ExecPolicy.Env patterns, naming the first malformed one; a host
// calls it on its configuration, so that a typo fails at start, not at a plan.
func ValidatePatterns(patterns []string) error {
	for _, p := range patterns {
		if p == "" || strings.ContainsAny(p, "=\x00") {
			return fmt.Errorf("env pattern %q: want a variable name or a pattern such as APP_*", p)
		}
		if _, err := path.Match(p, ""); err != nil {
			return fmt.Errorf("env pattern %q: %w", p, err)
		}
	}
	return nil
}

// CheckEnv returns a *PolicyError naming the first variable of env the policy does not let a
// plan set. A name must be a real variable name (not empty, no "=" or NUL: "LD_PRELOAD=x" as a
// name would set LD_PRELOAD).
func (p ExecPolicy) CheckEnv(env abi.Env) error {
	for _, kv := range env {
		if err := p.checkEnvName(kv.Key); err != nil {
			return err
		}
	}
	return nil
}

func (p ExecPolicy) checkEnvName(name string) error {
	if name == "" || strings.ContainsAny(name, "=\x00") {
		return &PolicyError{Policy: PolicyExecEnv, Name: name, Reason: "not a variable name (empty, or holds = or NUL)"}
	}
	exact := false
	if len(p.Env) > 0 {
		matched := false
		for _, pat := range p.Env {
			if pat == name {
				exact, matched = true, true
				break
			}
			if ok, _ := path.Match(pat, name); ok {
				matched = true
			}
		}
		if !matched {
			return &PolicyError{Policy: PolicyExecEnv, Name: name, Reason: "a plan may set only the allowed names (" + strings.Join(p.Env, ", ") + ")"}
		}
	}
	if exact {
		return nil
	}
	for _, pat := range DefaultEnvDeny {
		if ok, _ := path.Match(pat, name); ok {
			return &PolicyError{Policy: PolicyExecEnv, Name: name, Reason: fmt.Sprintf("it matches %s, denied by default (grant it by its exact name)", pat)}
		}
	}
	return nil
}

// CheckCwd returns the directory a plan's process starts in: "" (the host's working
// directory) for a plan without a cwd, else the plan's cwd with its symlinks resolved, when
// it is inside one of the policy's directories (themselves resolved). The process starts in
// the resolved path, so a symlink swapped after the check does not move it. A refusal is a
// *PolicyError; a cwd that does not resolve (missing) is returned as is, wrapped.
func (p ExecPolicy) CheckCwd(cwd string) (string, error) {
	if cwd == "" {
		return "", nil
	}
	if len(p.Cwd) == 0 {
		return "", &PolicyError{Policy: PolicyExecCwd, Name: cwd, Reason: "no working directory is allowed to plans (the host's policy lists none)"}
	}
	abs, err := filepath.Abs(cwd)
	if err != nil {
		return "", fmt.Errorf("cwd %q: %w", cwd, err)
	}
	real, err := filepath.EvalSymlinks(abs)
	if err != nil {
		return "", fmt.Errorf("cwd %q: %w", cwd, err)
	}
	for _, dir := range p.Cwd {
		root, err := filepath.Abs(dir)
		if err != nil {
			continue
		}
		if root, err = filepath.EvalSymlinks(root); err != nil {
			continue // a directory that does not exist holds nothing
		}
		if rel, err := filepath.Rel(root, real); err == nil && filepath.IsLocal(rel) {
			return real, nil
		}
	}
	reason := "not inside an allowed directory (allowed: " + strings.Join(p.Cwd, ", ") + ")"
	if real != cwd {
		reason = "it resolves to " + real + ", " + reason
	}
	return "", &PolicyError{Policy: PolicyExecCwd, Name: cwd, Reason: reason}
}
