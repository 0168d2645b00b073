package registry

import (
	"os"
	"path/filepath"

	"github.com/fsnotify/fsnotify"
)

// Hot reload follows module files that are symlinks, the way real deployments update them:
//
//   - a Kubernetes ConfigMap or Secret volume holds x.wasm -> ..data/x.wasm and
//     ..data -> ..2026_12_02_xx, and updates by writing a new ..2026_... directory and
//     renaming a new ..data over the old: the only events are on names that are not *.wasm,
//     so any event on another entry of the directory re-checks the module files that are
//     symlinks;
//   - x.wasm -> /elsewhere/x.wasm, written in place: there is no event in the directory at
//     all, so the directory of each symlink's final target is watched too, and an event on a
//     target re-checks the module files that resolve to it.
//
// A re-check reads the file and compares its bytes with the version's: nothing happens unless
// they changed. What no event reports (an intermediate symlink outside the directory swapped,
// a missed event) the slow rescan (Config.Rescan) finds.
//
// links is owned by the watch loop (and Start, before the loop runs).
type links struct {
	target map[string]string // module file -> its resolved target, for symlinks
	dirs   map[string]int    // watched target directories (other than Dir) -> module files in them
}

// track records whether path is a symlink and where it leads, and watches its target's
// directory. It is called whenever path is looked at.
func (r *Registry) track(path string) {
	if r.watcher == nil {
		return
	}
	if r.links.target == nil {
		r.links.target, r.links.dirs = map[string]string{}, map[string]int{}
	}
	target := ""
	if fi, err := os.Lstat(path); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if t, err := filepath.EvalSymlinks(path); err == nil {
			target = t
		}
	}
	old, had := r.links.target[path]
	if had && old == target {
		return
	}
	if had {
		delete(r.links.target, path)
		r.unwatchDir(filepath.Dir(old))
	}
	if target == "" {
		return
	}
	r.links.target[path] = target
	dir := filepath.Dir(target)
	if dir == r.cfg.Dir {
		return
	}
	if r.links.dirs[dir] == 0 {
		if err := r.watcher.Add(dir); err != nil {
			r.log.Warn("watching a module symlink's target directory", "path", path, "dir", dir, "err", err)
		}
	}
	r.links.dirs[dir]++
}

func (r *Registry) unwatchDir(dir string) {
	if dir == r.cfg.Dir || r.links.dirs[dir] == 0 {
		return
	}
	if r.links.dirs[dir]--; r.links.dirs[dir] == 0 {
		delete(r.links.dirs, dir)
		_ = r.watcher.Remove(dir) // fails when the directory is gone: its watch went with it
	}
}

// affected returns the files an event makes the registry look at again.
func (r *Registry) affected(ev fsnotify.Event, orderPath string) []string {
	if filepath.Dir(ev.Name) == r.cfg.Dir {
		if ev.Name == orderPath || filepath.Ext(ev.Name) == ".wasm" {
			return []string{ev.Name} // chmod included: a file made readable again reloads
		}
		// Another entry (..data swapped, a directory a symlink goes through): every
		// symlinked module may now lead elsewhere.
		out := make([]string, 0, len(r.links.target))
		for p := range r.links.target {
			out = append(out, p)
		}
		return out
	}
	var out []string
	for p, t := range r.links.target {
		if t == ev.Name || filepath.Dir(t) == ev.Name {
			out = append(out, p)
		}
	}
	return out
}
