package redis

import "strings"

// Every key and channel name of the backend is built here. Each key is
//
//	PREFIX:{TAG}:NAME
//
// where TAG is the Redis Cluster hash tag: keys used together by one
// command, transaction or script share it. Components taken from data are
// escaped (see esc) so they cannot close a tag or collide with a separator.

// esc escapes the characters that would break the key structure.
func esc(s string) string {
	if !strings.ContainsAny(s, "%{}:") {
		return s
	}
	r := strings.NewReplacer("%", "%25", "{", "%7B", "}", "%7D", ":", "%3A")
	return r.Replace(s)
}

type keys struct{ p string }

func (k keys) key(tag, name string) string { return k.p + ":{" + tag + "}:" + name }

// ---- customer tag {c:ID} ----

func (k keys) customerTag(id string) string          { return "c:" + esc(id) }
func (k keys) customer(id string) string             { return k.key(k.customerTag(id), "customer") }
func (k keys) conversations(customer string) string  { return k.key(k.customerTag(customer), "convs") }
func (k keys) threads(customer string) string        { return k.key(k.customerTag(customer), "threads") }
func (k keys) entries(customer string) string        { return k.key(k.customerTag(customer), "entries") }
func (k keys) timeline(customer string) string       { return k.key(k.customerTag(customer), "timeline") }
func (k keys) consents(customer string) string       { return k.key(k.customerTag(customer), "consents") }
func (k keys) customerMerges(customer string) string { return k.key(k.customerTag(customer), "merges") }

// customerProviders is the set of the customer's provider-id records
// (members channel\x00providerID), so erasure finds them.
func (k keys) customerProviders(customer string) string {
	return k.key(k.customerTag(customer), "providers")
}

// ---- identity tag {i:TYPE:VALUE} ----

func (k keys) identityTag(typ, value string) string { return "i:" + esc(typ) + ":" + esc(value) }
func (k keys) binding(typ, value string) string     { return k.key(k.identityTag(typ, value), "bind") }
func (k keys) claim(typ, value string) string       { return k.key(k.identityTag(typ, value), "claim") }

// ---- per-id tags ----

// entryOwner is the dedupe record of an entry id: id → customer.
func (k keys) entryOwner(id string) string { return k.key("e:"+esc(id), "owner") }

// conversationOwner locates a conversation id: id → customer.
func (k keys) conversationOwner(id string) string { return k.key("v:"+esc(id), "owner") }

func (k keys) merge(id string) string      { return k.key("m:"+esc(id), "merge") }
func (k keys) checkpoint(n string) string  { return k.key("k:"+esc(n), "checkpoint") }
func (k keys) lease(name string) string    { return k.key("l:"+esc(name), "lease") }
func (k keys) leaseSeq(name string) string { return k.key("l:"+esc(name), "fence") }

// providerID is the hash (entry, customer) of an outbound message's provider id.
func (k keys) providerID(channel, providerID string) string {
	return k.key("p:"+esc(channel)+":"+esc(providerID), "provider")
}

// ---- queue tag {q:NAME} ----

func (k keys) queueTag(q string) string    { return "q:" + esc(q) }
func (k keys) queueStream(q string) string { return k.key(k.queueTag(q), "stream") }
func (k keys) queueDead(q string) string   { return k.key(k.queueTag(q), "dead") }

// queueDue is a ZSET of the pending (delivered, unacked) ids scored by the
// time (ms, injected clock) they become due for redelivery.
func (k keys) queueDue(q string) string { return k.key(k.queueTag(q), "due") }

// queueAlive is a consumer's heartbeat for the queue: a string with a TTL
// of QueueOptions.Heartbeat, refreshed by the process that reads with the
// consumer. The reclaim script builds the same name from queueAlivePrefix
// and the consumer name escaped alike (esc), in the queue's slot.
func (k keys) queueAlive(q, consumer string) string { return k.queueAlivePrefix(q) + esc(consumer) }
func (k keys) queueAlivePrefix(q string) string     { return k.key(k.queueTag(q), "alive:") }

// queueAckMark is the key a confirmed Ack writes before its WAIT
// (replicas.go): any write gives WAIT an offset covering everything the
// server executed before it.
func (k keys) queueAckMark(q string) string { return k.key(k.queueTag(q), "ackmark") }

// ---- global indexes, each its own tag ----

func (k keys) customerIndex() string   { return k.key("customers", "ids") }
func (k keys) suggestionIndex() string { return k.key("merges", "proposed") }
func (k keys) channelStates() string   { return k.key("channels", "state") }
func (k keys) audit() string           { return k.key("audit", "log") }
func (k keys) counters() string        { return k.key("counters", "values") }

// conversationIndex is the activity index: one member per conversation
// (activityMember) scored by its activity (activityScore). It replaced
// legacyConversationIndex (see conversations.go for the migration).
func (k keys) conversationIndex() string { return k.key("convs", "recent") }

