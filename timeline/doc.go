// Package timeline reads the unified, per-customer view of the hub: it
// follows merges to a customer's root, gathers every customer merged into
// it, and pages their entries as one timeline, newest first, by an opaque
// cursor. It also lists a customer's conversations across merges.
//
// It imports only store (the contract) and the standard library. Writing
// entries is the router's job; this package only reads and joins.
package timeline
