// Package driver holds what the chaos and Cluster drivers (scripts/chaos,
// scripts/cluster) share: a timestamped log line, free loopback
// addresses, a work directory with the hub and plugin binaries built into
// it, the admin API's GET and a customer's whole timeline read through it,
// and one mail handed to Dovecot over LMTP.
//
// It may import the standard library and go-smtp only; it is not part of
// the hub (only the drivers under scripts/ import it).
package driver
