package embedded

import (
	"context"
	"sort"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

const defaultConversationLimit = 50

// holdsThread reports whether c should own its thread key (unresolved).
func holdsThread(c store.Conversation) bool { return c.Status != store.StatusResolved }

func (s *Store) OpenConversation(ctx context.Context, c store.Conversation) (store.Conversation, bool, error) {
	now := s.now()
	if c.Status == "" {
		c.Status = store.StatusOpen
	}
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.LastActivity.IsZero() {
		c.LastActivity = c.CreatedAt
	}
	c.Version = 1
	var out store.Conversation
	var created bool
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		out, created = store.Conversation{}, false
		convs, threads := tx.Bucket(bConversations), tx.Bucket(bThreads)
		found, err := getJSON(convs, []byte(c.ID), &out)
		if err != nil || found {
			return err
		}
		tk := key(c.CustomerID, c.ThreadKey)
		if holdsThread(c) {
			if id := threads.Get(tk); id != nil {
				found, err := getJSON(convs, id, &out)
				if err != nil || found {
					return err
				}
				// dangling thread entry: take it over below
			}
			if err := threads.Put(tk, []byte(c.ID)); err != nil {
				return err
			}
		}
		if err := putJSON(convs, []byte(c.ID), c); err != nil {
			return err
		}
		if err := indexActivity(tx, c, true); err != nil {
			return err
		}
		if err := indexSLADue(tx, store.Conversation{}, c); err != nil {
			return err
		}
		out, created = c, true
		return nil
	})
	if err != nil {
		return store.Conversation{}, false, err
	}
	return out, created, nil
}

func indexActivity(tx *bolt.Tx, c store.Conversation, add bool) error {
	cur := store.ConversationCursor(c)
	act, byCust := tx.Bucket(bConvActivity), tx.Bucket(bConvByCustomer)
	if !add {
		if err := act.Delete([]byte(cur)); err != nil {
			return err
		}
		return byCust.Delete(key(c.CustomerID, cur))
	}
	if err := act.Put([]byte(cur), []byte(c.ID)); err != nil {
		return err
	}
	return byCust.Put(key(c.CustomerID, cur), []byte(c.ID))
}

func (s *Store) GetConversation(ctx context.Context, id string) (store.Conversation, error) {
	return getRecord[store.Conversation](ctx, s, bConversations, []byte(id))
}

func (s *Store) UpdateConversation(ctx context.Context, id string, fn func(*store.Conversation) error) (store.Conversation, error) {
	var out store.Conversation
	err := s.batch(ctx, func(tx *bolt.Tx) error {
		var err error
		out, err = updateConversation(tx, id, fn)
		return err
	})
	if err != nil {
		return store.Conversation{}, err
	}
	return out, nil
}

// updateConversation is UpdateConversation inside tx.
func updateConversation(tx *bolt.Tx, id string, fn func(*store.Conversation) error) (store.Conversation, error) {
	convs, threads := tx.Bucket(bConversations), tx.Bucket(bThreads)
	return updateRecord(convs, []byte(id), fn, func(old store.Conversation, c *store.Conversation) error {
		c.ID = id
		c.Version = old.Version + 1

		oldKey, newKey := key(old.CustomerID, old.ThreadKey), key(c.CustomerID, c.ThreadKey)
		held := holdsThread(old) && string(threads.Get(oldKey)) == id
		want := holdsThread(*c)
		sameKey := string(oldKey) == string(newKey)
		if want && !(held && sameKey) {
			if other := threads.Get(newKey); other != nil && string(other) != id {
				if convs.Get(other) != nil {
					return store.ErrConflict
				}
			}
		}
		if held && (!want || !sameKey) {
			if err := threads.Delete(oldKey); err != nil {
				return err
			}
		}
		if want && !(held && sameKey) {
			if err := threads.Put(newKey, []byte(id)); err != nil {
				return err
			}
		}
		if err := indexSLADue(tx, old, *c); err != nil {
			return err
		}
		if store.ConversationCursor(old) != store.ConversationCursor(*c) || old.CustomerID != c.CustomerID {
			if err := indexActivity(tx, old, false); err != nil {
				return err
			}
			return indexActivity(tx, *c, true)
		}
		return nil
	})
}

