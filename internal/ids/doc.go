// Package ids makes the ids of the hub's records: derived ones, the same
// every time for the same inputs (so a redelivered message re-creates the
// same record instead of a second one), and random ones with a time prefix
// (so they sort by creation). The router, identity resolution and erasure
// share it so an id is spelled one way only.
//
// It imports only the standard library.
package ids
