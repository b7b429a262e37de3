package store

import "errors"

// ErrNotReplicated: a write was done but fewer replicas than required
// confirmed it in time (Redis's WAIT, store.redis.min_replicas_ack), so it
// was not acknowledged. It may or may not survive a failover: the caller
// answers with a retryable error (HTTP 503) and the sender tries again
// (the idempotent ingest keeps one copy if both writes survive).
var ErrNotReplicated = errors.New("not confirmed by enough replicas")