// legacyConversationIndex is the activity index of hubs before the one
// above: a lex ZSET (scores 0) of ConversationCursor + "\x00" + customer,
// one member per activity a conversation had (the old one removed after).
// Older hubs still write it during a rolling upgrade; this version only
// moves its members into conversationIndex.
func (k keys) legacyConversationIndex() string { return k.key("convs", "activity") }

// auditIDs maps a given audit record id to its stream id (written once).
func (k keys) auditIDs() string { return k.key("audit", "ids") }

// sign-in sessions: the key (string) and the epochs (hash agent → integer).
func (k keys) sessionKey() string    { return k.key("sessions", "key") }
func (k keys) sessionEpochs() string { return k.key("sessions", "epochs") }

// quarantine: items (hash id → JSON) and their order (ZSET id by time) share one tag.
func (k keys) quarantineItems() string { return k.key("quarantine", "items") }
func (k keys) quarantineOrder() string { return k.key("quarantine", "order") }

// ---- pub/sub channels (not keys, but prefixed all the same) ----

func (k keys) events(topic string) string { return k.p + ":events:" + topic }

// queueGroup is the one consumer group of every queue stream.
const queueGroup = "hub"

// ---- data rights (rights.go) ----

// blobRefs is the set of entry ids that reference attachment blob sum.
func (k keys) blobRefs(sum string) string { return k.key("b:"+esc(sum), "refs") }

// blobRefsBackfilled marks that the references of entries written before
// blob references existed were recorded (BackfillBlobRefs).
func (k keys) blobRefsBackfilled() string { return k.key("b:backfill", "done") }

// tombstone marks a keyed hash of an erased provider message id.
func (k keys) tombstone(hash string) string { return k.key("t:"+esc(hash), "tomb") }

// ---- data rights (consent.go) ----

// consentLog is the customer's consent history: a hash whose fields sort
// by time (nanos first), each a decision as JSON.
func (k keys) consentLog(customer string) string {
	return k.key(k.customerTag(customer), "consent-log")
}

// selfservice: access links and erasure requests (hashes id → JSON).
func (k keys) accessLinks() string     { return k.key("selfservice", "links") }
func (k keys) erasureRequests() string { return k.key("selfservice", "erasure") }

// ---- adoption figures, tag {f:CHANNEL} (one slot per channel, so PFCOUNT
// over many days and the day index work on a Cluster) ----

func (k keys) figureTag(channel string) string { return "f:" + esc(channel) }

// figureCells is a ZSET (all scores 0) of "DAY|PHASE", read by lex range.
func (k keys) figureCells(channel string) string { return k.key(k.figureTag(channel), "cells") }

// figureCell is the hash figure name → count of one channel, day and phase.
func (k keys) figureCell(channel, day, phase string) string {
	return k.key(k.figureTag(channel), "cell:"+esc(day)+":"+esc(phase))
}

// figureWrite marks a FigureAdd write id as applied (AddFigures).
func (k keys) figureWrite(channel, id string) string {
	return k.key(k.figureTag(channel), "write:"+esc(id))
}

// figureSenders is the HyperLogLog of distinct senders of one cell.
func (k keys) figureSenders(channel, day, phase string) string {
	return k.key(k.figureTag(channel), "senders:"+esc(day)+":"+esc(phase))
}

// phaseHistory is the list of a channel's phase changes (JSON), oldest first.
func (k keys) phaseHistory(channel string) string { return k.key(k.figureTag(channel), "phases") }

// customerChannels is the set of channels a customer was seen on (reach).
func (k keys) customerChannels(customer string) string {
	return k.key(k.customerTag(customer), "channels")
}

// ---- outgoing webhooks: one tag {wh} (outbox, deliveries, endpoints) ----

func (k keys) whEvents() string    { return k.key("wh", "events") }  // hash id → WebhookEvent
func (k keys) whSeq() string       { return k.key("wh", "seq") }     // counter: events' Seq
func (k keys) whPending() string   { return k.key("wh", "pending") } // ZSET seq → id (not fanned out)
func (k keys) whDelivery() string  { return k.key("wh", "dl") }      // hash endpoint\x00id → WebhookDelivery
func (k keys) whEndpoints() string { return k.key("wh", "endpoints") }

// whAll and whDue index one endpoint's deliveries (all; pending) by Seq.
func (k keys) whAll(endpoint string) string { return k.key("wh", "all:"+esc(endpoint)) }
func (k keys) whDue(endpoint string) string { return k.key("wh", "due:"+esc(endpoint)) }

// whCustomer is the set of a customer's event ids (erasure).
func (k keys) whCustomer(customer string) string { return k.key("wh", "cust:"+esc(customer)) }

// durable timers (timers.go): one set's keys share the tag "tm:SET".
func (k keys) timerDue(set string) string  { return k.key("tm:"+esc(set), "due") }  // ZSET id → at (unix ms)
func (k keys) timerData(set string) string { return k.key("tm:"+esc(set), "data") } // hash id → payload
// conversationDueIndex is the lex ZSET of SLADueCursor + "\x00" + customer
// of the conversations with an SLA due time (ListConversations, SortSLADue).
func (k keys) conversationDueIndex() string { return k.key("convs", "sla_due") }
