// Command chaos is the driver of scripts/chaos.sh: it starts its own Redis
// (appendonly yes, appendfsync always), two hub replicas and a fake
// Telegram Bot API for the example Telegram plugin, all on 127.0.0.1, and
// runs cycles of faults while load flows: SIGKILL of a hub replica (then
// restarted), SIGKILL of Redis (then restarted on the same files), SIGKILL
// of the plugin process (the hub restarts it), and a restart of Dovecot
// when one is given. At the end it checks that every accepted message is
// on a timeline exactly once and prints cycles, messages, lost,
// duplicated and the recovery times (p50/p99) per fault.
//
// It is a tool, not part of the hub: it imports only the fake Telegram
// server (plugins/examples/telegram/telegramtest) and go-redis, and talks
// to the hub only through its HTTP API, signals and the queue stream in
// Redis (to see when work older than a fault is done).
package main
