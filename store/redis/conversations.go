package redis

import (
	"context"
	"errors"
	"sort"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// A conversation lives in its customer's tag (hash convs, with the thread
// key index beside it, so OpenConversation is one script); the locator
// {v:ID}:owner maps its id to the customer, and the global activity index
// feeds ListConversations.
//
// The activity index holds one member per conversation (activityMember:
// id "\x00" customer) whose score is the conversation's activity in
// microseconds (activityScore), so a message that moves the activity
// replaces the score with one ZADD (issue 23: the index of earlier
// versions was lexical, a member per activity, and each move cost a ZADD
// and a ZREM). A score holds microseconds exactly (float64 integers up to
// 2^53, beyond year 2200), not the nanoseconds of ConversationCursor, so
// ListConversations orders the conversations of one microsecond by their
// records' cursors: the order and the cursors stay exactly the sort keys'
// (see pageActivity).

func resolvedFlag(c store.Conversation) string {
	if c.Status == store.StatusResolved {
		return "1"
	}
	return "0"
}

// activityMember is c's member of the activity index: what identifies the
// conversation, never its activity, so it never changes.
func (s *Store) activityMember(c store.Conversation) string {
	return c.ID + "\x00" + c.CustomerID
}

// activityScore is t as Unix microseconds (rounded down), clamped like
// the sort keys to [MinSortTime, MaxSortTime]: its score in the activity
// index. Floor keeps it monotone, so the index orders by score as the sort
// keys do, and the keys of one score all fall within its microsecond.
func activityScore(t time.Time) float64 {
	switch {
	case t.Before(store.MinSortTime):
		t = store.MinSortTime
	case t.After(store.MaxSortTime):
		t = store.MaxSortTime
	}
	return float64(t.UnixMicro())
}

// activityZ is c's activity index member with its score.
func (s *Store) activityZ(c store.Conversation) goredis.Z {
	return goredis.Z{Score: activityScore(c.LastActivity), Member: s.activityMember(c)}
}

// scoreArg is a score as a command argument, exactly (Redis reads it
// back to the same float64).
func scoreArg(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

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
	// GT: indexing heals a crashed open, but never moves back the score of
	// a concurrent update that got in first.
	if err := s.c.ZAddArgs(ctx, s.k.conversationIndex(), goredis.ZAddArgs{GT: true, Members: []goredis.Z{s.activityZ(cur)}}).Err(); err != nil {
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
// before into c, and sends the conversation's new activity score in the
// same pipeline, ahead of it: the conversation's one member is in the
// index whatever happens (it is written even when unchanged, which heals
// an OpenConversation that crashed before indexing), and a crash or a lost
// compare-and-swap leaves at worst its score ahead of its record. Readers
// list a conversation whose score and record differ where the score puts
// it (pageActivity). A forward move is written with GT, so of concurrent
// updates (the contract asks them to move activity forward only) the
// latest activity stays whatever order their ZADDs arrive in; a move back
// (an explicit update) replaces the score. After a successful swap, call
// swap.settle.
func (s *Store) swapConversation(ctx context.Context, before, c store.Conversation, script *goredis.Script, keys []string, args ...any) swap {
	w := swap{before: before, after: c}
	_, _ = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		w.index = p.ZAddArgs(ctx, s.k.conversationIndex(), s.activityZAdd(before, c))
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

// activityZAdd is the ZADD of c's activity score as an update from before
// writes it: GT for a forward move (or none), a plain replace for a move
// back.
func (s *Store) activityZAdd(before, c store.Conversation) goredis.ZAddArgs {
	return goredis.ZAddArgs{GT: !c.LastActivity.Before(before.LastActivity), Members: []goredis.Z{s.activityZ(c)}}
}

// swap is a swapConversation in flight: run is the script's reply.
type swap struct {
	before, after store.Conversation
	index         *goredis.IntCmd
	due           *goredis.IntCmd // nil: the due-time member did not change
	run           *goredis.Cmd
}

// settle completes the index updates of a swap that stored its record:
// the activity score again if writing it failed (the conversation then
// stays listed at its previous activity until its next update when that
// fails too), the due-time index's new member again likewise, then the
// old due-time member removed. The record is stored by then, so failures
// are logged, not returned. Add-new then remove-old is right in any
// interleaving of concurrent updates as long as the due time only moves
// forward.
func (w swap) settle(ctx context.Context, s *Store) {
	if w.index.Err() != nil {
		if err := s.c.ZAddArgs(ctx, s.k.conversationIndex(), s.activityZAdd(w.before, w.after)).Err(); err != nil {
			s.log.Error("conversation index: writing the conversation's activity failed; it is listed at its previous activity until its next update", "conversation", w.after.ID, "err", err)
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

// ListConversations walks the activity index newest first (pageActivity),
// after moving any members of the legacy index into it.
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
	if f.CustomerIDs != nil {
		return s.listOfCustomers(ctx, f, limit)
	}
	return s.pageActivity(ctx, f, limit)
}

// listOfCustomers lists the conversations of f.CustomerIDs from their
// customers' own hashes (a conversation never leaves its customer's
// hash), in the activity index's order, newest first, with the same
// cursors. It reads only those customers' conversations: email threading,
// automation and the customer's timeline ask for one customer's on every
// message, and walking the whole activity index for them cost a read of
// every conversation in the store (the embedded store walks its
// per-customer index the same way).
func (s *Store) listOfCustomers(ctx context.Context, f store.ConversationFilter, limit int) ([]store.Conversation, string, error) {
	seen := make(map[string]bool, len(f.CustomerIDs))
	cmds := make([]*goredis.MapStringStringCmd, 0, len(f.CustomerIDs))
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, cust := range f.CustomerIDs {
			if !seen[cust] {
				seen[cust] = true
				cmds = append(cmds, p.HGetAll(ctx, s.k.conversations(cust)))
			}
		}
		return nil
	})
	if err != nil && !isNil(err) {
		return nil, "", err
	}
	var all []store.Conversation
	for _, cmd := range cmds {
		for _, raw := range cmd.Val() {
			var c store.Conversation
			if err := unmarshal(raw, &c); err != nil {
				return nil, "", err
			}
			if store.MatchConversation(c, f) {
				all = append(all, c)
			}
		}
	}
	sort.Slice(all, func(i, j int) bool {
		return store.ConversationCursor(all[i]) > store.ConversationCursor(all[j])
	})
	if len(all) <= limit {
		return all, "", nil
	}
	all = all[:limit]
	return all, store.ConversationCursor(all[limit-1]), nil
}

// activityBatch is how many activity index members a read takes.
const activityBatch = 200

// activityItem is a conversation read through the activity index, with
// its place in the listing's order.
type activityItem struct {
	c   store.Conversation
	key string
}

// pageActivity pages the activity index newest first from f.Before
// (excluded). Every read takes whole scores: a batch that ends inside a
// score leaves that score to the next read (or, filled by one score, reads
// all of it), so the conversations of one microsecond are ordered among
// themselves by their records' ConversationCursor, newest first, exactly
// as the sort keys order them; a page's cursor is its last conversation's
// ConversationCursor, and f.Before compares with the same keys. A member
// whose score is not its record's activity (an update in flight, or one
// whose record did not change: see swapConversation) is listed where its
// score puts it, with the record as it is; its key is then its score's
// microsecond and its id, so paging through it stays exact. A member
// whose record is gone (deleted meanwhile) is skipped.
//
// The first read also asks whether the legacy index has members (an
// upgraded store, or an older hub still writing during a rolling upgrade);
// they are moved into this index first (migrateLegacyIndex) and the read
// is done again, so every conversation is listed once.
func (s *Store) pageActivity(ctx context.Context, f store.ConversationFilter, limit int) ([]store.Conversation, string, error) {
	match := f
	match.Before = "" // compared below, with the keys of the index's order
	max := "+inf"
	if f.Before != "" {
		if t, _, err := store.ParseSortKey(f.Before); err == nil {
			max = scoreArg(activityScore(t))
		}
		// else: not a cursor; every key is compared with it as a string
	}
	key := s.k.conversationIndex()
	// An unfiltered page reads only what it needs (its conversations, one
	// more for the next cursor, and one whose score may end the batch);
	// a filtered one, and every later read, a whole batch.
	count := int64(activityBatch)
	if matchesAll(match) && limit+2 < activityBatch {
		count = int64(limit + 2)
	}
	below := func(max string) goredis.ZRangeArgs { // newest first from max
		return goredis.ZRangeArgs{Key: key, Start: max, Stop: "-inf", ByScore: true, Rev: true, Count: count}
	}
	read := func(max string) ([]goredis.Z, error) { return s.c.ZRangeArgsWithScores(ctx, below(max)).Result() }
	var legacy *goredis.IntCmd
	var first *goredis.ZSliceCmd
	if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		legacy = p.Exists(ctx, s.k.legacyConversationIndex())
		first = p.ZRangeArgsWithScores(ctx, below(max))
		return nil
	}); err != nil {
		return nil, "", err
	}
	zs := first.Val()
	if legacy.Val() > 0 {
		if err := s.migrateLegacyIndex(ctx); err != nil {
			return nil, "", err
		}
		var err error
		if zs, err = read(max); err != nil {
			return nil, "", err
		}
	}
	var out []store.Conversation
	var lastKey string
	var items []activityItem // one score's, reused
	for {
		if len(zs) == 0 {
			return out, "", nil
		}
		if int64(len(zs)) == count {
			last := zs[len(zs)-1].Score
			if zs[0].Score == last {
				// One score fills the batch: read all of it.
				var err error
				b := scoreArg(last)
				if zs, err = s.c.ZRangeArgsWithScores(ctx, goredis.ZRangeArgs{Key: key, Start: b, Stop: b, ByScore: true}).Result(); err != nil {
					return nil, "", err
				}
				if len(zs) == 0 {
					// Its members moved or went between the two reads:
					// go on below the score.
					count = activityBatch
					if zs, err = read("(" + b); err != nil {
						return nil, "", err
					}
					continue
				}
			} else {
				for zs[len(zs)-1].Score == last {
					zs = zs[:len(zs)-1]
				}
			}
		}
		raws, err := s.activityRecords(ctx, zs)
		if err != nil {
			return nil, "", err
		}
		// Score by score: a record is decoded only when its score is
		// reached, as the page may fill before.
		for i := 0; i < len(zs); {
			j := i + 1
			for j < len(zs) && zs[j].Score == zs[i].Score {
				j++
			}
			items, err = activityItems(items[:0], zs[i:j], raws[i:j])
			if err != nil {
				return nil, "", err
			}
			for _, it := range items {
				if f.Before != "" && it.key >= f.Before || !store.MatchConversation(it.c, match) {
					continue
				}
				if len(out) == limit { // one more match: there is a next page
					return out, lastKey, nil
				}
				out = append(out, it.c)
				lastKey = it.key
			}
			i = j
		}
		count = activityBatch
		if zs, err = read("(" + scoreArg(zs[len(zs)-1].Score)); err != nil {
			return nil, "", err
		}
	}
}

// matchesAll reports whether f (its cursor aside) selects every
// conversation.
func matchesAll(f store.ConversationFilter) bool {
	return f.Status == "" && f.Channel == "" && f.Assignee == "" && f.Team == "" && f.Audiences == nil &&
		f.CustomerIDs == nil && f.Label == "" && f.Priority == ""
}

// activityRecords fetches the records of activity index members zs in
// one pipeline: "" for a member whose record is gone.
func (s *Store) activityRecords(ctx context.Context, zs []goredis.Z) ([]string, error) {
	cmds := make([]*goredis.StringCmd, len(zs))
	_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, z := range zs {
			m, _ := z.Member.(string)
			id, cust, _ := strings.Cut(m, "\x00")
			cmds[i] = p.HGet(ctx, s.k.conversations(cust), id)
		}
		return nil
	})
	if err != nil && !isNil(err) {
		return nil, err
	}
	raws := make([]string, len(zs))
	for i := range zs {
		raw, err := cmds[i].Result()
		if err != nil && !isNil(err) {
			return nil, err
		}
		raws[i] = raw
	}
	return raws, nil
}

