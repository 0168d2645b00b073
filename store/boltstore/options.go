package boltstore

import "time"

// Options tune a Store; the zero value takes every default.
type Options struct {
	// MaxBatchSize is how many queued writes one batch takes at most (default 256: a batch
	// of that many tasks stays a few hundred KiB). Writes are group-committed: a batch
	// takes what queued while the previous one was being synced, with no delay.
	MaxBatchSize int
	// CheckpointInterval is how long acknowledged writes may stay in the log only, not yet
	// in the bbolt file (default 100ms, as etcd batches its bbolt commits): a checkpoint
	// then commits them all at once. A crash loses none of them: Open applies the log.
	CheckpointInterval time.Duration
	// LogBytes is the log's size (default 16 MiB): when a batch's record does not fit in
	// what is left, a checkpoint makes that batch durable and the log starts again.
	LogBytes int64
	// Linger is how long a background write (store.Background: the pipeline's records of a
	// task's progress) waits for a client's write to share a batch and its sync with
	// (default 1ms; <0: none). A client's write never waits for it: it goes at once, taking
	// the waiting background writes with it.
	Linger time.Duration
	// GatherDelay is how long a client's write may wait for other clients' writes that can
	// be expected to come (default 500µs, about a loopback HTTP round trip; <0: none): when
	// the last batch took more client writes than are queued (those clients were answered
	// together and come back together), or when one came while the last batch was being
	// synced (two clients, turn about). A lone client's write never waits: its previous
	// write was the last batch's only one, and it comes after that batch.
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
	// NoSync skips the log's and the checkpoints' syncs: for tests and the benchmarks' floor
	// only, it loses acknowledged writes when the machine (not just the process) crashes.
	NoSync bool
	// Now is the clock for records' default times and the feed's age (nil: time.Now).
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.MaxBatchSize <= 0 {
		o.MaxBatchSize = 256
	}
	if o.CheckpointInterval <= 0 {
		o.CheckpointInterval = 100 * time.Millisecond
	}
	if o.LogBytes <= 0 {
		o.LogBytes = 16 << 20
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
