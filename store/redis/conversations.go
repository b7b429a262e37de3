package redis

import (
	"context"
	"errors"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// A conversation lives in its customer's tag (hash convs, with the thread
// key index beside it, so OpenConversation is one script); the locator
// {v:ID}:owner maps its id to the customer, and the global activity index
// (lex ZSET of ConversationCursor + "\x00" + customer) feeds
// ListConversations.

func resolvedFlag(c store.Conversation) string {
	if c.Status == store.StatusResolved {
		return "1"
	}
	return "0"
}

func (s *Store) activityMember(c store.Conversation) string {
	return store.ConversationCursor(c) + "\x00" + c.CustomerID
}

// OpenConversation: 1. record the id's owner (create, or take over a
// locator whose customer has no such conversation); 2. the open script in
// the customer's tag; 3. index the conversation (always: heals a crash).
func (s *Store) OpenConversation(ctx context.Context, c store.Conversation) (store.Conversation, bool, error) {
	now := s.now()
	if c.CreatedAt.IsZero() {
		c.CreatedAt = now
	}
	if c.LastActivity.IsZero() {
		c.LastActivity = c.CreatedAt
	}
	if resolvedFlag(c) != "1" {
		if cur, ok, err := s.threadHolder(ctx, c.CustomerID, c.ThreadKey); err != nil || ok {
			return cur, false, err
		}
	}
	loc := s.k.conversationOwner(c.ID)
	for i := 0; ; i++ {
		owner, _, err := s.createIfAbsent(ctx, loc, c.CustomerID)
		if err != nil {
			return store.Conversation{}, false, err
		}
		if owner == c.CustomerID {
			break
		}
		raw, err := s.c.HGet(ctx, s.k.conversations(owner), c.ID).Result()
		if err == nil {
			var cur store.Conversation
			if err := unmarshal(raw, &cur); err != nil {
				return store.Conversation{}, false, err
			}
			return cur, false, nil
		}
		if !isNil(err) {
			return store.Conversation{}, false, err
		}
		// A locator left behind by a call that did not store the
		// conversation: take it over.
		if _, err := casSet.Run(ctx, s.c, []string{loc}, owner, c.CustomerID).Result(); err != nil {
			return store.Conversation{}, false, err
		}
		if i >= maxCAS {
			return store.Conversation{}, false, store.ErrConflict
		}
	}
	raw, created, err := pair(openConversation.Run(ctx, s.c,
		[]string{s.k.conversations(c.CustomerID), s.k.threads(c.CustomerID)},
		c.ID, marshal(c), c.ThreadKey, resolvedFlag(c)).Slice())
	if err != nil {
		return store.Conversation{}, false, err
	}
	var cur store.Conversation
	if err := unmarshal(raw, &cur); err != nil {
		return store.Conversation{}, false, err
	}
	if err := s.c.ZAdd(ctx, s.k.conversationIndex(), goredis.Z{Member: s.activityMember(cur)}).Err(); err != nil {
		return store.Conversation{}, false, err
	}
	if cur.Status != store.StatusResolved {
		s.rememberHolder(cur)
	}
	return cur, created, nil
}

// threadHolder finds the customer's unresolved conversation holding thread
// key tk. The conversation last seen holding it is remembered and checked
// with a plain read: an unresolved conversation of the customer with that
// thread key is the holder, since only one can be (the scripts keep that
// true atomically). Otherwise the findThread script asks the index.
func (s *Store) threadHolder(ctx context.Context, customer, tk string) (store.Conversation, bool, error) {
	hkey := s.k.conversations(customer)
	if id, ok := s.holders.Load(customer + "\x00" + tk); ok {
		raw, err := s.c.HGet(ctx, hkey, id.(string)).Result()
		if err != nil && !isNil(err) {
			return store.Conversation{}, false, err
		}
		if err == nil {
			var cur store.Conversation
			if err := unmarshal(raw, &cur); err != nil {
				return store.Conversation{}, false, err
			}
			if cur.Status != store.StatusResolved && cur.ThreadKey == tk && cur.CustomerID == customer {
				return cur, true, nil
			}
		}
	}
	raw, err := findThread.Run(ctx, s.c, []string{hkey, s.k.threads(customer)}, tk).Text()
	if isNil(err) || err == nil && raw == "" {
		return store.Conversation{}, false, nil
	}
	if err != nil {
		return store.Conversation{}, false, err
	}
	var cur store.Conversation
	if err := unmarshal(raw, &cur); err != nil {
		return store.Conversation{}, false, err
	}
	if cur.Status == store.StatusResolved {
		// Not reachable while the scripts keep the thread index right;
		// the open script settles it either way.
		return store.Conversation{}, false, nil
	}
	s.rememberHolder(cur)
	return cur, true, nil
}

func (s *Store) rememberHolder(c store.Conversation) {
	if s.holderN.Add(1) > 200000 {
		s.holders.Clear()
		s.holderN.Store(0)
	}
	s.holders.Store(c.CustomerID+"\x00"+c.ThreadKey, c.ID)
}

func (s *Store) conversationOwner(ctx context.Context, id string) (string, error) {
	if o, ok := s.owners.Load(id); ok {
		return o.(string), nil
	}
	owner, err := s.c.Get(ctx, s.k.conversationOwner(id)).Result()
	if isNil(err) {
		return "", store.ErrNotFound
	}
	if err == nil {
		// A conversation's owner never changes once its record exists, so
		// it is cached (bounded: the cache is dropped when it grows large).
		if s.ownerN.Add(1) > 200000 {
			s.owners.Clear()
			s.ownerN.Store(0)
		}
		s.owners.Store(id, owner)
	}
	return owner, err
}

func (s *Store) GetConversation(ctx context.Context, id string) (store.Conversation, error) {
	owner, err := s.conversationOwner(ctx, id)
	if err != nil {
		return store.Conversation{}, err
	}
	raw, err := s.c.HGet(ctx, s.k.conversations(owner), id).Result()
	if isNil(err) {
		return store.Conversation{}, store.ErrNotFound
	}
	if err != nil {
		return store.Conversation{}, err
	}
	var c store.Conversation
	return c, unmarshal(raw, &c)
}

// UpdateConversation is a compare-and-swap in the customer's tag that also
// releases/re-takes the thread key; the activity index (global, another
// slot) is updated after, add-new then remove-old, which is right in any
// interleaving of concurrent updates as long as activity only moves forward
// (the contract asks that of concurrent callers).
// fn may not move the conversation to another customer (ErrConflict).
func (s *Store) UpdateConversation(ctx context.Context, id string, fn func(*store.Conversation) error) (store.Conversation, error) {
	owner, err := s.conversationOwner(ctx, id)
	if err != nil {
		return store.Conversation{}, err
	}
	hkey, tkey := s.k.conversations(owner), s.k.threads(owner)
	for i := 0; i < maxCAS; i++ {
		old, err := s.c.HGet(ctx, hkey, id).Result()
		if isNil(err) {
			return store.Conversation{}, store.ErrNotFound
		}
		if err != nil {
			return store.Conversation{}, err
		}
		var before, c store.Conversation
		if err := unmarshal(old, &before); err != nil {
			return store.Conversation{}, err
		}
		c = before
		if err := fn(&c); err != nil {
			return store.Conversation{}, err
		}
		if c.CustomerID != before.CustomerID {
			return store.Conversation{}, store.ErrConflict
		}
		c.ID = id
		c.Version = before.Version + 1
		r, err := updateConversation.Run(ctx, s.c, []string{hkey, tkey},
			id, old, marshal(c), before.ThreadKey, c.ThreadKey, resolvedFlag(c)).Int()
		if err != nil {
			return store.Conversation{}, err
		}
		switch r {
		case -1:
			return store.Conversation{}, store.ErrConflict
		case 0:
			if err := ctx.Err(); err != nil {
				return store.Conversation{}, err
			}
			continue
		}
		return c, s.reindex(ctx, before, c)
	}
	return store.Conversation{}, store.ErrConflict
}

// reindex moves a conversation's activity index member after an update,
// add-new then remove-old (see UpdateConversation).
func (s *Store) reindex(ctx context.Context, before, after store.Conversation) error {
	oldM, newM := s.activityMember(before), s.activityMember(after)
	if oldM == newM {
		return nil
	}
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.ZAdd(ctx, s.k.conversationIndex(), goredis.Z{Member: newM})
		p.ZRem(ctx, s.k.conversationIndex(), oldM)
		return nil
	})
	return err
}