// activityItems decodes the records raws of members zs (one score) and
// appends them to items in the listing's order, newest first; members
// whose record is gone are left out.
func activityItems(items []activityItem, zs []goredis.Z, raws []string) ([]activityItem, error) {
	for i, z := range zs {
		if raws[i] == "" {
			continue
		}
		var c store.Conversation
		if err := unmarshal(raws[i], &c); err != nil {
			return nil, err
		}
		k := store.ConversationCursor(c)
		if activityScore(c.LastActivity) != z.Score {
			k = store.SortKey(time.UnixMicro(int64(z.Score)), c.ID)
		}
		items = append(items, activityItem{c: c, key: k})
	}
	if len(items) > 1 {
		sort.Slice(items, func(i, j int) bool { return items[i].key > items[j].key })
	}
	return items, nil
}

// migrateLegacyIndex moves the members of the legacy activity index (a
// lex member per activity, from hubs before this index) into the activity
// index, batch by batch, each member removed only after its conversation
// was indexed: a crash midway loses nothing, and a second hub doing the
// same meanwhile writes the same scores. For each member's conversation
// the score written (GT: never moving back one a newer hub wrote) is its
// record's activity, or the member's when that is newer (an older hub's
// update in flight, whose record is about to catch up: the member is
// written before the record on that path). A member whose record is gone
// (deleted) is dropped. An older hub still running writes members here
// again: the next ListConversations of this version moves them.
func (s *Store) migrateLegacyIndex(ctx context.Context) error {
	legacy := s.k.legacyConversationIndex()
	for {
		members, err := s.c.ZRange(ctx, legacy, 0, 499).Result()
		if err != nil || len(members) == 0 {
			return err
		}
		cmds := make([]*goredis.StringCmd, len(members))
		if _, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for i, m := range members {
				cur, cust, _ := strings.Cut(m, "\x00")
				cmds[i] = p.HGet(ctx, s.k.conversations(cust), store.SortKeyID(cur))
			}
			return nil
		}); err != nil && !isNil(err) {
			return err
		}
		var zs []goredis.Z
		for i, m := range members {
			raw, err := cmds[i].Result()
			if isNil(err) {
				continue
			}
			if err != nil {
				return err
			}
			var c store.Conversation
			if err := unmarshal(raw, &c); err != nil {
				// One unreadable record must not stop every list (the
				// inbox, erasure, threading) for good: its record stays
				// as it is, only its old member goes.
				s.log.Error("store/redis: activity index upgrade: a conversation record is unreadable; not indexed", "member", m, "err", err)
				continue
			}
			z := s.activityZ(c)
			cur, _, _ := strings.Cut(m, "\x00")
			if t, _, err := store.ParseSortKey(cur); err == nil && cur > store.ConversationCursor(c) {
				z.Score = activityScore(t)
			}
			zs = append(zs, z)
		}
		if len(zs) > 0 {
			if err := s.c.ZAddArgs(ctx, s.k.conversationIndex(), goredis.ZAddArgs{GT: true, Members: zs}).Err(); err != nil {
				return err
			}
		}
		rm := make([]any, len(members))
		for i, m := range members {
			rm[i] = m
		}
		if err := s.c.ZRem(ctx, legacy, rm...).Err(); err != nil {
			return err
		}
	}
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
	// The activity member names only the conversation and its owner, so
	// it is removed whether or not the record was still there: a retry
	// after a failed removal (or a crash after the script) finds no record
	// but must not leave the member behind. A member the legacy index may
	// still hold needs no removal: the migration drops members whose
	// record is gone.
	if err := s.c.ZRem(ctx, s.k.conversationIndex(), s.activityMember(store.Conversation{ID: id, CustomerID: owner})).Err(); err != nil {
		return err
	}
	if err == nil {
		var c store.Conversation
		if err := unmarshal(raw, &c); err != nil {
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
