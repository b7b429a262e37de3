// Package router turns accepted messages into timeline entries. It owns the
// ingest side of the hub: the Sink every channel delivers into (validate,
// normalise, enqueue durably), the workers that consume the ingest queue
// (dedupe, identity, consent, deciding a message's thread, audience and
// team, then handing it to the conversation service), and the outbound
// dispatcher that hands agent replies to channel Senders with retries.
//
// Who a message belongs to is package identity's (the router calls its
// Resolver for every message); the channels and their phases are package
// directory's; erasing a person is package erasure's; every change to a
// conversation, snoozes waking up included, is timeline.Service's, and so
// are the realtime events (timeline.Event, timeline.Publish).
//
// It imports store (the contract, never a backend), connectors, timeline,
// identity, directory, internal/ids, go-json and the Prometheus client. It
// never imports a channel implementation: Senders are registered by
// cmd/switchboard. Nothing it imports imports it.
package router
