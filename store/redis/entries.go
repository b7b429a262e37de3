package redis

import (
	"context"
	"fmt"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// An entry lives in its customer's tag (hash entries: id → JSON, and the
// timeline ZSET of sort keys, written together by one script). Its dedupe
// record {e:ID}:owner maps the id to that customer.
//
// AppendEntry writes the dedupe record first (create-if-absent), then the
// entry into the recorded owner's timeline unless it is there. Whoever's
// script writes the entry gets created=true — exactly one caller — and a
// caller that crashed between the steps left only the dedupe record, so the
// next call with that id writes the entry (into the recorded customer).

func (s *Store) AppendEntry(ctx context.Context, e store.Entry) (_ store.Entry, _ bool, err error) {
	defer opErr(&err, "append entry", e.ID, "to customer", e.CustomerID)
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.now()
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = e.CreatedAt
	}
	if err := s.addBlobRefs(ctx, e); err != nil {
		return store.Entry{}, false, err
	}
	owner, _, err := s.createIfAbsent(ctx, s.k.entryOwner(e.ID), e.CustomerID)
	if err != nil {
		return store.Entry{}, false, err
	}
	// When the id is recorded for another customer whose timeline lacks it
	// (its writer crashed or is in flight), the entry goes there: one entry
	// per id, and GetEntry finds it.
	e.CustomerID = owner
	raw, created, err := pair(appendEntry.Run(ctx, s.c,
		[]string{s.k.entries(owner), s.k.timeline(owner)},
		e.ID, s.encodeEntry(e, e.ID, owner), e.SortKey()).Slice())
	if err != nil {
		return store.Entry{}, false, err
	}
	if created {
		return e, true, nil // what was stored is e itself: no need to decode it back
	}
	var out store.Entry
	return out, created, decodeEntry(raw, e.ID, owner, &out)
}

// AppendToConversation records the dedupe record as AppendEntry does, then
// swaps the conversation (swapConversation) with a script in the customer's
// tag that also appends the entry, with seen (re-encoded) as the expected
// JSON. For a caller that just read the conversation, the hot path is one
// create-if-absent, that pipeline and the old member's removal. A stale seen costs one
// retry; the script hands back the current JSON, so the retry needs no read
// either.
func (s *Store) AppendToConversation(ctx context.Context, e store.Entry, seen store.Conversation, fn func(*store.Conversation) error) (_ store.Entry, _ store.Conversation, _ bool, err error) {
	return s.appendToConversation(ctx, e, seen, fn, nil)
}

