package embedded

import (
	"context"
	"encoding/binary"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// Timeline layout: bTimeline holds the entries themselves under
// customerID\x00SortKey (so a page is one backwards cursor walk), bEntryIDs
// maps every entry id to its timeline key (the dedupe index, global across
// customers) and bEntryCounts keeps each timeline's length.

func (s *Store) AppendEntry(ctx context.Context, e store.Entry) (store.Entry, bool, error) {
	e = s.entryDefaults(e)
	var out store.Entry
	var created bool
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		var err error
		out, created, err = appendEntry(tx, e)
		return err
	})
	if err != nil {
		return store.Entry{}, false, err
	}
	return out, created, nil
}

// AppendToConversation does both steps in one transaction. The entry joins
// the conversation's customer's timeline.
func (s *Store) AppendToConversation(ctx context.Context, e store.Entry, seen store.Conversation, fn func(*store.Conversation) error) (store.Entry, store.Conversation, bool, error) {
	return s.AppendWithWebhookEvents(ctx, e, seen, fn, nil)
}

// WebhookEventsWithTheEntry implements store.WebhookEventsWithTheEntry:
// AppendWithWebhookEvents writes the events in the append's transaction.
func (s *Store) WebhookEventsWithTheEntry() {}

// AppendWithWebhookEvents writes evs in the append's own transaction, only
// when it creates the entry.
func (s *Store) AppendWithWebhookEvents(ctx context.Context, e store.Entry, seen store.Conversation, fn func(*store.Conversation) error, evs []store.WebhookEvent) (store.Entry, store.Conversation, bool, error) {
	return s.AppendWithRecords(ctx, e, seen, fn, evs, nil)
}

// AppendWithRecords implements store.RecordsAppender: records' entries
// and audit records are written in the append's own transaction, only
// when it creates the entry.
func (s *Store) AppendWithRecords(ctx context.Context, e store.Entry, _ store.Conversation, fn func(*store.Conversation) error, evs []store.WebhookEvent,
	records func(store.Conversation) ([]store.Entry, []store.AuditRecord)) (store.Entry, store.Conversation, bool, error) {
	e = s.entryDefaults(e)
	for i := range evs {
		if evs[i].At.IsZero() {
			evs[i].At = e.CreatedAt
		}
	}
	var out store.Entry
	var conv store.Conversation
	var created bool
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		out, conv, created = store.Entry{}, store.Conversation{}, false
		if tk := tx.Bucket(bEntryIDs).Get([]byte(e.ID)); tk != nil {
			found, err := getJSON(tx.Bucket(bTimeline), tk, &out)
			if err != nil || found {
				return err
			}
		}
		var err error
		if conv, err = updateConversation(tx, e.ConversationID, fn); err != nil {
			return err // ErrNotFound when the conversation does not exist
		}
		e.CustomerID = conv.CustomerID
		if out, created, err = appendEntry(tx, e); err != nil || !created {
			return err
		}
		for _, ev := range evs {
			if _, _, err := putEvent(tx, ev); err != nil {
				return err
			}
		}
		if records != nil {
			es, as := records(conv)
			for _, x := range es {
				x = s.entryDefaults(x)
				x.CustomerID = conv.CustomerID
				if _, _, err := appendEntry(tx, x); err != nil {
					return err
				}
			}
			for _, a := range as {
				if a.At.IsZero() {
					a.At = e.CreatedAt
				}
				if err := putAudit(tx, a); err != nil {
					return err
				}
			}
		}
		return nil
	})
	if err != nil {
		return store.Entry{}, store.Conversation{}, false, err
	}
	return out, conv, created, nil
}

func (s *Store) entryDefaults(e store.Entry) store.Entry {
	now := s.now()
	if e.OccurredAt.IsZero() {
		e.OccurredAt = now
	}
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	if e.UpdatedAt.IsZero() {
		e.UpdatedAt = e.CreatedAt
	}
	e.Version = 1
	return e
}

// appendEntry is AppendEntry inside tx.
func appendEntry(tx *bolt.Tx, e store.Entry) (store.Entry, bool, error) {
	id := []byte(e.ID)
	tk := key(e.CustomerID, e.SortKey())
	ids, tl := tx.Bucket(bEntryIDs), tx.Bucket(bTimeline)
	if existing := ids.Get(id); existing != nil {
		var out store.Entry
		found, err := getJSON(tl, existing, &out)
		if err != nil || found {
			return out, false, err
		}
		// dangling dedupe record: fall through and repair it
	}
	if err := addBlobRefs(tx, e); err != nil {
		return store.Entry{}, false, err
	}
	if err := ids.Put(id, tk); err != nil {
		return store.Entry{}, false, err
	}
	if err := putJSON(tl, tk, e); err != nil {
		return store.Entry{}, false, err
	}
	if err := addCount(tx, e.CustomerID, 1); err != nil {
		return store.Entry{}, false, err
	}
	return e, true, nil
}

