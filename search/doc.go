// Package search owns the hub's search contract: what one query finds
// (customers by name, email, phone in any format and chat ids;
// conversations and messages by full text), how it is analysed into terms
// (analyze.go), ranked and highlighted (search.go, highlight.go), and the
// Index interface that each backend implements (search/bolt for the
// embedded store, search/redis for Redis). search/searchtest is the
// conformance suite both backends pass. An Index may also be a Later
// (search/redis): Indexer.IndexEntryLater then queues a document and
// returns what to wait for, which the router's ingest workers wait on
// before acknowledging a message (timeline.DeferIndexing).
//
// It may import store (the record types and the clock) and connectors
// (identity normalisation); never a backend, router, inbox or cmd.
// Visibility (audience, team) is the caller's: Query.Allow decides which
// conversations a hit may come from.
package search
