package redis_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

// oneStepFixture opens conversation cv1 of customer cust-1 and returns it.
func oneStepFixture(t *testing.T) (fixture, store.Conversation) {
	t.Helper()
	f := newFixture(t, testenv.Redis, store.QueueOptions{})
	at := f.clock.Now()
	conv, _, err := f.s.OpenConversation(context.Background(), store.Conversation{ID: "cv1", CustomerID: "cust-1", Channel: "api",
		ThreadKey: "api|", Status: store.StatusOpen, CreatedAt: at, LastActivity: at})
	if err != nil {
		t.Fatal(err)
	}
	return f, conv
}

func inbound(id string, at time.Time) store.Entry {
	return store.Entry{ID: id, CustomerID: "cust-1", ConversationID: "cv1", Channel: "api", Direction: connectors.Inbound,
		Kind: store.KindMessage, Text: "hello " + id, OccurredAt: at, CreatedAt: at}
}

func lastAt(id string, at time.Time) func(*store.Conversation) error {
	return func(c *store.Conversation) error {
		c.LastMessageID, c.LastActivity = id, at
		return nil
	}
}

// On a standalone Redis an inbound message's store step is one command
// from the hub (issue 23), and it leaves what the Cluster's three round
// trips leave: the entry findable by id, on the timeline, and the
// conversation listed once, at its new activity.
func TestAppendIsOneCommandOnStandalone(t *testing.T) {
	f, conv := oneStepFixture(t)
	ctx := context.Background()
	sent := &redis.CommandCounter{}
	f.c.AddHook(sent)
	for i := range 3 {
		at := f.clock.Now().Add(time.Duration(i+1) * time.Minute)
		id := fmt.Sprintf("m_%d", i)
		n0 := sent.Sent()
		_, got, created, err := f.s.AppendToConversation(ctx, inbound(id, at), conv, lastAt(id, at))
		if err != nil || !created {
			t.Fatalf("append %s: created %v, %v", id, created, err)
		}
		if n := sent.Sent() - n0; i > 0 && n != 1 {
			// (the first call may ask the server for the functions library)
			t.Errorf("append %s sent %d commands, want 1", id, n)
		}
		conv = got
	}
	e, err := f.s.GetEntry(ctx, "m_2")
	if err != nil || e.ConversationID != "cv1" || e.CustomerID != "cust-1" {
		t.Fatalf("GetEntry(m_2) = %+v, %v", e, err)
	}
	if n, err := f.s.CountEntries(ctx, "cust-1"); err != nil || n != 3 {
		t.Errorf("CountEntries = %d, %v; want 3", n, err)
	}
	list, _, err := f.s.ListConversations(ctx, store.ConversationFilter{})
	if err != nil || len(list) != 1 || list[0].LastMessageID != "m_2" {
		t.Fatalf("ListConversations = %+v, %v; want cv1 once, last message m_2", list, err)
	}
	// The activity index holds exactly one member for cv1, scored by its
	// latest activity: each message replaced the score.
	members, err := f.c.ZRangeWithScores(ctx, f.prefix+":{convs}:recent", 0, -1).Result()
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := members[0].Member.(string); len(members) != 1 || !strings.Contains(m, "cv1") || members[0].Score != float64(conv.LastActivity.UnixMicro()) {
		t.Errorf("activity index = %v, want one member for cv1 scored %d", members, conv.LastActivity.UnixMicro())
	}
	// A redelivery is no second entry, and the same dedupe record.
	_, _, created, err := f.s.AppendToConversation(ctx, inbound("m_2", f.clock.Now()), conv, lastAt("m_2", f.clock.Now()))
	if err != nil || created {
		t.Errorf("append m_2 again: created %v, %v; want the existing entry", created, err)
	}
}

// The functions library is loaded with its version, an older hub does not
// replace a newer library, and without the function the append still
// works (as a script).
func TestFunctionsLibraryVersion(t *testing.T) {
	f, conv := oneStepFixture(t)
	ctx := context.Background()
	at := f.clock.Now().Add(time.Minute)
	if _, _, _, err := f.s.AppendToConversation(ctx, inbound("m_a", at), conv, lastAt("m_a", at)); err != nil {
		t.Fatal(err)
	}
	// This version's library exactly: a server left with an older one
	// (the load skipped or failed) would serve older functions.
	if v, err := f.c.FCall(ctx, "sb_version", nil).Int(); err != nil || v != redis.LibraryVersion {
		t.Fatalf("sb_version = %d, %v; want this version's library (%d)", v, err, redis.LibraryVersion)
	}
	// A newer hub's library, without this version's function.
	newer := "#!lua name=switchboard\nredis.register_function('sb_version', function() return 99 end)\n"
	if err := f.c.FunctionLoadReplace(ctx, newer).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.c.FunctionDelete(context.Background(), "switchboard") }) // the next store loads its own
	s := redis.New(f.c, redis.Options{Prefix: f.prefix, Clock: f.clock.Now})
	defer s.Close()
	conv, err := s.GetConversation(ctx, "cv1")
	if err != nil {
		t.Fatal(err)
	}
	at = at.Add(time.Minute)
	if _, _, created, err := s.AppendToConversation(ctx, inbound("m_b", at), conv, lastAt("m_b", at)); err != nil || !created {
		t.Fatalf("append beside a newer library: created %v, %v", created, err)
	}
	if v, err := f.c.FCall(ctx, "sb_version", nil).Int(); err != nil || v != 99 {
		t.Errorf("sb_version after an older hub's append = %d, %v; want the newer library (99) kept", v, err)
	}
	if n, err := s.CountEntries(ctx, "cust-1"); err != nil || n != 2 {
		t.Errorf("CountEntries = %d, %v; want 2", n, err)
	}
}