func addCount(tx *bolt.Tx, customerID string, delta int64) error {
	bk := tx.Bucket(bEntryCounts)
	var n int64
	if raw := bk.Get([]byte(customerID)); len(raw) == 8 {
		n = int64(binary.BigEndian.Uint64(raw))
	}
	n += delta
	if n <= 0 {
		return bk.Delete([]byte(customerID))
	}
	return bk.Put([]byte(customerID), u64(uint64(n)))
}

func (s *Store) GetEntry(ctx context.Context, id string) (store.Entry, error) {
	var e store.Entry
	err := s.view(ctx, func(tx *bolt.Tx) error {
		tk := tx.Bucket(bEntryIDs).Get([]byte(id))
		if tk == nil {
			return store.ErrNotFound
		}
		found, err := getJSON(tx.Bucket(bTimeline), tk, &e)
		if err == nil && !found {
			err = store.ErrNotFound
		}
		return err
	})
	if err != nil {
		return store.Entry{}, err
	}
	return e, nil
}

func (s *Store) UpdateEntry(ctx context.Context, id string, fn func(*store.Entry) error) (store.Entry, error) {
	var out store.Entry
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		tk := tx.Bucket(bEntryIDs).Get([]byte(id))
		if tk == nil {
			return store.ErrNotFound
		}
		var err error
		out, err = updateRecord(tx.Bucket(bTimeline), tk, fn, func(old store.Entry, e *store.Entry) error {
			if e.ID != id || e.CustomerID != old.CustomerID || !e.OccurredAt.Equal(old.OccurredAt) {
				return store.ErrConflict
			}
			e.Version = old.Version + 1
			e.UpdatedAt = s.now()
			return nil
		})
		return err
	})
	if err != nil {
		return store.Entry{}, err
	}
	return out, nil
}

func (s *Store) PageEntries(ctx context.Context, customerID, before string, limit int) ([]store.Entry, error) {
	var out []store.Entry
	p := prefix(customerID)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		c := tx.Bucket(bTimeline).Cursor()
		// Position on the first key at or after the upper bound, then step back.
		upper := append(key(customerID), 1) // just past every key with prefix p
		if before != "" {
			upper = append(append([]byte{}, p...), before...)
		}
		k, v := c.Seek(upper)
		if k == nil {
			k, v = c.Last()
		} else {
			k, v = c.Prev()
		}
		for ; k != nil && hasPrefix(k, p) && (limit <= 0 || len(out) < limit); k, v = c.Prev() {
			var e store.Entry
			if err := jsonDecode(k, v, &e); err != nil {
				return err
			}
			out = append(out, e)
		}
		return nil
	})
	return out, err
}

func (s *Store) CountEntries(ctx context.Context, customerID string) (int, error) {
	var n int
	err := s.view(ctx, func(tx *bolt.Tx) error {
		if raw := tx.Bucket(bEntryCounts).Get([]byte(customerID)); len(raw) == 8 {
			n = int(binary.BigEndian.Uint64(raw))
		}
		return nil
	})
	return n, err
}

func (s *Store) DeleteEntries(ctx context.Context, customerID string) (int, error) {
	var n int
	err := s.update(ctx, func(tx *bolt.Tx) error {
		n = 0
		tl, ids := tx.Bucket(bTimeline), tx.Bucket(bEntryIDs)
		for _, k := range keysWithPrefix(tl, prefix(customerID)) {
			var e store.Entry
			if _, err := getJSON(tl, k, &e); err != nil {
				return err
			}
			if string(ids.Get([]byte(e.ID))) == string(k) {
				if err := ids.Delete([]byte(e.ID)); err != nil {
					return err
				}
			}
			if err := tl.Delete(k); err != nil {
				return err
			}
			n++
		}
		if err := deleteCustomerProviderIDs(tx, customerID); err != nil {
			return err
		}
		return tx.Bucket(bEntryCounts).Delete([]byte(customerID))
	})
	return n, err
}
