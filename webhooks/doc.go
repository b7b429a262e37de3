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
// interface) and the store contract; inbox (the admin API), timeline and
// router (which record events through the Recorder interface they define)
// and cmd/switchboard use it.
package webhooks
