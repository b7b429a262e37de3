// Package retention owns deleting what is no longer needed (issue 15):
// entries older than their channel's retention (channels[].retention), in
// resolved conversations, with the attachment blobs no other entry
// references, and a resolved conversation once all it held is past
// retention. Customers under a legal hold (store.Hold) are skipped. A
// Sweeper sweeps on demand (the API, `switchboard retention run`) and
// every interval on one replica at a time (a store lease).
//
// It imports store (the contract, never a backend), timeline (the merged
// view, for holds), connectors (the blob store) and the standard library.
package retention
