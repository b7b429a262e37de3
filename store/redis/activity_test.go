package redis_test

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

// The activity index is one member per conversation scored in
// microseconds (issue 23); these tests check that listing still follows
// the sort keys (nanoseconds, then id) exactly, that paging is exact, and
// that a store written by an older hub (the lex index) lists right.

// openAt opens conversation id of customer cust with activity at.
func openAt(t *testing.T, s *redis.Store, cust, id string, at time.Time) store.Conversation {
	t.Helper()
	c, _, err := s.OpenConversation(context.Background(), store.Conversation{ID: id, CustomerID: cust, Channel: "api",
		ThreadKey: "api|" + id, Status: store.StatusOpen, CreatedAt: at, LastActivity: at})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wantOrder is cs ordered as the sort keys order them, newest first.
func wantOrder(cs []store.Conversation) []string {
	cs = slices.Clone(cs)
	sort.Slice(cs, func(i, j int) bool { return store.ConversationCursor(cs[i]) > store.ConversationCursor(cs[j]) })
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

// listAll pages through ListConversations with f, limit per page, and
// returns the ids in order.
func listAll(t *testing.T, s *redis.Store, f store.ConversationFilter, limit int) []string {
	t.Helper()
	var ids []string
	f.Limit = limit
	for page := 0; ; page++ {
		if page > 10000 {
			t.Fatal("paging does not end")
		}
		cs, next, err := s.ListConversations(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range cs {
			ids = append(ids, c.ID)
		}
		if next == "" {
			return ids
		}
		f.Before = next
	}
}

// Conversations within one microsecond are listed by their nanoseconds,
// then ids, as the sort keys say (the score alone cannot tell them apart),
// paged one by one or all at once, and a cursor excludes exactly what it
// did.
func TestActivityWithinAMicrosecond(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var cs []store.Conversation
	for i, ns := range []int{100, 900, 500, 500, 0, 999, 1000} {
		cs = append(cs, openAt(t, f.s, "c1", fmt.Sprintf("cv%d", 7-i), base.Add(time.Duration(ns))))
	}
	want := wantOrder(cs)
	for _, limit := range []int{1, 2, 3, 50} {
		if got := listAll(t, f.s, store.ConversationFilter{}, limit); !slices.Equal(got, want) {
			t.Errorf("limit %d: listed %v, want %v", limit, got, want)
		}
	}
	for i, c := range cs {
		// The cursor of any conversation: the ones after it in the order.
		after := wantOrder(cs)
		after = after[slices.Index(after, c.ID)+1:]
		got := listAll(t, f.s, store.ConversationFilter{Before: store.ConversationCursor(c)}, 50)
		if !slices.Equal(got, after) {
			t.Errorf("before conversation %d (%s): %v, want %v", i, c.ID, got, after)
		}
	}
}

// Batches end inside a score (a tie group across the 200-member read) and
// one score fills a whole batch (more than 200 conversations of one
// microsecond, as under a stopped clock): every conversation is listed
// once, in the sort keys' order, on pages of any size.
func TestActivityTiesAcrossBatches(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var cs []store.Conversation
	for i := range 195 {
		cs = append(cs, openAt(t, f.s, "c1", fmt.Sprintf("d%03d", i), base.Add(time.Hour+time.Duration(i)*time.Microsecond)))
	}
	for i := range 10 {
		cs = append(cs, openAt(t, f.s, "c2", fmt.Sprintf("t%03d", i), base.Add(time.Minute)))
	}
	for i := range 250 {
		cs = append(cs, openAt(t, f.s, fmt.Sprintf("c%d", 3+i%3), fmt.Sprintf("s%03d", i), base))
	}
	want := wantOrder(cs)
	for _, limit := range []int{7, 100, 500} {
		if got := listAll(t, f.s, store.ConversationFilter{}, limit); !slices.Equal(got, want) {
			t.Errorf("limit %d: %d listed, want %d in order (first difference at %d)", limit, len(got), len(want), firstDiff(got, want))
		}
	}
	// A filter pages through the same order.
	var c4 []store.Conversation
	for _, c := range cs {
		if c.CustomerID == "c4" {
			c4 = append(c4, c)
		}
	}
	if got := listAll(t, f.s, store.ConversationFilter{CustomerIDs: []string{"c4"}}, 30); !slices.Equal(got, wantOrder(c4)) {
		t.Errorf("customer c4: %v, want %v", got, wantOrder(c4))
	}
}

func firstDiff(a, b []string) int {
	for i := range min(len(a), len(b)) {
		if a[i] != b[i] {
			return i
		}
	}
	return min(len(a), len(b))
}

// A conversation whose score is ahead of its record (an update whose
// compare-and-swap was lost, or in flight) is listed once, where its
// score puts it, and paging through it neither repeats nor skips any.
func TestActivityScoreAheadOfRecord(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	ctx := context.Background()
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	a := openAt(t, f.s, "c1", "a", base)
	openAt(t, f.s, "c1", "b", base.Add(time.Second))
	openAt(t, f.s, "c2", "c", base.Add(2*time.Second))
	ahead := float64(base.Add(3 * time.Second).UnixMicro())
	if err := f.c.ZAdd(ctx, f.prefix+":{convs}:recent", goredis.Z{Score: ahead, Member: "a\x00c1"}).Err(); err != nil {
		t.Fatal(err)
	}
	for _, limit := range []int{1, 2, 10} {
		if got := listAll(t, f.s, store.ConversationFilter{}, limit); !slices.Equal(got, []string{"a", "c", "b"}) {
			t.Errorf("limit %d: %v, want [a c b] (a at its score)", limit, got)
		}
	}
	// Its record is listed as it is.
	cs, _, err := f.s.ListConversations(ctx, store.ConversationFilter{Limit: 1})
	if err != nil || len(cs) != 1 || !cs[0].LastActivity.Equal(a.LastActivity) {
		t.Errorf("first listed = %+v, %v; want a's record", cs, err)
	}
}

// legacyMember is a conversation's member of the lex activity index that
// hubs before issue 23's one-member index wrote.
func legacyMember(c store.Conversation) string {
	return store.ConversationCursor(c) + "\x00" + c.CustomerID
}

// A store an older hub wrote (the lex activity index under its old key,
// with a leftover member of an earlier activity and one of a deleted
// conversation) lists every conversation exactly once, in order, after
// the upgrade; the legacy index is emptied into the new one. An older hub
// still running then writes a lex member again (a rolling upgrade): it is
// listed too, once.
func TestActivityIndexUpgrade(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	ctx := context.Background()
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var cs []store.Conversation
	for i := range 12 {
		cs = append(cs, openAt(t, f.s, fmt.Sprintf("c%d", i%3), fmt.Sprintf("cv%02d", i), base.Add(time.Duration(i*7%12)*time.Second+time.Duration(i))))
	}
	gone := openAt(t, f.s, "c1", "gone", base)
	if err := f.s.DeleteConversation(ctx, gone.ID); err != nil {
		t.Fatal(err)
	}
	// The older hub's layout: no new index, the lex one instead.
	index, legacy := f.prefix+":{convs}:recent", f.prefix+":{convs}:activity"
	if err := f.c.Del(ctx, index).Err(); err != nil {
		t.Fatal(err)
	}
	members := []goredis.Z{{Member: legacyMember(gone)}}
	for _, c := range cs {
		members = append(members, goredis.Z{Member: legacyMember(c)})
	}
	earlier := cs[4]
	earlier.LastActivity = earlier.LastActivity.Add(-time.Hour)
	members = append(members, goredis.Z{Member: legacyMember(earlier)}) // a removal that failed
	if err := f.c.ZAdd(ctx, legacy, members...).Err(); err != nil {
		t.Fatal(err)
	}

	s := redis.New(f.c, redis.Options{Prefix: f.prefix, Clock: f.clock.Now}) // the upgraded hub
	defer s.Close()
	want := wantOrder(cs)
	if got := listAll(t, s, store.ConversationFilter{}, 5); !slices.Equal(got, want) {
		t.Fatalf("after the upgrade: %v, want %v", got, want)
	}
	if n, err := f.c.Exists(ctx, legacy).Result(); err != nil || n != 0 {
		t.Errorf("legacy index left: %d, %v", n, err)
	}
	if n, err := f.c.ZCard(ctx, index).Result(); err != nil || n != int64(len(cs)) {
		t.Errorf("activity index holds %d, %v; want one member per conversation (%d)", n, err, len(cs))
	}
	if got := listAll(t, s, store.ConversationFilter{CustomerIDs: []string{"c2"}}, 2); len(got) != 4 || !strings.HasPrefix(got[0], "cv") {
		t.Errorf("customer c2 after the upgrade: %v, want its 4", got)
	}

	// An older hub opens a conversation and moves another: lex members
	// only, as its sb_append_v3 and its index code write them.
	late := openAt(t, s, "c0", "late", base.Add(time.Hour))
	moved, err := s.UpdateConversation(ctx, cs[0].ID, func(c *store.Conversation) error {
		c.LastActivity = base.Add(2 * time.Hour)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := f.c.ZAdd(ctx, index, goredis.Z{Score: float64(cs[0].LastActivity.UnixMicro()), Member: cs[0].ID + "\x00" + cs[0].CustomerID}).Err(); err != nil {
		t.Fatal(err) // the older hub left the new index as it was
	}
	if err := f.c.ZRem(ctx, index, "late\x00c0").Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.c.ZAdd(ctx, legacy, goredis.Z{Member: legacyMember(late)}, goredis.Z{Member: legacyMember(moved)}).Err(); err != nil {
		t.Fatal(err)
	}
	cs[0] = moved
	want = wantOrder(append(cs, late))
	if got := listAll(t, s, store.ConversationFilter{}, 4); !slices.Equal(got, want) {
		t.Errorf("after an older hub's writes: %v, want %v", got, want)
	}
}

// On a Cluster (the path that also serves unusual cases on a standalone
// server), a message that moves the activity writes the conversation's
// one member's score and removes nothing: no ZREM is sent, the index
// holds one member at the new activity, and the conversation is listed
// once.
func TestAppendMovesActivityWithoutRemoval(t *testing.T) {
	f := newFixture(t, testenv.RedisCluster, store.QueueOptions{})
	ctx := context.Background()
	at := f.clock.Now()
	conv := openAt(t, f.s, "cust-1", "cv1", at)
	names := &commandNames{}
	f.c.AddHook(names)
	for i := range 3 {
		at = at.Add(time.Minute)
		id := fmt.Sprintf("m_%d", i)
		_, got, created, err := f.s.AppendToConversation(ctx, inbound(id, at), conv, lastAt(id, at))
		if err != nil || !created {
			t.Fatalf("append %s: created %v, %v", id, created, err)
		}
		conv = got
	}
	names.mu.Lock()
	sent := slices.Clone(names.names)
	names.mu.Unlock()
	if slices.Contains(sent, "zrem") || !slices.Contains(sent, "zadd") {
		t.Errorf("commands sent: %v; want the index's zadd and no zrem", sent)
	}
	zs, err := f.c.ZRangeWithScores(ctx, f.prefix+":{convs}:recent", 0, -1).Result()
	if err != nil || len(zs) != 1 || zs[0].Score != float64(at.UnixMicro()) {
		t.Errorf("activity index = %v, %v; want cv1 once, scored %d", zs, err, at.UnixMicro())
	}
	if got := listAll(t, f.s, store.ConversationFilter{}, 10); !slices.Equal(got, []string{"cv1"}) {
		t.Errorf("listed %v, want [cv1]", got)
	}
}

// Several upgraded hubs finding the lex index at once each move it (the
// same scores, GT) while listing: every one of them lists every
// conversation once, in order, and the lex index ends empty.
func TestActivityIndexUpgradeConcurrent(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	ctx := context.Background()
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	var cs []store.Conversation
	var members []goredis.Z
	for i := range 1200 {
		c := openAt(t, f.s, fmt.Sprintf("c%d", i%7), fmt.Sprintf("cv%04d", i), base.Add(time.Duration(i*37%1200)*time.Millisecond))
		cs = append(cs, c)
		members = append(members, goredis.Z{Member: legacyMember(c)})
	}
	index, legacy := f.prefix+":{convs}:recent", f.prefix+":{convs}:activity"
	if err := f.c.Del(ctx, index).Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.c.ZAdd(ctx, legacy, members...).Err(); err != nil {
		t.Fatal(err)
	}
	want := wantOrder(cs)
	got := make([][]string, 4)
	var wg sync.WaitGroup
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := redis.New(f.c, redis.Options{Prefix: f.prefix, Clock: f.clock.Now})
			defer s.Close()
			var ids []string
			flt := store.ConversationFilter{Limit: 100}
			for {
				cs, next, err := s.ListConversations(ctx, flt)
				if err != nil {
					t.Error(err)
					return
				}
				for _, c := range cs {
					ids = append(ids, c.ID)
				}
				if next == "" {
					break
				}
				flt.Before = next
			}
			got[i] = ids
		}()
	}
	wg.Wait()
	for i, ids := range got {
		if !slices.Equal(ids, want) {
			t.Errorf("hub %d listed %d conversations, want %d in order (first difference at %d)", i, len(ids), len(want), firstDiff(ids, want))
		}
	}
	if n, err := f.c.Exists(ctx, legacy).Result(); err != nil || n != 0 {
		t.Errorf("legacy index left: %d, %v", n, err)
	}
	if n, err := f.c.ZCard(ctx, index).Result(); err != nil || n != int64(len(cs)) {
		t.Errorf("activity index holds %d, %v; want %d", n, err, len(cs))
	}
}

// vanishingScore empties the activity index of one score just before the
// store reads that score whole (another hub moved its conversations
// between the two reads).
type vanishingScore struct {
	raw  *goredis.Client
	done bool
}

func (v *vanishingScore) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (v *vanishingScore) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return next
}
func (v *vanishingScore) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		a := cmd.Args()
		if !v.done && len(a) > 4 && cmd.Name() == "zrange" && fmt.Sprint(a[2]) == fmt.Sprint(a[3]) {
			v.done = true
			if err := v.raw.ZRemRangeByScore(ctx, fmt.Sprint(a[1]), fmt.Sprint(a[2]), fmt.Sprint(a[3])).Err(); err != nil {
				return err
			}
		}
		return next(ctx, cmd)
	}
}

