// Package webhooks owns outgoing webhooks (issue 21): the endpoints (from
// the config and the admin API), the Outbox that records each reported
// change in the store before the hub acknowledges it, and the dispatcher
// that delivers every recorded event to each subscribed endpoint, signed as
// the Standard Webhooks specification says, at least once, in order per
// endpoint and customer, retrying with backoff for more than three days,
// from one replica at a time (under the lease "webhooks"). It guards
// against server-side request forgery (https only; no loopback, private,
// link-local or metadata address after DNS resolution; redirects not
// followed) unless an endpoint allows it.
//
// It imports the standard library, prometheus, connectors (the lease
// interface), the store contract and timeline (for the Recorder interface
// its Outbox implements, through which timeline, router and identity
// record events without importing this package); inbox (the admin API)
// and cmd/switchboard use it.
package webhooks
