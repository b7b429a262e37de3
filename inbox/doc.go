// Package inbox is the agents' and admins' application over HTTP: the JSON
// API of DESIGN.md (customers, timelines, conversations, replies, notes,
// merges, channel phases, queues), server-sent events (opened with a
// bearer token, the session cookie or a single-use stream ticket), the
// `api` channel's inbound endpoint, health and metrics endpoints (metrics
// for admins and the metrics token, or on a listener of their own:
// MetricsServer), the agents' web UI (embedded static assets in ui/,
// password sign-in with signed session cookies and CSRF tokens, presence
// events), and the HTTP guards of the whole hub: the http.Server and its
// timeouts (NewHTTPServer), body deadlines, and JSON errors with 405 +
// Allow on every machine-facing route, channels' and plugins' included.
//
// It imports router (replies and notes: the Outbound and its errors),
// identity (merges and suggestions), directory (channels and their
// phases), erasure, timeline (conversation changes through its Service,
// reads, realtime events), store (the contract) and connectors (ingest is
// a connectors.Sink). It never
// imports a store backend or a channel implementation: channel HTTP
// handlers (webhooks) are mounted into it by cmd/switchboard.
package inbox