// ListConversations walks the activity index newest first, checks each
// member against its record (stale members are skipped) and the filter.
func (s *Store) ListConversations(ctx context.Context, f store.ConversationFilter) ([]store.Conversation, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	max := "+"
	if f.Before != "" {
		max = "(" + f.Before
	}
	var out []store.Conversation
	for {
		members, err := s.c.ZRevRangeByLex(ctx, s.k.conversationIndex(), &goredis.ZRangeBy{Min: "-", Max: max, Count: 200}).Result()
		if err != nil {
			return nil, "", err
		}
		if len(members) == 0 {
			return out, "", nil
		}
		cmds := make([]*goredis.StringCmd, len(members))
		_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, m := range members {
				cur, cust, _ := strings.Cut(m, "\x00")
				cmds[i] = p.HGet(ctx, s.k.conversations(cust), sortKeyID(cur))
			}
			return nil
		})
		if err != nil && !isNil(err) {
			return nil, "", err
		}
		for i, m := range members {
			raw, err := cmds[i].Result()
			if isNil(err) {
				continue
			}
			if err != nil {
				return nil, "", err
			}
			var c store.Conversation
			if err := unmarshal(raw, &c); err != nil {
				return nil, "", err
			}
			if s.activityMember(c) != m || !store.MatchConversation(c, f) {
				continue
			}
			if len(out) == limit { // one more match: there is a next page
				return out, store.ConversationCursor(out[limit-1]), nil
			}
			out = append(out, c)
		}
		max = "(" + members[len(members)-1]
	}
}

// DeleteConversation removes the record and its thread key (one script),
// then the index member and the locator.
func (s *Store) DeleteConversation(ctx context.Context, id string) error {
	owner, err := s.conversationOwner(ctx, id)
	s.owners.Delete(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	raw, err := deleteConversation.Run(ctx, s.c, []string{s.k.conversations(owner), s.k.threads(owner)}, id).Text()
	if err != nil && !isNil(err) {
		return err
	}
	if err == nil {
		var c store.Conversation
		if err := unmarshal(raw, &c); err != nil {
			return err
		}
		if err := s.c.ZRem(ctx, s.k.conversationIndex(), s.activityMember(c)).Err(); err != nil {
			return err
		}
	}
	return casDel.Run(ctx, s.c, []string{s.k.conversationOwner(id)}, owner).Err()
}
