package redis

import (
	"context"
	"fmt"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// One step for an inbound message's store work on a standalone Redis
// (issue 23). On a Cluster, AppendToConversation is two round trips: the
// entry id's dedupe record ({e:ID}, create-if-absent), then the activity
// index's score ({convs}) pipelined with the append script (customer's
// tag); they live in different slots. A standalone server (or Sentinel's
// master) has no slots, so one script does all of it atomically: one
// command sent instead of three, and one wait instead of two. The index's
// score is then always its record's: nothing can see it half done.
//
// Anything unusual leaves it for the Cluster path, which handles every
// case: a dedupe record naming another customer, a change of the SLA
// due-time index, or a server that refuses the script.

// appendInOneStep is appendToConversation plus the dedupe record and the
// activity index.
// KEYS[1..4] as appendToConversation's, KEYS[5] the entry id's dedupe
// record, KEYS[6] the activity index.
// ARGV[1..9] as appendToConversation's; ARGV[10] the customer (the dedupe
// record's value), ARGV[11] the conversation's activity index member,
// ARGV[12] its new score (v1..v3: the legacy index's new and old member).
// v5 adds the entry's outbox events (issue 21): KEYS[7..9] the outbox's
// events hash, seq counter and pending index, KEYS[10..] each event's
// customer set; ARGV[13] the announcement's channel ("" for none),
// ARGV[14] the number of events n, ARGV[15..14+4n] whPutEvent's four
// arguments per event, then the announcement's payloads.
// Returns appendToConversation's replies, and {3, owner} when the dedupe
// record names another customer (nothing written). The dedupe record is
// created first (SET NX GET, as the Cluster path's create-if-absent) and
// removed again when this call made it and the conversation is gone.
var appendInOneStep = goredis.NewScript(conversationHelpers + oneStepBody)

// The append function's body in its four versions, built from shared
// pieces so a fix to one cannot miss the others (each stays registered in
// the functions library, see functions.go):
//
//   - sb_append_v1: head, the entry check, middle, the lex index, the
//     return;
//   - sb_append_v2: the entry check guarded by "if o then";
//   - sb_append_v3: v2 plus the announcement's PUBLISH loop;
//   - sb_append_v4: v3 with the activity index as one scored member per
//     conversation (one ZADD, no ZREM; see conversations.go);
//   - sb_append_v5: v4 that also records the entry's outbox events (the
//     webhooks' {wh} keys: a standalone server has no slots), with
//     whPutEvent's own text, only when it writes the entry.
//
// v2's guard reads the customer's entries only when the dedupe record
// already existed: a record this call created means no entry with the id
// was ever written (every writer creates the record before the entry, and
// removes it only after the entry; erasure buries the id before it deletes
// records), so the common case runs one command less. v3's ARGV[13] (the
// events channel) and ARGV[14..] (payloads) are the caller's
// store.Announcement: published in order once the entry is written.
// TestAppendBodiesUnchanged holds each version's text as it was first
// shipped: a function's behaviour never changes under its name (change
// it under a new name and raise libraryVersion).
const (
	// appendHead creates the dedupe record (SET NX GET) and stops at
	// another customer's.
	appendHead = `
local o = redis.call('SET', KEYS[5], ARGV[10], 'NX', 'GET')
if o and o ~= ARGV[10] then return {3, o} end
`
	// appendEntryCheck answers an entry already written with this id.
	appendEntryCheck = `local e = redis.call('HGET', KEYS[3], ARGV[7])
if e then return {0, e} end
`
	// appendMiddle checks the conversation (removing a dedupe record this
	// call made when the conversation is gone) and writes the entry and
	// the conversation.
	appendMiddle = `local cur = redis.call('HGET', KEYS[1], ARGV[1])
if cur ~= ARGV[2] then
  if not cur and not o then redis.call('DEL', KEYS[5]) end
  return {2, cur}
end
if storeConversation(ARGV[1], ARGV[3], ARGV[4], ARGV[5], ARGV[6]) ~= 1 then return {-1, ''} end
redis.call('HSET', KEYS[3], ARGV[7], ARGV[8])
redis.call('ZADD', KEYS[4], 0, ARGV[9])
`
	// appendLexIndex writes the legacy lex activity index (v1..v3): the
	// new member ARGV[11], the old one ARGV[12] removed.
	appendLexIndex = `redis.call('ZADD', KEYS[6], 0, ARGV[11])
if ARGV[12] ~= ARGV[11] then redis.call('ZREM', KEYS[6], ARGV[12]) end
`
	// appendScoreIndex writes the activity index (v4): the conversation's
	// one member ARGV[11] takes its new score ARGV[12].
	appendScoreIndex = `redis.call('ZADD', KEYS[6], ARGV[12], ARGV[11])
`
	// appendPublish publishes the announcement's payloads.
	appendPublish = `for i = 14, #ARGV do redis.call('PUBLISH', ARGV[13], ARGV[i]) end
`
	appendReturn = `return {1, ''}
`
	// appendEventsHelper (v5) defines putEvents, which records the events
	// of ARGV[14..] with whPutEvent's text run as a function of its own
	// KEYS and ARGV: the same recording, dedupe by id and by legacy id
	// included, as an older hub's separate one (scripts.go).
	appendEventsHelper = `local function putEvent(KEYS, ARGV)` + whPutEventBody + `end
local function putEvents()
  for i = 0, tonumber(ARGV[14]) - 1 do
    putEvent({KEYS[7], KEYS[8], KEYS[9], KEYS[10+i]}, {ARGV[15+4*i], ARGV[16+4*i], ARGV[17+4*i], ARGV[18+4*i]})
  end
end
`
	// appendEventsPublish (v5) records the events and publishes the
	// announcement's payloads, which follow the events' arguments.
	appendEventsPublish = `putEvents()
for i = 15 + 4 * tonumber(ARGV[14]), #ARGV do redis.call('PUBLISH', ARGV[13], ARGV[i]) end
`
)

// appendBody is the append function's body: with guarded, the entry check
// runs only for a dedupe record that already existed (v2 on); with
// publish, the announcement is published (v3 on); with scored, the
// activity index is one member per conversation with its activity as
// score (v4) instead of the lex index; with events, the outbox events are
// recorded with the entry (v5, which is guarded, publishes and is scored).
func appendBody(guarded, publish, scored, events bool) string {
	var b strings.Builder
	if events {
		b.WriteString(appendEventsHelper)
	}
	b.WriteString(appendHead)
	if guarded {
		b.WriteString("if o then\n")
		for _, line := range strings.SplitAfter(appendEntryCheck, "\n") {
			if line != "" {
				b.WriteString("  " + line)
			}
		}
		b.WriteString("end\n")
	} else {
		b.WriteString(appendEntryCheck)
	}
	b.WriteString(appendMiddle)
	if scored {
		b.WriteString(appendScoreIndex)
	} else {
		b.WriteString(appendLexIndex)
	}
	switch {
	case events:
		b.WriteString(appendEventsPublish)
	case publish:
		b.WriteString(appendPublish)
	}
	b.WriteString(appendReturn)
	return b.String()
}

var (
	// oneStepBody is sb_append_v5, this version's.
	oneStepBody = appendBody(true, true, true, true)
	// oneStepBodyV4 is sb_append_v4, kept for hubs of the previous version
	// during a rolling upgrade: v5 without the events (ARGV[13] the
	// channel, ARGV[14..] the payloads).
	oneStepBodyV4 = appendBody(true, true, true, false)
	// oneStepBodyV3 is sb_append_v3, kept likewise: v4 with the legacy lex
	// activity index (KEYS[6] is then that index, ARGV[11] and ARGV[12]
	// its new and old members).
	oneStepBodyV3 = appendBody(true, true, false, false)
	// oneStepBodyV2 is sb_append_v2, kept likewise: v3 without the
	// announcement.
	oneStepBodyV2 = appendBody(true, false, false, false)
	// oneStepBodyV1 is sb_append_v1, kept likewise: it read the entry
	// whatever the dedupe record said.
	oneStepBodyV1 = appendBody(false, false, false, false)
)

// oneStep reports whether AppendToConversation may take the one-step path:
// a standalone server that has not refused the script (SET NX GET needs
// Redis 6.2: an older one answers "syntax error" and is refused).
func (s *Store) oneStep() bool {
	return !s.sharded() && !s.noOneStep.Load()
}

// appendOneStep is AppendToConversation on a standalone server, for the
// conversation id whose owner is convOwner, recording evs in the same
// call when it writes the entry (v5). ok false: nothing
// was decided and evs are not recorded, take the Cluster path (which may
// find the dedupe record this call wrote for the same customer: that is
// its create-if-absent's answer too). Every other answer has written
// nothing, evs included: a conversation that changed is retried with the
// same evs, and a conversation gone or a conflict leaves no entry, so no
// events (as the embedded store's transaction; a redelivery records them
// with the entry).
func (s *Store) appendOneStep(ctx context.Context, e store.Entry, seen store.Conversation, fn func(*store.Conversation) error, convOwner string, evs []store.WebhookEvent) (_ store.Entry, _ store.Conversation, _ bool, ok bool, err error) {
	id := e.ConversationID
	e.CustomerID = convOwner
	keys := make([]string, 0, 9+len(evs))
	keys = append(keys, s.k.conversations(convOwner), s.k.threads(convOwner), s.k.entries(convOwner), s.k.timeline(convOwner),
		s.k.entryOwner(e.ID), s.k.conversationIndex(), s.k.whEvents(), s.k.whSeq(), s.k.whPending())
	evArgs := make([]any, 0, 4*len(evs))
	now := s.now()
	for _, ev := range evs {
		ck, args := s.whPutEventArgs(ev, now)
		keys = append(keys, ck)
		evArgs = append(evArgs, args...)
	}
	var old string
	var before store.Conversation
	if seen.ID == id && seen.CustomerID == convOwner {
		old, before = marshal(seen), seen
	} else {
		raw, err := s.c.HGet(ctx, keys[0], id).Result()
		if isNil(err) {
			return store.Entry{}, store.Conversation{}, false, false, nil // the Cluster path says ErrNotFound
		}
		if err != nil {
			return store.Entry{}, store.Conversation{}, false, true, err
		}
		if err := unmarshal(raw, &before); err != nil {
			return store.Entry{}, store.Conversation{}, false, true, err
		}
		old = raw
	}
	entry := s.encodeEntry(e, e.ID, convOwner)
	ann := store.AnnouncementOf(ctx)
	for i := 0; i < maxCAS; i++ {
		c, err := nextConversation(before, id, fn)
		if err != nil {
			return store.Entry{}, store.Conversation{}, false, true, err
		}
		if s.dueMember(c) != s.dueMember(before) {
			return store.Entry{}, store.Conversation{}, false, false, nil
		}
		args := append(conversationArgs(old, before, c), e.ID, entry, e.SortKey(), convOwner, s.activityMember(c), scoreArg(activityScore(c.LastActivity)))
		channel := ""
		if ann != nil {
			channel = s.k.events(ann.Topic)
		}
		args = append(args, channel, len(evs))
		args = append(args, evArgs...)
		if ann != nil {
			for _, p := range ann.Events(before, c) {
				args = append(args, p)
			}
		}
		r, err := s.fcall(ctx, "sb_append_v5", appendInOneStep, keys, args...).Slice()
		if err != nil {
			if ctx.Err() == nil && !isNil(err) && isScriptRefused(err) {
				s.noOneStep.Store(true)
				s.log.Warn("store/redis: the one-step append was refused; using the Cluster path", "err", err)
				return store.Entry{}, store.Conversation{}, false, false, nil
			}
			return store.Entry{}, store.Conversation{}, false, true, err
		}
		if len(r) != 2 {
			return store.Entry{}, store.Conversation{}, false, true, fmt.Errorf("store/redis: unexpected script reply %v", r)
		}
		code, _ := r[0].(int64)
		raw, _ := r[1].(string)
		switch code {
		case 1:
			if ann != nil {
				ann.MarkPublished()
			}
			return e, c, true, true, nil
		case 0:
			var got store.Entry
			return got, store.Conversation{}, false, true, decodeEntry(raw, e.ID, convOwner, &got)
		case -1:
			return store.Entry{}, store.Conversation{}, false, true, store.ErrConflict
		case 3:
			return store.Entry{}, store.Conversation{}, false, false, nil // another customer's id: the Cluster path
		}
		if raw == "" {
			s.owners.drop(id)
			return store.Entry{}, store.Conversation{}, false, true, store.ErrNotFound
		}
		before = store.Conversation{}
		if err := unmarshal(raw, &before); err != nil {
			return store.Entry{}, store.Conversation{}, false, true, err
		}
		old = raw
		if err := ctx.Err(); err != nil {
			return store.Entry{}, store.Conversation{}, false, true, err
		}
	}
	return store.Entry{}, store.Conversation{}, false, true, store.ErrConflict
}

// isScriptRefused: the server will not run the one-step script at all (no
// scripting allowed, or keys of several slots refused: a proxy or a
// Cluster node behind a plain client), as opposed to a failed call.
func isScriptRefused(err error) bool {
	m := err.Error()
	if strings.HasPrefix(m, "OOM") || strings.HasPrefix(m, "BUSY") {
		// "OOM command not allowed …" and a busy server pass: they are
		// not a refusal of the script, and one must not turn the one-step
		// path off for the rest of the process.
		return false
	}
	for _, s := range []string{"NOPERM", "unknown command", "CROSSSLOT", "non local key", "not allowed", "syntax error"} {
		if strings.Contains(m, s) {
			return true
		}
	}
	return false
}