// A server holding the previous version's library (sb_version 1, only
// sb_append_v1) gets this version's at the first append, and the previous
// version's function stays callable for hubs not yet upgraded.
func TestFunctionsLibraryUpgrade(t *testing.T) {
	f, conv := oneStepFixture(t)
	ctx := context.Background()
	older := "#!lua name=switchboard\nredis.register_function('sb_version', function() return 1 end)\n" +
		"redis.register_function('sb_append_v1', function(KEYS, ARGV) return {-1, ''} end)\n"
	if err := f.c.FunctionLoadReplace(ctx, older).Err(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.c.FunctionDelete(context.Background(), "switchboard") }) // the next store loads its own
	s := redis.New(f.c, redis.Options{Prefix: f.prefix, Clock: f.clock.Now})
	defer s.Close()
	at := f.clock.Now().Add(time.Minute)
	if _, _, created, err := s.AppendToConversation(ctx, inbound("m_a", at), conv, lastAt("m_a", at)); err != nil || !created {
		t.Fatalf("append over an older library: created %v, %v", created, err)
	}
	if v, err := f.c.FCall(ctx, "sb_version", nil).Int(); err != nil || v != redis.LibraryVersion {
		t.Errorf("sb_version after the append = %d, %v; want this version's library (%d)", v, err, redis.LibraryVersion)
	}
	libs, err := f.c.FunctionList(ctx, goredis.FunctionListQuery{LibraryNamePattern: "switchboard"}).Result()
	if err != nil || len(libs) != 1 {
		t.Fatalf("FUNCTION LIST = %+v, %v", libs, err)
	}
	names := map[string]bool{}
	for _, fn := range libs[0].Functions {
		names[fn.Name] = true
	}
	if !names["sb_append_v1"] || !names["sb_append_v2"] || !names["sb_append_v3"] || !names["sb_append_v4"] || !names["sb_append_v5"] {
		t.Errorf("library functions = %v; want sb_append_v1 to v4 kept beside sb_append_v5", names)
	}
	if e, err := s.GetEntry(ctx, "m_a"); err != nil || e.ConversationID != "cv1" {
		t.Errorf("GetEntry(m_a) = %+v, %v", e, err)
	}
}

// commandNames records the names of the commands a client sends.
type commandNames struct {
	mu    sync.Mutex
	names []string
}

func (h *commandNames) DialHook(next goredis.DialHook) goredis.DialHook { return next }
func (h *commandNames) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		h.mu.Lock()
		h.names = append(h.names, cmd.Name())
		h.mu.Unlock()
		return next(ctx, cmd)
	}
}
func (h *commandNames) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		h.mu.Lock()
		for _, c := range cmds {
			h.names = append(h.names, c.Name())
		}
		h.mu.Unlock()
		return next(ctx, cmds)
	}
}

// On a standalone Redis the append publishes its announcement itself
// (issue 23): the subscribers get the events in order, the hub sends no
// PUBLISH of its own, and a redelivery announces nothing.
func TestAppendPublishesItsAnnouncement(t *testing.T) {
	f, conv := oneStepFixture(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	events, err := f.s.Subscribe(ctx, "events")
	if err != nil {
		t.Fatal(err)
	}
	names := &commandNames{}
	f.c.AddHook(names)
	announce := func() *store.Announcement {
		return &store.Announcement{Topic: "events", Events: func(before, after store.Conversation) [][]byte {
			return [][]byte{[]byte("first:" + before.LastMessageID + ">" + after.LastMessageID), []byte("second:" + after.LastMessageID)}
		}}
	}
	at := f.clock.Now().Add(time.Minute)
	a := announce()
	_, _, created, err := f.s.AppendToConversation(store.WithAnnouncement(ctx, a), inbound("m_1", at), conv, lastAt("m_1", at))
	if err != nil || !created || !a.Published() {
		t.Fatalf("append: created %v, published %v, %v", created, a.Published(), err)
	}
	// A redelivery: nothing created, nothing announced.
	again := announce()
	if _, _, created, err := f.s.AppendToConversation(store.WithAnnouncement(ctx, again), inbound("m_1", at), conv, lastAt("m_1", at)); err != nil || created || again.Published() {
		t.Fatalf("redelivery: created %v, published %v, %v", created, again.Published(), err)
	}
	// A marker published after both: everything announced arrives before it.
	if err := f.s.Publish(ctx, "events", []byte("marker")); err != nil {
		t.Fatal(err)
	}
	var got []string
	for len(got) == 0 || got[len(got)-1] != "marker" {
		select {
		case b := <-events:
			got = append(got, string(b))
		case <-time.After(5 * time.Second):
			t.Fatalf("events so far %q", got)
		}
	}
	if want := []string{"first:>m_1", "second:m_1", "marker"}; strings.Join(got, ",") != strings.Join(want, ",") {
		t.Errorf("events = %q, want %q", got, want)
	}
	names.mu.Lock()
	defer names.mu.Unlock()
	if n := strings.Count(","+strings.Join(names.names, ",")+",", ",publish,"); n != 1 {
		t.Errorf("the hub sent %d PUBLISH commands (%v), want 1 (the marker's)", n, names.names)
	}
}