// appendToConversation is AppendToConversation that also records evs: in
// the one-step call when it is taken, else with PutWebhookEvents just
// before the Cluster path's first write (AppendWithWebhookEvents).
func (s *Store) appendToConversation(ctx context.Context, e store.Entry, seen store.Conversation, fn func(*store.Conversation) error, evs []store.WebhookEvent) (_ store.Entry, _ store.Conversation, _ bool, err error) {
	defer opErr(&err, "append entry", e.ID, "to conversation", e.ConversationID)
	dropPrefetched(ctx)
	if e.CreatedAt.IsZero() {
		e.CreatedAt = s.now()
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = e.CreatedAt
	}
	id := e.ConversationID
	convOwner, err := s.conversationOwner(ctx, id)
	if err != nil {
		return store.Entry{}, store.Conversation{}, false, err
	}
	if err := s.addBlobRefs(ctx, e); err != nil {
		return store.Entry{}, store.Conversation{}, false, err
	}
	if s.oneStep() { // standalone: one script for all of it (onestep.go)
		if got, c, created, ok, err := s.appendOneStep(ctx, e, seen, fn, convOwner, evs); ok {
			return got, c, created, err
		}
	}
	if err := s.PutWebhookEvents(ctx, evs); err != nil {
		return store.Entry{}, store.Conversation{}, false, err
	}
	ownerKey := s.k.entryOwner(e.ID)
	owner, recorded, err := s.createIfAbsent(ctx, ownerKey, convOwner)
	if err != nil {
		return store.Entry{}, store.Conversation{}, false, err
	}
	if owner != convOwner {
		// The id was recorded for another customer by a call that did not
		// finish: the entry goes there (one entry per id), and the
		// conversation, in another tag, is updated after it.
		got, created, err := s.AppendEntry(ctx, e)
		if err != nil || !created {
			return got, store.Conversation{}, created, err
		}
		// fn's error passes both this method's and UpdateConversation's
		// opErr as is: each unwraps one callerError.
		c, err := s.UpdateConversation(ctx, id, func(c *store.Conversation) error {
			if err := fn(c); err != nil {
				return callerError{err}
			}
			return nil
		})
		return got, c, true, err
	}
	// gone undoes this call's dedupe record when the conversation does not
	// exist (deleted since it was looked up), so that nothing is written.
	gone := func() (store.Entry, store.Conversation, bool, error) {
		s.owners.drop(id)
		if recorded {
			if err := casDel.Run(ctx, s.c, []string{ownerKey}, owner).Err(); err != nil {
				return store.Entry{}, store.Conversation{}, false, err
			}
		}
		return store.Entry{}, store.Conversation{}, false, store.ErrNotFound
	}
	e.CustomerID = owner
	hkey, tkey := s.k.conversations(owner), s.k.threads(owner)
	keys := []string{hkey, tkey, s.k.entries(owner), s.k.timeline(owner)}
	var old string
	var before store.Conversation
	if seen.ID == id && seen.CustomerID == owner {
		old, before = marshal(seen), seen
	} else {
		raw, err := s.c.HGet(ctx, hkey, id).Result()
		if isNil(err) {
			return gone()
		}
		if err != nil {
			return store.Entry{}, store.Conversation{}, false, err
		}
		if err := unmarshal(raw, &before); err != nil {
			return store.Entry{}, store.Conversation{}, false, err
		}
		old = raw
	}
	entry := s.encodeEntry(e, e.ID, owner)
	for i := 0; i < maxCAS; i++ {
		c, err := nextConversation(before, id, fn)
		if err != nil {
			return store.Entry{}, store.Conversation{}, false, err
		}
		args := append(conversationArgs(old, before, c), e.ID, entry, e.SortKey())
		w := s.swapConversation(ctx, before, c, appendToConversation, keys, args...)
		r, err := w.run.Slice()
		if err != nil {
			return store.Entry{}, store.Conversation{}, false, err
		}
		if len(r) != 2 {
			return store.Entry{}, store.Conversation{}, false, fmt.Errorf("store/redis: unexpected script reply %v", r)
		}
		code, _ := r[0].(int64)
		raw, _ := r[1].(string)
		switch code {
		case 1:
			w.settle(ctx, s)
			return e, c, true, nil
		case 0:
			var got store.Entry
			return got, store.Conversation{}, false, decodeEntry(raw, e.ID, owner, &got)
		case -1:
			return store.Entry{}, store.Conversation{}, false, store.ErrConflict
		}
		if raw == "" {
			return gone()
		}
		before = store.Conversation{}
		if err := unmarshal(raw, &before); err != nil {
			return store.Entry{}, store.Conversation{}, false, err
		}
		old = raw
		if err := ctx.Err(); err != nil {
			return store.Entry{}, store.Conversation{}, false, err
		}
	}
	return store.Entry{}, store.Conversation{}, false, store.ErrConflict
}

func (s *Store) entryOwner(ctx context.Context, id string) (string, error) {
	owner, err := s.c.Get(ctx, s.k.entryOwner(id)).Result()
	if isNil(err) {
		return "", store.ErrNotFound
	}
	return owner, err
}

