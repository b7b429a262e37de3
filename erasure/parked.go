package erasure

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/nyaruka/phonenumbers"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// parkedLimit bounds one listing of the quarantine (whose List needs a
// limit); dead letters are listed whole.
const parkedLimit = 100000

// personMatcher tells whether a message that is on no timeline yet (held
// in quarantine, or dead-lettered) is the erased person's: it carries one
// of their identities.
//
// Dead-lettered inbound messages were normalised by ingest, so their
// identities compare exactly. A quarantined message is kept as the channel
// built it (a web form's phone "040 999 8877", an address "Erin@Example.COM"),
// so its identities are also compared in canonical form: e-mail addresses
// normalised, phone numbers read with their own country code or, without
// one, in the region of one of the person's numbers (which is where ingest
// would have read such a number for them).
type personMatcher struct {
	keys    map[string]bool
	regions []string
}

func newPersonMatcher(ids []connectors.Identity) *personMatcher {
	m := &personMatcher{keys: map[string]bool{}}
	seen := map[string]bool{}
	for _, id := range ids {
		m.keys[id.Key()] = true
		if id.Type != connectors.Phone {
			continue
		}
		if num, err := phonenumbers.Parse(id.Value, ""); err == nil {
			if r := phonenumbers.GetRegionCodeForNumber(num); r != "" && !seen[r] {
				seen[r] = true
				m.regions = append(m.regions, r)
			}
		}
	}
	return m
}

func (m *personMatcher) matches(id connectors.Identity) bool {
	if m.keys[id.Key()] {
		return true
	}
	regions := append([]string{""}, m.regions...)
	if id.Type != connectors.Phone {
		regions = regions[:1]
	}
	for _, r := range regions {
		if n, err := connectors.Normalize(id, r); err == nil && m.keys[n.Key()] {
			return true
		}
	}
	return false
}

// carries reports whether the JSON of a connectors.Message carries one of
// the person's identities (a payload that is no message does not).
func (m *personMatcher) carries(payload []byte) bool {
	var msg connectors.Message
	return json.Unmarshal(payload, &msg) == nil && m.carriesMsg(msg)
}

// carriesMsg reports whether msg carries an identity of the person.
func (m *personMatcher) carriesMsg(msg connectors.Message) bool {
	for _, id := range msg.Identities {
		if m.matches(id) {
			return true
		}
	}
	return false
}

// parked counts what eraseParked did.
type parked struct {
	quarantined, dead, queued int
}

// eraseParked removes the person's messages that wait outside any
// timeline: quarantined messages and inbound dead letters that carry one of
// their identities, and outbound dead letters of their replies (entries,
// the ids of the person's erased entries). Their inbound messages still in
// the ingest queue (not yet processed, or waiting for a retry) each get a
// tombstone and are acked: a waiting one is never handed out, and one a
// router holds at this moment is dropped like a replay when its tombstone
// check comes after the erasure (and acked again, which is a no-op).
func eraseParked(ctx context.Context, st store.Store, tombs *store.Tombstoner, at time.Time, ids []connectors.Identity, entries map[string]bool) (parked, error) {
	var r parked
	var err error
	m := newPersonMatcher(ids)
	r.quarantined, r.dead, err = eraseParkedItems(ctx, st, m, entries)
	if err != nil {
		return r, err
	}
	qs, err := st.PeekQueue(ctx, store.QueueIngest, 0)
	if err != nil {
		return r, fmt.Errorf("erase: ingest queue: %w", err)
	}
	for _, d := range qs {
		var msg connectors.Message
		if json.Unmarshal(d.Payload, &msg) != nil || msg.ID == "" || !m.carriesMsg(msg) {
			continue
		}
		if err := tombs.Bury(ctx, msg.ID, at); err != nil {
			return r, fmt.Errorf("erase: tombstone: %w", err)
		}
		if msg.Thread != nil && msg.Thread.MessageID != "" {
			if err := tombs.Bury(ctx, store.MessageIDTombstone("<"+msg.Thread.MessageID+">"), at); err != nil {
				return r, fmt.Errorf("erase: tombstone: %w", err)
			}
		}
		if err := st.Ack(ctx, store.QueueIngest, d.ID); err != nil {
			return r, fmt.Errorf("erase: ingest queue: %w", err)
		}
		r.queued++
	}
	return r, nil
}

func eraseParkedItems(ctx context.Context, st store.Store, m *personMatcher, entries map[string]bool) (quarantined, dead int, err error) {
	qs, err := st.ListQuarantine(ctx, "", parkedLimit)
	if err != nil {
		return 0, 0, fmt.Errorf("erase: quarantine: %w", err)
	}
	for _, q := range qs {
		if !m.carries(q.Payload) {
			continue
		}
		if _, err := st.TakeQuarantine(ctx, q.ID); err == nil {
			quarantined++
		}
	}
	in, err := st.DeadLetters(ctx, store.QueueIngest, 0)
	if err != nil {
		return quarantined, 0, fmt.Errorf("erase: dead letters: %w", err)
	}
	var drop []string
	for _, d := range in {
		if m.carries(d.Payload) {
			drop = append(drop, d.ID)
		}
	}
	n, err := st.DeleteDead(ctx, store.QueueIngest, drop...)
	if err != nil {
		return quarantined, 0, fmt.Errorf("erase: dead letters: %w", err)
	}
	dead += n
	out, err := st.DeadLetters(ctx, store.QueueOutbound, 0)
	if err != nil {
		return quarantined, dead, fmt.Errorf("erase: dead letters: %w", err)
	}
	drop = drop[:0]
	for _, d := range out {
		// router.outItem: an outbound item names the reply entry.
		var item struct {
			EntryID string `json:"entry_id"`
		}
		if json.Unmarshal(d.Payload, &item) == nil && entries[item.EntryID] {
			drop = append(drop, d.ID)
		}
	}
	n, err = st.DeleteDead(ctx, store.QueueOutbound, drop...)
	if err != nil {
		return quarantined, dead, fmt.Errorf("erase: dead letters: %w", err)
	}
	return quarantined, dead + n, nil
}
