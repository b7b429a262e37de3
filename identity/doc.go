// Package identity owns who a message belongs to (DESIGN invariants 4 and
// 5): the Resolver finds or creates the customer for a message's typed
// identities, binds verified identities and claims, merges customers on
// verified evidence (the older root wins, so concurrent merges converge),
// records merge suggestions where only a claim links two customers, and
// applies an agent's merge, unmerge and accept/reject of a suggestion,
// each recorded with its evidence and audited.
//
// It imports store (the contract, never a backend), timeline (to follow a
// customer to its root), connectors (the message and its identities), the
// Prometheus client and the standard library. It never imports router: the
// router calls it for every message, the inbox for agents' decisions.
package identity