// A score that fills the first read, whose members all move before the
// store reads it whole: the list goes on below it (it once indexed an
// empty reply).
func TestActivityScoreEmptiedBetweenReads(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	openAt(t, f.s, "c1", "old", base.Add(-time.Second))
	for i := range 5 {
		openAt(t, f.s, "c1", fmt.Sprintf("tie%d", i), base)
	}
	raw := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr()})
	defer raw.Close()
	v := &vanishingScore{raw: raw}
	f.c.AddHook(v)
	cs, _, err := f.s.ListConversations(context.Background(), store.ConversationFilter{Limit: 1})
	if err != nil {
		t.Fatal(err)
	}
	if !v.done {
		t.Fatal("the store never read the tied score whole: the test does not test what it says")
	}
	if len(cs) != 1 || cs[0].ID != "old" {
		t.Fatalf("listed %v, want the conversation below the emptied score", wantOrder(cs))
	}
}

// A deletion retried after its script removed the record (the activity
// index's removal failed, or the hub died in between) still removes the
// conversation's member: nothing of an erased conversation stays behind.
func TestDeleteConversationRetryRemovesActivityMember(t *testing.T) {
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	ctx := context.Background()
	c := openAt(t, f.s, "c1", "gone", time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC))
	index := f.prefix + ":{convs}:recent"
	member := c.ID + "\x00" + c.CustomerID
	if _, err := f.c.ZScore(ctx, index, member).Result(); err != nil {
		t.Fatalf("the conversation's activity member is not at %s: %v", index, err)
	}
	// The first attempt's script ran (the record is gone); its removal of
	// the member did not.
	if err := f.c.HDel(ctx, f.prefix+":{c:c1}:convs", c.ID).Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.s.DeleteConversation(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if n, err := f.c.ZCard(ctx, index).Result(); err != nil || n != 0 {
		t.Fatalf("activity index after the retried deletion holds %d members (%v), want none", n, err)
	}
}
