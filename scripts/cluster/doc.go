// Command cluster is the driver of scripts/cluster.sh and of
// TestClusterEndToEnd: it starts a Redis Cluster (3 primaries with one
// replica each, internal/redisnodes), three hub replicas (the built
// binary) on it, and fake peers on 127.0.0.1 (a Slack Web API from
// slack-go's slacktest, a Telegram Bot API for the example plugin, and,
// when given, a Dovecot for the email channel). Load flows through every
// channel at once, spread over the three replicas by a load balancer that
// follows their /readyz: the api channel, the web form, Twilio-signed SMS
// webhooks, Slack-signed Events API requests, a Slack channel in Socket
// Mode (a loopback WebSocket fake of Slack's side, socket.go: Slack's
// service cannot run here), the Telegram plugin and mail.
//
// Steps (-steps, in order): e2e (live events on one replica for a message
// ingested on another; a phase change through one replica seen by all
// within 1 s; the plugin, Slack Socket Mode and email leases held by
// exactly one replica and taken over when it is SIGKILLed, and never two
// Socket Mode connections open at once; agent replies sent once), planned
// (CLUSTER FAILOVER of the ingest stream's primary), unplanned (SIGKILL of
// that primary; the replica is promoted after cluster-node-timeout) and
// rolling (SIGTERM and restart of each replica in turn). At the end every
// accepted message must be on its timeline exactly once; messages accepted
// around an unplanned failover that are missing are reported as lost by it.
//
// It is a tool, not part of the hub: it talks to the hubs only through
// HTTP, signals and Redis.
package main
