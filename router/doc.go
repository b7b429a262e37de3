// Package router turns accepted messages into timeline entries. It owns the
// ingest side of the hub: the Sink every channel delivers into (validate,
// normalise, enqueue durably), the workers that consume the ingest queue
// (dedupe, conversation threading, routing and assignment, timeline append,
// realtime events), snoozes waking up, and the outbound dispatcher that
// hands agent replies to channel Senders with retries.
//
// Who a message belongs to is package identity's (the router calls its
// Resolver for every message); the channels and their phases are package
// directory's; erasing a person is package erasure's. The names those
// packages took from this one are kept here as deprecated aliases only
// until the branches of issue 13 are merged.
//
// It imports store (the contract, never a backend), connectors, timeline,
// identity, directory, erasure (for the deprecated Erase only), internal/ids
// and the Prometheus client. It never imports a channel implementation:
// Senders are registered by cmd/switchboard. Nothing it imports imports it.
package router
