//go:build !linux

package testcache

import (
	"io/fs"
	"time"
)

// lastUse is a cache file's modification time where the access time is not read.
func lastUse(info fs.FileInfo) time.Time { return info.ModTime() }
