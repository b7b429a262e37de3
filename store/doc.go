// Package store defines the persistence contract of the hub: the records
// (Customer, identity bindings, Conversation, Entry, merges, channel state,
// consent, audit, the provider-id index of outbound messages, the sign-in
// session key and epochs), the durable queues (ingest, outbound, dead
// letters), leases, channels' checkpoints and realtime fan-out, plus the
// sentinel errors every backend returns and the one encoding of sort keys
// (keys.go: SortKey, ConversationCursor, ParseSortKey, SortKeyID).
//
// Backends live in sub-packages (store/redis, store/embedded) and must pass
// the conformance suite in store/storetest. This package imports only the
// standard library and connectors (for the Identity and Message types); the
// router, timeline and inbox depend on this contract, never on a backend.
package store
