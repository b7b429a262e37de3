// Package redis is the shared store.Store backend: one Redis deployment
// (standalone, Sentinel or Cluster, reached through a goredis.UniversalClient)
// holds the state of every hub replica, so any number of replicas can run
// against it at once.
//
// # What it owns
//
// Every key and pub/sub channel under Options.Prefix (default "sb"): the
// records (customers, identity bindings and claims, conversations, timeline
// entries, merges, channel states, consents, audit), the queues (Redis
// Streams with one consumer group "hub" each, and their consumers'
// heartbeats), leases with fencing tokens,
// checkpoints, the provider-id index, the sign-in session key and epochs,
// counters and the realtime event channels; and the server's Redis
// Functions library "switchboard" (functions.go: loaded on first use, kept
// when a newer hub's is there; each version keeps the previous versions'
// functions for hubs not yet upgraded). The caller owns the
// client: Close stops the backend's own goroutines (subscriptions, queue
// heartbeats, whose keys it deletes) but does not close the client.
//
// # Rules
//
//   - Every key name comes from a function in keys.go and starts with the
//     prefix. The prefix must not contain '{' or '}'.
//   - Every key carries a {hash tag}: one per customer ({c:ID}: customer
//     record, conversations, thread index, timeline, entries, consents,
//     merge index, provider-id set), per identity ({i:TYPE:VALUE}: binding
//     and claim), per entry id ({e:ID}: dedupe record), per conversation id ({v:ID}: owner
//     locator), per merge ({m:ID}), per queue ({q:NAME}: stream, dead
//     stream, redelivery schedule), per lease ({l:NAME}: lease and its
//     fencing counter), per checkpoint, per provider id ({p:CHANNEL:ID}),
//     per budget ({budget:KEY}),
//     and a few global ones ({customers}, {convs}, {merges}, {channels},
//     {audit}, {counters}, {sessions}).
//   - A multi-key command or Lua script touches the keys of exactly one
//     hash tag, so everything works on Redis Cluster. Each script states its
//     KEYS, ARGV and return value in a comment (scripts.go).
//   - No operation spans two customers' slots atomically (DESIGN invariant
//     3). Sequences that cross slots (dedupe record then timeline, owner
//     locator then conversation, record then global index) are ordered so a
//     crash between the steps is healed by a retry of the same call, and
//     readers filter index members that are stale against the record
//     (the activity index, one member per conversation, lists one whose
//     score and record differ where the score puts it: conversations.go).
//   - Time comes from the injected store.Clock and is passed to scripts in
//     ARGV (lease expiry, retry backoff), never from Redis TTLs, so tests
//     can drive it with a fake clock. The one exception is a queue item
//     nobody acked: XAUTOCLAIM finds it by the idle time Redis measures.
//     (A single-use id of UseOnce is removed by a Redis TTL, but that only
//     collects garbage: callers give ids that outlive their own expiry,
//     which they judge by their clock.) A budget ({budget:KEY}:uses,
//     budgets.go) is the same: its window is judged by scores of the
//     store clock, and its PEXPIRE only collects it.
//   - The hot path of a message is plain commands and one script
//     (appendToConversation); concurrent commands share pipelines
//     (autopipe.go).
//   - Records are JSON; an entry's is a compact form of its own
//     (entrycodec.go: short names, no empty fields, integer times, its
//     format first), which reads the older json.Marshal form too.
//     MemoryByFamily (serverstats.go) says what each key family takes.
//
// # Imports
//
// Only store, connectors, internal/jsonstr (the JSON strings of the
// compact entries, shared with search/redis), github.com/redis/go-redis/v9
// and the standard library.
package redis
