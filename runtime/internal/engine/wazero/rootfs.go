package wazero

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"strings"
	"syscall"
	"time"

	"github.com/tetratelabs/wazero"
	experimentalsys "github.com/tetratelabs/wazero/experimental/sys"
	"github.com/tetratelabs/wazero/experimental/sysfs"
	"github.com/tetratelabs/wazero/sys"

	"github.com/solti-wasm/solti-wasm/runtime/internal/engine"
)

// A mount is served by rootFS, not by wazero's own directory mounts: wazero's DirFS joins the
// guest's path to the host directory as a string, so although its WASI layer refuses ".."
// (EPERM), a symlink inside the directory, or one the guest creates, leads anywhere on the
// host (wazero documents that its mounts are not a sandbox). rootFS resolves every path
// through an os.Root, which follows symlinks only while they stay inside the directory and
// is free of check-then-use races; opened files are plain *os.File, wrapped by wazero's own
// adapter.

// mountFS configures the mounts of one instance. The roots it opens are returned so the
// instance can close them when it closes.
func mountFS(ms []engine.Mount) (wazero.FSConfig, []*os.Root, error) {
	cfg := wazero.NewFSConfig()
	roots := make([]*os.Root, 0, len(ms))
	for _, m := range ms {
		root, err := os.OpenRoot(m.HostDir)
		if err != nil {
			closeRoots(roots)
			return nil, nil, fmt.Errorf("%w %s: %w", engine.ErrMount, m.GuestPath, err)
		}
		roots = append(roots, root)
		var fsys experimentalsys.FS = &rootFS{root: root}
		if m.ReadOnly {
			fsys = &readOnlyFS{ReadFS: sysfs.ReadFS{FS: fsys}}
		}
		cfg = cfg.(sysfs.FSConfig).WithSysFSMount(fsys, m.GuestPath)
	}
	return cfg, roots, nil
}

func closeRoots(roots []*os.Root) {
	for _, r := range roots {
		_ = r.Close()
	}
}

// rootFS is a read-write experimentalsys.FS confined to one host directory.
type rootFS struct {
	experimentalsys.UnimplementedFS
	root *os.Root
}

var _ experimentalsys.FS = (*rootFS)(nil)

// rel turns the path wazero hands an FS (relative to the mount, already cleaned of ".."
// by its WASI layer; "" or "/" for the mount itself) into one for os.Root.
func rel(p string) string {
	p = path.Clean(strings.TrimLeft(p, "/"))
	if p == "" || p == "/" {
		return "."
	}
	return p
}

// errno maps an error of os.Root to WASI's. Errors that carry no OS error number are the
// root's refusal of a path that would leave the directory: the guest sees EPERM, as for "..".
func errno(err error) experimentalsys.Errno {
	if err == nil {
		return 0
	}
	e := experimentalsys.UnwrapOSError(err)
	var se syscall.Errno
	if e == experimentalsys.EIO && !errors.As(err, &se) {
		return experimentalsys.EPERM
	}
	return e
}

func osFlag(f experimentalsys.Oflag) int {
	var flag int
	switch f & (experimentalsys.O_RDONLY | experimentalsys.O_RDWR | experimentalsys.O_WRONLY) {
	case experimentalsys.O_RDWR:
		flag = os.O_RDWR
	case experimentalsys.O_WRONLY:
		flag = os.O_WRONLY
	}
	for _, m := range [...]struct {
		wasi experimentalsys.Oflag
		os   int
	}{
		{experimentalsys.O_APPEND, os.O_APPEND}, {experimentalsys.O_CREAT, os.O_CREATE},
		{experimentalsys.O_EXCL, os.O_EXCL}, {experimentalsys.O_SYNC, os.O_SYNC},
		{experimentalsys.O_TRUNC, os.O_TRUNC},
	} {
		if f&m.wasi != 0 {
			flag |= m.os
		}
	}
	return flag
}

// OpenFile opens p inside the root with the guest's flags.
func (r *rootFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	p = rel(p)
	writes := flag&(experimentalsys.O_WRONLY|experimentalsys.O_RDWR) != 0
	if flag&experimentalsys.O_DIRECTORY != 0 && writes {
		return nil, experimentalsys.EISDIR
	}
	// os.Root follows a final symlink (inside the root) even with O_NOFOLLOW.
	if flag&experimentalsys.O_NOFOLLOW != 0 {
		if fi, err := r.root.Lstat(p); err == nil && fi.Mode()&fs.ModeSymlink != 0 {
			return nil, experimentalsys.ELOOP
		}
	}
	f, err := r.root.OpenFile(p, osFlag(flag), perm)
	if err != nil {
		return nil, errno(err)
	}
	if flag&experimentalsys.O_DIRECTORY != 0 {
		if fi, err := f.Stat(); err != nil || !fi.IsDir() {
			_ = f.Close()
			return nil, experimentalsys.ENOTDIR
		}
	}
	// wazero's fs.FS adapter gives the *os.File its reads, writes, seeks, stat and readdir;
	// rewinding a directory reopens it through the root.
	wrapped, e := (&sysfs.AdaptFS{FS: &opener{root: r.root, next: f}}).OpenFile(p, flag, perm)
	if e != 0 {
		_ = f.Close()
		return nil, e
	}
	return &rootFile{File: wrapped, f: f}, 0
}

