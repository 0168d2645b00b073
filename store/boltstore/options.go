package boltstore

import "time"

// Options tune a Store; the zero value takes every default.
type Options struct {
	// MaxBatchSize is how many queued writes one transaction takes at most (default 256: a
	// transaction of that many tasks stays a few hundred KiB). Writes are group-committed:
	// a transaction takes what queued while the previous one committed, with no delay.
	MaxBatchSize int
	// Linger is how long a background write (store.Background: the pipeline's records of a
	// task's progress) waits for a client's write to share a commit and its fsync with
	// (default 1ms; <0: none). A client's write never waits: it commits at once, taking the
	// waiting background writes with it.
	Linger time.Duration
	// GatherDelay is how long a client's write may wait for other clients' writes that can
	// be expected to come (default 500µs, about a loopback HTTP round trip; <0: none): when
	// the last commit took more client writes than are queued (those clients were answered
	// together and come back together), or when one came while the last commit ran (two
	// clients, turn about). A lone client's write never waits: its previous write was the
	// last commit's only one, and it comes after that commit.
	GatherDelay time.Duration
	// FeedEvents bounds the events kept on disk for watches (default 100000). Watch or a
	// list continuation from an older revision is store.ErrExpired.
	FeedEvents int
	// FeedAge drops events older than this from the feed (default 1h, solti's retention;
	// <0: no age bound).
	FeedAge time.Duration
	// MemEvents is how many of the latest events are also kept decoded in memory for
	// watchers (default 8192); older ones are read from disk.
	MemEvents int
	// RunSeqBlock is how many run-id numbers one durable reservation takes (default 1024).
	RunSeqBlock uint64
	// CompactFreeBytes is the free space past which the file is compacted, when it is also
	// half the pages in use or more (default 64 MiB; <0: never).
	CompactFreeBytes int64
	// LockTimeout is how long Open waits for another process's lock on the file (default
	// 1s) before it fails with ErrLocked.
	LockTimeout time.Duration
	// NoSync skips fsync: for tests and the benchmarks' floor only, it loses acknowledged
	// writes on a crash.
	NoSync bool
	// Now is the clock for records' default times and the feed's age (nil: time.Now).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.MaxBatchSize <= 0 {
		o.MaxBatchSize = 256
	}
	if o.Linger == 0 {
		o.Linger = time.Millisecond
	}
	if o.GatherDelay == 0 {
		o.GatherDelay = 500 * time.Microsecond
	}
	if o.FeedEvents <= 0 {
		o.FeedEvents = 100000
	}
	if o.FeedAge == 0 {
		o.FeedAge = time.Hour
	}
	if o.MemEvents <= 0 {
		o.MemEvents = 8192
	}
	if o.RunSeqBlock == 0 {
		o.RunSeqBlock = 1024
	}
	if o.CompactFreeBytes == 0 {
		o.CompactFreeBytes = 64 << 20
	}
	if o.LockTimeout <= 0 {
		o.LockTimeout = time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}
