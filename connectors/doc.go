// Package connectors defines the contract between channels and the hub: the
// Message a channel produces, the typed Identity of its sender, the Sink a
// channel delivers into (and its optional Quarantiner ability), the
// optional Source/LeasedSource/Sender/Router/Tester abilities, and what Env
// hands a channel: Blobs, a Lease and Leases (one replica at a time, with
// fencing tokens), a fenced State for checkpoints, and Counters. Delivery
// status values (Status*) and the shared sentinel errors live here too.
//
// It imports only the standard library, nyaruka/phonenumbers,
// golang.org/x/net/idna and golang.org/x/text/unicode/norm (identity
// normalisation). Every channel package (connectors/email, connectors/sms, ...)
// and the plugin host import this package; this package imports none of them,
// nor the router or the store. No package under connectors/ imports the store
// (a test in internal/archtest fails if one does); the hub implements these
// interfaces over it (package lease, router.Ingest).
package connectors