// opener is the fs.FS the adapter opens through: its first Open returns the file just
// opened with the guest's flags; later ones (a directory rewinding) reopen it in the root.
type opener struct {
	root *os.Root
	next *os.File
}

func (o *opener) Open(name string) (fs.File, error) {
	if f := o.next; f != nil {
		o.next = nil
		return f, nil
	}
	return o.root.Open(rel(name))
}

// rootFile adds what the adapter leaves unimplemented for an *os.File.
type rootFile struct {
	experimentalsys.File
	f *os.File
}

func (f *rootFile) Truncate(size int64) experimentalsys.Errno {
	if size < 0 {
		return experimentalsys.EINVAL
	}
	return errno(f.f.Truncate(size))
}

func (f *rootFile) Sync() experimentalsys.Errno     { return errno(f.f.Sync()) }
func (f *rootFile) Datasync() experimentalsys.Errno { return errno(f.f.Sync()) }

func stat(fi fs.FileInfo, err error) (sys.Stat_t, experimentalsys.Errno) {
	if err != nil {
		return sys.Stat_t{}, errno(err)
	}
	return sys.NewStat_t(fi), 0
}

func (r *rootFS) Lstat(p string) (sys.Stat_t, experimentalsys.Errno) {
	return stat(r.root.Lstat(rel(p)))
}
func (r *rootFS) Stat(p string) (sys.Stat_t, experimentalsys.Errno) { return stat(r.root.Stat(rel(p))) }

func (r *rootFS) Mkdir(p string, perm fs.FileMode) experimentalsys.Errno {
	e := errno(r.root.Mkdir(rel(p), perm))
	if e == experimentalsys.ENOTDIR { // as wazero's DirFS: a missing parent
		e = experimentalsys.ENOENT
	}
	return e
}

func (r *rootFS) Chmod(p string, perm fs.FileMode) experimentalsys.Errno {
	return errno(r.root.Chmod(rel(p), perm))
}

func (r *rootFS) Rename(from, to string) experimentalsys.Errno {
	return errno(r.root.Rename(rel(from), rel(to)))
}

// Rmdir and Unlink tell directories from files first, since os.Root.Remove takes either.
func (r *rootFS) Rmdir(p string) experimentalsys.Errno {
	fi, err := r.root.Lstat(rel(p))
	if err != nil {
		return errno(err)
	}
	if !fi.IsDir() {
		return experimentalsys.ENOTDIR
	}
	return errno(r.root.Remove(rel(p)))
}

func (r *rootFS) Unlink(p string) experimentalsys.Errno {
	fi, err := r.root.Lstat(rel(p))
	if err != nil {
		return errno(err)
	}
	if fi.IsDir() {
		return experimentalsys.EISDIR
	}
	return errno(r.root.Remove(rel(p)))
}

func (r *rootFS) Link(oldPath, newPath string) experimentalsys.Errno {
	return errno(r.root.Link(rel(oldPath), rel(newPath)))
}

// Symlink refuses a target that is absolute or climbs out of the directory: os.Root would
// never follow it, but it would stay on the host for other programs to follow.
func (r *rootFS) Symlink(target, link string) experimentalsys.Errno {
	resolved := path.Join(path.Dir(rel(link)), target)
	if path.IsAbs(target) || resolved == ".." || strings.HasPrefix(resolved, "../") {
		return experimentalsys.EPERM
	}
	return errno(r.root.Symlink(target, rel(link)))
}

func (r *rootFS) Readlink(p string) (string, experimentalsys.Errno) {
	s, err := r.root.Readlink(rel(p))
	return s, errno(err)
}

func (r *rootFS) Utimens(p string, atim, mtim int64) experimentalsys.Errno {
	// A zero time.Time leaves that time unchanged, which is what UTIME_OMIT asks.
	t := func(ns int64) time.Time {
		if ns == experimentalsys.UTIME_OMIT {
			return time.Time{}
		}
		return time.Unix(0, ns)
	}
	return errno(r.root.Chtimes(rel(p), t(atim), t(mtim)))
}

// readOnlyFS is wazero's ReadFS (writes through open files, and every call that changes the
// tree, fail with EBADF or EROFS), also refusing opens that would create or truncate: ReadFS
// refuses only write modes, and passes O_CREAT and O_TRUNC with O_RDONLY through.
type readOnlyFS struct {
	sysfs.ReadFS
}

func (r *readOnlyFS) OpenFile(p string, flag experimentalsys.Oflag, perm fs.FileMode) (experimentalsys.File, experimentalsys.Errno) {
	if flag&(experimentalsys.O_WRONLY|experimentalsys.O_RDWR|experimentalsys.O_CREAT|experimentalsys.O_TRUNC|experimentalsys.O_APPEND) != 0 {
		if flag&experimentalsys.O_DIRECTORY != 0 {
			return nil, experimentalsys.EISDIR
		}
		return nil, experimentalsys.EROFS
	}
	return r.ReadFS.OpenFile(p, flag, perm)
}
