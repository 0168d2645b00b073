package testcache

import (
	"io/fs"
	"syscall"
	"time"
)

// lastUse is when a cache file was last written or read, as far as the file system says:
// wazero reads its entries without touching them, so the modification time alone would make
// the entries every run reads (written once, long ago) the first to go. Linux's default
// relatime updates the access time on the first read after a write and then at most daily,
// which is fine enough for choosing what to evict.
func lastUse(info fs.FileInfo) time.Time {
	t := info.ModTime()
	if st, ok := info.Sys().(*syscall.Stat_t); ok {
		if a := time.Unix(st.Atim.Sec, st.Atim.Nsec); a.After(t) {
			return a
		}
	}
	return t
}