func (s *Store) GetEntry(ctx context.Context, id string) (_ store.Entry, err error) {
	defer opErr(&err, "get entry", id)
	var owner string
	if a, ok := takePrefetched(ctx, s.k.entryOwner(id)); ok {
		if !a.exists {
			return store.Entry{}, store.ErrNotFound
		}
		owner = a.val
	} else if owner, err = s.entryOwner(ctx, id); err != nil {
		return store.Entry{}, err
	}
	raw, err := s.c.HGet(ctx, s.k.entries(owner), id).Result()
	if isNil(err) {
		return store.Entry{}, store.ErrNotFound
	}
	if err != nil {
		return store.Entry{}, err
	}
	var e store.Entry
	return e, decodeEntry(raw, id, owner, &e)
}

func (s *Store) UpdateEntry(ctx context.Context, id string, fn func(*store.Entry) error) (_ store.Entry, err error) {
	defer opErr(&err, "update entry", id)
	owner, err := s.entryOwner(ctx, id)
	if err != nil {
		return store.Entry{}, err
	}
	var out store.Entry
	err = s.update(ctx, fieldAt(s.k.entries(owner), id), func(old string) (string, error) {
		var before, e store.Entry
		if err := decodeEntry(old, id, owner, &before); err != nil {
			return "", err
		}
		e = before
		if err := fn(&e); err != nil {
			return "", callerError{err}
		}
		if !e.OccurredAt.Equal(before.OccurredAt) || e.CustomerID != before.CustomerID || e.ID != before.ID {
			return "", store.ErrConflict
		}
		e.OccurredAt = before.OccurredAt
		e.Version = before.Version + 1
		out = e
		return s.encodeEntry(e, id, owner), nil
	})
	return out, err
}

func (s *Store) PageEntries(ctx context.Context, customerID, before string, limit int) (_ []store.Entry, err error) {
	defer opErr(&err, "page entries of customer", customerID)
	max := "+"
	if before != "" {
		max = "(" + before
	}
	var count int64
	if limit > 0 {
		count = int64(limit)
	}
	rng := &goredis.ZRangeBy{Min: "-", Max: max}
	if count > 0 {
		rng.Count = count
	}
	members, err := s.c.ZRevRangeByLex(ctx, s.k.timeline(customerID), rng).Result()
	if err != nil {
		return nil, err
	}
	if len(members) == 0 {
		return nil, nil
	}
	ids := make([]string, len(members))
	for i, m := range members {
		ids[i] = store.SortKeyID(m)
	}
	vals, err := s.c.HMGet(ctx, s.k.entries(customerID), ids...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]store.Entry, 0, len(vals))
	for i, v := range vals {
		str, ok := v.(string)
		if !ok {
			continue
		}
		var e store.Entry
		if err := decodeEntry(str, ids[i], customerID, &e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

func (s *Store) CountEntries(ctx context.Context, customerID string) (_ int, err error) {
	defer opErr(&err, "count entries of customer", customerID)
	n, err := s.c.HLen(ctx, s.k.entries(customerID)).Result()
	return int(n), err
}

// DeleteEntries removes the customer's provider-id records and the dedupe
// records that point at the customer, then (one script) the entries and
// the timeline.
func (s *Store) DeleteEntries(ctx context.Context, customerID string) (_ int, err error) {
	defer opErr(&err, "delete entries of customer", customerID)
	if err := s.deleteCustomerProviderIDs(ctx, customerID); err != nil {
		return 0, err
	}
	ids, err := s.c.HKeys(ctx, s.k.entries(customerID)).Result()
	if err != nil {
		return 0, err
	}
	for start := 0; start < len(ids); start += 500 {
		end := min(start+500, len(ids))
		_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, id := range ids[start:end] {
				casDel.Eval(ctx, p, []string{s.k.entryOwner(id)}, customerID)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	n, err := deleteTimeline.Run(ctx, s.c, []string{s.k.entries(customerID), s.k.timeline(customerID)}).Int()
	return n, err
}
