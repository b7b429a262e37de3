// Package lease is the hub's one implementation of the connectors lease
// seam over the store's Leases contract: Leases.Acquire hands out a
// connectors.Lease that renews itself at a third of its TTL and is lost when
// the store says another holder has it or when its TTL passes on the hub's
// clock (the same clock the store judges expiry by) without a successful
// renewal: by a timer, a margin (ttl/10, at most 200 ms) before that
// deadline, so the holder has stopped when another replica can take it
// even while a renewal call hangs. On it are built
//
//   - Leases.Source: runs a connectors.LeasedSource (email IMAP, Slack Socket
//     Mode) on one replica at a time: take the lease (waiting while another
//     replica holds it), run the source with a ctx cancelled when the lease
//     is lost, release it when the source returns;
//   - Holder: the poll-style lease of the plugin host (a RunOnce plugin
//     receives only where it is held);
//   - State: a channel's checkpoints (store.Checkpoints), whose writes are
//     fenced by a lease (renewed first, refused once lost).
//
// It imports the standard library, connectors and the store contract (not a
// backend); cmd/switchboard wires it into each channel's connectors.Env.
package lease
