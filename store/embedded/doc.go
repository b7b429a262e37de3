// Package embedded is the default single-node storage backend of the hub:
// every store.Store record, queue, lease and counter lives in one bbolt file
// (switchboard.db) under the data directory, and realtime events fan out
// in-process.
//
// Why bbolt: it is pure Go (no cgo, one static binary), ACID with
// serialisable write transactions (one writer at a time, which is what makes
// the contract's check-and-set operations trivially atomic), commits are
// fsync'd before they return (the durability the queues promise), and it
// needs no server to install or operate. Its file lock also guarantees that
// only one switchboard process uses a data directory at a time; a second
// Open fails with a clear error instead of corrupting data.
//
// Writes that arrive from many goroutines at once (Enqueue, Ack, AppendEntry,
// BindIdentity, the Update* compare-and-swaps, ...) go through one committer
// goroutine (commit.go) that runs every write waiting at that moment in one
// transaction and one fsync, and answers each only once it is durable; the
// functions it runs may run more than once, so they only touch the
// transaction and reset their results on every run, and in-memory state is
// changed only after the commit succeeded.
//
// Queue in-flight state (which items were handed out and when they become due
// again) is kept in memory only: on Open every unacked item is ready for
// delivery again, so a restart redelivers what was in flight. That is the
// at-least-once guarantee; the attempt count is persisted on every hand-out.
//
// Imports: store (the contract), connectors (via the record types), bbolt and
// the standard library. Nothing in the hub imports this package except the
// wiring that chooses a backend.
package embedded