// ListConversations walks the activity index backwards from f.Before
// (newest first), filtering with store.MatchConversation. With
// f.CustomerIDs it walks only those customers' indexes. The returned cursor
// is the ConversationCursor of the last conversation returned, or "" when
// there are no more matches.
func (s *Store) ListConversations(ctx context.Context, f store.ConversationFilter) ([]store.Conversation, string, error) {
	if f.Sort == store.SortPriority {
		return store.ListByPriority(ctx, f, s.ListConversations)
	}
	limit := f.Limit
	if limit <= 0 {
		limit = defaultConversationLimit
	}
	var out []store.Conversation
	more := false
	err := s.view(ctx, func(tx *bolt.Tx) error {
		convs := tx.Bucket(bConversations)
		load := func(id []byte) (store.Conversation, bool, error) {
			var c store.Conversation
			found, err := getJSON(convs, id, &c)
			return c, found, err
		}
		if f.Sort == store.SortSLADue {
			var err error
			out, more, err = listBySLADue(tx, f, limit, load)
			return err
		}
		if f.CustomerIDs != nil {
			var all []store.Conversation
			byCust := tx.Bucket(bConvByCustomer)
			for _, cust := range uniq(f.CustomerIDs) {
				err := scanPrefix(byCust, prefix(cust), func(_, id []byte) (bool, error) {
					c, found, err := load(id)
					if err == nil && found && store.MatchConversation(c, f) {
						all = append(all, c)
					}
					return true, err
				})
				if err != nil {
					return err
				}
			}
			sort.Slice(all, func(i, j int) bool {
				return store.ConversationCursor(all[i]) > store.ConversationCursor(all[j])
			})
			if len(all) > limit {
				all, more = all[:limit], true
			}
			out = all
			return nil
		}
		cur := tx.Bucket(bConvActivity).Cursor()
		var k, id []byte
		if f.Before != "" {
			k, id = cur.Seek([]byte(f.Before))
			if k == nil {
				k, id = cur.Last()
			} else {
				k, id = cur.Prev()
			}
		} else {
			k, id = cur.Last()
		}
		for ; k != nil; k, id = cur.Prev() {
			if f.Before != "" && string(k) >= f.Before {
				continue
			}
			c, found, err := load(id)
			if err != nil {
				return err
			}
			if !found || !store.MatchConversation(c, f) {
				continue
			}
			if len(out) == limit {
				more = true
				break
			}
			out = append(out, c)
		}
		return nil
	})
	if err != nil {
		return nil, "", err
	}
	next := ""
	if more && len(out) > 0 {
		next = store.ConversationCursor(out[len(out)-1])
		if f.Sort == store.SortSLADue {
			next = store.SLADueCursor(out[len(out)-1])
		}
	}
	return out, next, nil
}

func uniq(ids []string) []string {
	seen := make(map[string]bool, len(ids))
	out := ids[:0:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func (s *Store) DeleteConversation(ctx context.Context, id string) error {
	return s.batch(ctx, func(tx *bolt.Tx) error {
		convs, threads := tx.Bucket(bConversations), tx.Bucket(bThreads)
		var c store.Conversation
		found, err := getJSON(convs, []byte(id), &c)
		if err != nil || !found {
			return err
		}
		tk := key(c.CustomerID, c.ThreadKey)
		if string(threads.Get(tk)) == id {
			if err := threads.Delete(tk); err != nil {
				return err
			}
		}
		if err := indexActivity(tx, c, false); err != nil {
			return err
		}
		if err := indexSLADue(tx, c, store.Conversation{}); err != nil {
			return err
		}
		return convs.Delete([]byte(id))
	})
}

// indexSLADue moves a conversation's entry in the due-time index from
// old's due time to c's (a zero Conversation for none).
func indexSLADue(tx *bolt.Tx, old, c store.Conversation) error {
	o, n := store.SLADueCursor(old), store.SLADueCursor(c)
	if o == n {
		return nil
	}
	b := tx.Bucket(bConvSLADue)
	if o != "" {
		if err := b.Delete([]byte(o)); err != nil {
			return err
		}
	}
	if n != "" {
		return b.Put([]byte(n), []byte(c.ID))
	}
	return nil
}

// listBySLADue walks the due-time index forward from f.Before (excluded).
func listBySLADue(tx *bolt.Tx, f store.ConversationFilter, limit int, load func([]byte) (store.Conversation, bool, error)) ([]store.Conversation, bool, error) {
	var out []store.Conversation
	match := f
	match.Before = "" // a cursor of the due-time order, not of activity
	cur := tx.Bucket(bConvSLADue).Cursor()
	k, id := cur.First()
	if f.Before != "" {
		k, id = cur.Seek([]byte(f.Before))
		if k != nil && string(k) == f.Before {
			k, id = cur.Next()
		}
	}
	for ; k != nil; k, id = cur.Next() {
		c, found, err := load(id)
		if err != nil {
			return nil, false, err
		}
		if !found || store.SLADueCursor(c) != string(k) || !store.MatchConversation(c, match) {
			continue
		}
		if len(out) == limit {
			return out, true, nil
		}
		out = append(out, c)
	}
	return out, false, nil
}
