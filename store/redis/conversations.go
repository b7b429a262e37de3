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

// dueMember is c's member of the due-time index, "" when nothing is due.
// The index is kept like the activity index (added before the record
// changes, the old member removed after; readers skip members that do
// not match their record), except that a due time can move back: two
// concurrent updates of one conversation can leave it out of the index
// until its next change (never listed wrongly: readers check the record).
func (s *Store) dueMember(c store.Conversation) string {
	if k := store.SLADueCursor(c); k != "" {
		return k + "\x00" + c.CustomerID
	}
	return ""
}

// OpenConversation: 1. record the id's owner (create, or take over a
// locator whose customer has no such conversation); 2. the open script in
// the customer's tag; 3. index the conversation (always: heals a crash).
func (s *Store) OpenConversation(ctx context.Context, c store.Conversation) (_ store.Conversation, _ bool, err error) {
	defer opErr(&err, "open conversation", c.ID, "of customer", c.CustomerID)
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
	dropPrefetched(ctx) // writes follow: later reads ask the server
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
	if m := s.dueMember(cur); m != "" {
		if err := s.c.ZAdd(ctx, s.k.conversationDueIndex(), goredis.Z{Member: m}).Err(); err != nil {
			return store.Conversation{}, false, err
		}
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
	if id, ok := s.holders.get(customer + "\x00" + tk); ok {
		var raw string
		var err error
		if a, ok := takePrefetchedField(ctx, hkey, id); ok {
			// Read with the message's first reads (prefetch.go): what
			// the HGET would have said a moment earlier; the append's
			// compare-and-swap checks it either way.
			raw = a.val
			if !a.exists {
				err = goredis.Nil
			}
		} else {
			raw, err = s.c.HGet(ctx, hkey, id).Result()
		}
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
	s.holders.put(c.CustomerID+"\x00"+c.ThreadKey, c.ID)
}

func (s *Store) conversationOwner(ctx context.Context, id string) (string, error) {
	if o, ok := s.owners.get(id); ok {
		return o, nil
	}
	owner, err := s.c.Get(ctx, s.k.conversationOwner(id)).Result()
	if isNil(err) {
		return "", store.ErrNotFound
	}
	if err == nil {
		// A conversation's owner never changes once its record exists, so
		// it is cached (bounded: the cache is dropped when it grows large).
		s.owners.put(id, owner)
	}
	return owner, err
}

func (s *Store) GetConversation(ctx context.Context, id string) (_ store.Conversation, err error) {
	defer opErr(&err, "get conversation", id)
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
// releases/re-takes the thread key, indexed as swapConversation says.
// fn may not move the conversation to another customer (ErrConflict).
func (s *Store) UpdateConversation(ctx context.Context, id string, fn func(*store.Conversation) error) (_ store.Conversation, err error) {
	defer opErr(&err, "update conversation", id)
	dropPrefetched(ctx)
	owner, err := s.conversationOwner(ctx, id)
	if err != nil {
		return store.Conversation{}, err
	}
	keys := []string{s.k.conversations(owner), s.k.threads(owner)}
	for i := 0; i < maxCAS; i++ {
		old, err := s.c.HGet(ctx, keys[0], id).Result()
		if isNil(err) {
			return store.Conversation{}, store.ErrNotFound
		}
		if err != nil {
			return store.Conversation{}, err
		}
		var before store.Conversation
		if err := unmarshal(old, &before); err != nil {
			return store.Conversation{}, err
		}
		c, err := nextConversation(before, id, fn)
		if err != nil {
			return store.Conversation{}, err
		}
		w := s.swapConversation(ctx, before, c, updateConversation, keys, conversationArgs(old, before, c)...)
		r, err := w.run.Int()
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
		w.settle(ctx, s)
		return c, nil
	}
	return store.Conversation{}, store.ErrConflict
}

// nextConversation is fn applied to a copy of before, checked and
// versioned: what a compare-and-swap of conversation id would store.
func nextConversation(before store.Conversation, id string, fn func(*store.Conversation) error) (store.Conversation, error) {
	c := before
	if err := fn(&c); err != nil {
		return store.Conversation{}, callerError{err}
	}
	if c.CustomerID != before.CustomerID {
		return store.Conversation{}, store.ErrConflict
	}
	c.ID = id
	c.Version = before.Version + 1
	return c, nil
}

// conversationArgs are the ARGV the conversation scripts start with:
// id, expected JSON, new JSON, old and new thread key, resolved flag.
func conversationArgs(old string, before, c store.Conversation) []any {
	return []any{c.ID, old, marshal(c), before.ThreadKey, c.ThreadKey, resolvedFlag(c)}
}

// swapConversation runs a conversation script that compare-and-swaps
// before into c, and sends the conversation's new activity index member in
// the same pipeline, ahead of it. The member goes in before the record
// changes, so a crash at any point leaves the conversation listed: a
// member that does not match its record is skipped by readers (the leftover
// of a failed attempt, or an old member whose removal failed). It is added
// even when unchanged, which heals an OpenConversation that crashed before
// indexing. After a successful swap, call swap.settle.
func (s *Store) swapConversation(ctx context.Context, before, c store.Conversation, script *goredis.Script, keys []string, args ...any) swap {
	w := swap{before: before, after: c}
	_, _ = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		w.index = p.ZAdd(ctx, s.k.conversationIndex(), goredis.Z{Member: s.activityMember(c)})
		if m := s.dueMember(c); m != "" && m != s.dueMember(before) {
			w.due = p.ZAdd(ctx, s.k.conversationDueIndex(), goredis.Z{Member: m})
		}
		w.run = p.EvalSha(ctx, script.Hash(), keys, args...)
		return nil
	})
	if err := w.run.Err(); err != nil && strings.HasPrefix(err.Error(), "NOSCRIPT") {
		// The server lost its script cache: run it once in full (the
		// index member went in all the same).
		w.run = script.Eval(ctx, s.c, keys, args...)
	}
	return w
}

// swap is a swapConversation in flight: run is the script's reply.
type swap struct {
	before, after store.Conversation
	index         *goredis.IntCmd
	due           *goredis.IntCmd // nil: the due-time member did not change
	run           *goredis.Cmd
}

// settle completes the index update of a swap that stored its record: the
// new member again if adding it failed, then the old one removed. The
// record is stored by then, so failures are logged, not returned: a missing
// member hides the conversation from lists until its next update, an old
// one is skipped by readers. Add-new then remove-old is right in any
// interleaving of concurrent updates as long as activity only moves
// forward (the contract asks that of concurrent callers).
func (w swap) settle(ctx context.Context, s *Store) {
	oldM, newM := s.activityMember(w.before), s.activityMember(w.after)
	if w.index.Err() != nil {
		if err := s.c.ZAdd(ctx, s.k.conversationIndex(), goredis.Z{Member: newM}).Err(); err != nil {
			s.log.Error("conversation index: adding the conversation failed; it is missing from lists until its next update", "conversation", w.after.ID, "err", err)
		}
	}
	if oldM != newM {
		if err := s.c.ZRem(ctx, s.k.conversationIndex(), oldM).Err(); err != nil {
			s.log.Warn("conversation index: removing the previous member failed", "conversation", w.after.ID, "err", err)
		}
	}
	oldD, newD := s.dueMember(w.before), s.dueMember(w.after)
	if w.due != nil && w.due.Err() != nil {
		if err := s.c.ZAdd(ctx, s.k.conversationDueIndex(), goredis.Z{Member: newD}).Err(); err != nil {
			s.log.Error("due-time index: adding the conversation failed", "conversation", w.after.ID, "err", err)
		}
	}
	if oldD != "" && oldD != newD {
		if err := s.c.ZRem(ctx, s.k.conversationDueIndex(), oldD).Err(); err != nil {
			s.log.Warn("due-time index: removing the previous member failed", "conversation", w.after.ID, "err", err)
		}
	}
}

// ListConversations walks the activity index newest first, checks each
// member against its record (stale members are skipped) and the filter.
func (s *Store) ListConversations(ctx context.Context, f store.ConversationFilter) (_ []store.Conversation, _ string, err error) {
	defer opErr(&err, "list conversations")
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	if f.Sort == store.SortPriority {
		return store.ListByPriority(ctx, f, s.ListConversations)
	}
	if f.Sort == store.SortSLADue {
		return s.listBySLADue(ctx, f, limit)
	}
	max := "+"
	if f.Before != "" {
		max = "(" + f.Before
	}
	return s.pageIndex(ctx, f, limit, max, func(bound string) ([]string, error) {
		return s.c.ZRevRangeByLex(ctx, s.k.conversationIndex(), &goredis.ZRangeBy{Min: "-", Max: bound, Count: 200}).Result()
	}, s.activityMember, store.ConversationCursor)
}

// pageIndex pages conversations through one of the lex indexes (members
// CURSOR "\x00" CUSTOMER): read reads the 200 members after bound, whose
// records are fetched in one pipeline; a member that no longer is the
// record's own (member(c) differs: moved or deleted meanwhile) or that f
// does not match is skipped. The next bound is "(" + the last member read.
func (s *Store) pageIndex(ctx context.Context, f store.ConversationFilter, limit int, bound string,
	read func(bound string) ([]string, error), member func(store.Conversation) string,
	cursor func(store.Conversation) string) ([]store.Conversation, string, error) {
	var out []store.Conversation
	for {
		members, err := read(bound)
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
				cmds[i] = p.HGet(ctx, s.k.conversations(cust), store.SortKeyID(cur))
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
			if member(c) != m || !store.MatchConversation(c, f) {
				continue
			}
			if len(out) == limit { // one more match: there is a next page
				return out, cursor(out[limit-1]), nil
			}
			out = append(out, c)
		}
		bound = "(" + members[len(members)-1]
	}
}

