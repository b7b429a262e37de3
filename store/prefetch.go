package store

import (
	"context"

	"github.com/switchboard-hub/switchboard/connectors"
)

// IngestReads names the first reads of processing an inbound message, which
// do not depend on one another (issue 23): the dedupe record of the entry
// id (GetEntry), the erasure tombstones (HasTombstone, keyed hashes) and the
// bindings of the message's identities (LookupIdentity). ThreadKey is the
// full thread key (CHANNEL|KEY) the message's conversation will have when
// the caller knows it before the customer is resolved ("" otherwise): a
// store may then also read the conversation it last saw holding that key
// for the customer it expects the bindings to name (OpenConversation's
// first read).
type IngestReads struct {
	EntryID    string
	Tombstones []string
	Identities []connectors.Identity
	ThreadKey  string
}

// IngestPrefetcher is implemented by a store that can do IngestReads in one
// round trip (Redis: one pipeline, instead of a wait per read). The context
// it returns carries the answers: the first GetEntry, HasTombstone and
// LookupIdentity of each prefetched key (and GetCustomer of a customer the
// store read beside the bindings, and OpenConversation's read of the
// conversation it remembered holding ThreadKey for that customer) made
// with it (or a context derived from it) takes the prefetched answer
// instead of asking the server; later reads of the same key, and every
// read after a write of a binding, a tombstone, a customer, a merge or a
// conversation with it, ask the server as before. A prefetched
// conversation is only a starting point: the append's compare-and-swap
// checks it, as it checks one read a moment before the append. On
// failure it returns ctx unchanged: the reads then go to the server one by
// one. Callers use it only where the reads would follow each other with no
// write of theirs in between.
type IngestPrefetcher interface {
	PrefetchIngest(ctx context.Context, r IngestReads) context.Context
}
