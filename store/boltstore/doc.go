// Package boltstore is the durable store.Store: one bbolt file, what the serve command
// keeps its tasks in.
//
// Durability: a write returns only after it is on disk. Concurrent writes are
// group-committed: one goroutine takes every write that queued while the previous batch was
// being synced (at most Options.MaxBatchSize), runs them in bbolt's write transaction,
// appends what they put and deleted to a write-ahead log beside the file (PATH-log) and
// fdatasyncs it once for all of them, so that durability does not cap throughput, while a
// lone write waits for no timer. The transaction stays open across batches and is committed
// to the bbolt file at checkpoints (Options.CheckpointInterval, or when the log is full);
// point reads run in it too, between batches, and listings in a read-only snapshot taken
// right after a checkpoint: both see every acknowledged write. Open applies the log
// records after the file's last checkpoint, so a crash loses nothing acknowledged.
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
