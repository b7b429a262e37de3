// Package erasure owns removing a person completely (DESIGN invariant 7):
// every customer record of their merged view, identity bindings and
// claims, timeline entries and their attachment blobs, conversations,
// consents, quarantined messages, and the evidence text of merges that
// name them; only the audit record and aggregate counts survive. Every
// step is idempotent, so an interrupted erasure is finished by running it
// again.
//
// It imports store (the contract, never a backend), timeline (to read the
// merged view), connectors (messages and the blob store), identity (the
// name-hint keys to remove) and the standard library. It never imports router, and it writes no conversation itself:
// the caller passes the conversation service's Delete, which also releases
// the assignee's load.
package erasure
