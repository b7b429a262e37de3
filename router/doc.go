// Package router turns accepted messages into timeline entries. It owns the
// ingest side of the hub: the Sink every channel delivers into (validate,
// normalise, enqueue durably), the workers that consume the ingest queue
// (dedupe, identity resolution, merges and merge suggestions, conversation
// threading, routing and assignment, timeline append, realtime events), the
// run-time channel directory with its phases, and the outbound dispatcher
// that hands agent replies to channel Senders with retries.
//
// It imports store (the contract, never a backend), connectors, timeline
// and the Prometheus client. It never imports a channel implementation:
// Senders are registered by cmd/switchboard.
package router