// DeleteConversation removes the record and its thread key (one script),
// then the index member and the locator.
func (s *Store) DeleteConversation(ctx context.Context, id string) (err error) {
	defer opErr(&err, "delete conversation", id)
	dropPrefetched(ctx)
	owner, err := s.conversationOwner(ctx, id)
	s.owners.drop(id)
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
		if m := s.dueMember(c); m != "" {
			if err := s.c.ZRem(ctx, s.k.conversationDueIndex(), m).Err(); err != nil {
				return err
			}
		}
	}
	return casDel.Run(ctx, s.c, []string{s.k.conversationOwner(id)}, owner).Err()
}

// listBySLADue walks the due-time index, earliest first, from f.Before
// (excluded), checking each member against its record and the filter.
func (s *Store) listBySLADue(ctx context.Context, f store.ConversationFilter, limit int) ([]store.Conversation, string, error) {
	min := "-"
	if f.Before != "" {
		min = "(" + f.Before + "\x00\xff"
	}
	match := f
	match.Before = "" // a cursor of the due-time order, not of activity
	return s.pageIndex(ctx, match, limit, min, func(bound string) ([]string, error) {
		return s.c.ZRangeByLex(ctx, s.k.conversationDueIndex(), &goredis.ZRangeBy{Min: bound, Max: "+", Count: 200}).Result()
	}, s.dueMember, store.SLADueCursor)
}
