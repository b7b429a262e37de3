package store

import (
	"context"

	"github.com/switchboard-hub/switchboard/connectors"
)

// IngestReads names the first reads of processing an inbound message, which
// do not depend on one another (issue 23): the dedupe record of the entry
// id (GetEntry), the erasure tombstones (HasTombstone, keyed hashes) and the
// bindings of the message's identities (LookupIdentity).
type IngestReads struct {
	EntryID    string
	Tombstones []string
	Identities []connectors.Identity
}

// IngestPrefetcher is implemented by a store that can do IngestReads in one
// round trip (Redis: one pipeline, instead of a wait per read). The context
// it returns carries the answers: the first GetEntry, HasTombstone and
// LookupIdentity of each prefetched key made with it (or a context derived
// from it) takes the prefetched answer instead of asking the server; later
// reads of the same key, and every read after a write of a binding, a
// tombstone, a customer or a merge with it, ask the server as before. On
// failure it returns ctx unchanged: the reads then go to the server one by
// one. Callers use it only where the reads would follow each other with no
// write of theirs in between.
type IngestPrefetcher interface {
	PrefetchIngest(ctx context.Context, r IngestReads) context.Context
}
