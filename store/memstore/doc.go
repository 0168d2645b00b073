// Package memstore keeps the task pipeline's state in memory: a store.Store whose writes
// are "durable" as soon as they are in the process's memory, and the process-local run
// queue (store.Queue). The one-shot run command uses both; serve uses the queue beside a
// durable store, rebuilding it from Store.Unfinished at start.
//
// The change feed is a ring of the last Options.History events: Watch from an older
// revision is store.ErrExpired, and a watcher that falls further behind than the ring
// holds is ended (its channel closed), so no watcher ever holds a write back.
package memstore
