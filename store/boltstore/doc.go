// Package boltstore is the durable store.Store: one bbolt file, what the serve command
// keeps its tasks in.
//
// Durability: a write returns only after the bbolt transaction holding it committed with
// fsync. Concurrent writes are group-committed: one goroutine runs every write that queued
// while the previous transaction was committing in one transaction (at most
// Options.MaxBatchSize), so that one fsync acknowledges many writes and durability does not
// cap throughput, while a lone write waits for no timer.
//
// Revisions and the run-id sequence are persisted: the revision in every write's
// transaction, the run-id sequence as a high-water mark reserved in blocks
// (Options.RunSeqBlock), so neither ever repeats across restarts (a crash skips the rest of
// a reserved block).
//
// The change feed is kept on disk, one record per revision, bounded by count and age
// (Options.FeedEvents, FeedAge), so that a watch from a revision before a restart still
// replays; the latest events are also kept decoded in memory for the watchers.
//
// The file is schema-versioned (a meta bucket holds the version; Open migrates older files
// step by step and refuses newer ones), and bounded: bbolt never shrinks its file, so Open
// and Sweep compact it into a new file (renamed over the old one) once its free pages pass
// Options.CompactFreeBytes and half the file.
package boltstore
