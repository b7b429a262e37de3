package router_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/hubtest"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
	"github.com/switchboard-hub/switchboard/timeline"
)

func backends(t *testing.T, f func(t *testing.T, st store.Store)) { hubtest.Backends(t, f) }

type hub struct {
	st  store.Store
	dir *directory.Directory
	rt  *router.Router
	in  *router.Ingest
	n   int
}

var testChannels = []directory.Channel{
	{Name: "trusted-api", Type: "api", Phase: store.PhaseLive, Trusted: true},
	{Name: "form", Type: "api", Phase: store.PhaseLive},
	{Name: "beta", Type: "api", Phase: store.PhaseShadow, PilotTeam: "pilots"},
	// An api channel only receives: replies are tested on this one.
	{Name: "mail", Type: "email", Phase: store.PhaseLive},
}

func newHub(t *testing.T, st store.Store) *hub {
	dir := directory.New(st, testChannels, store.SystemClock, nil)
	rt := router.New(st, dir, router.Options{Routing: router.Routing{
		Teams:  []string{"support", "pilots"},
		Agents: []router.Agent{{Name: "alice", Teams: []string{"support"}}, {Name: "bob", Teams: []string{"support"}}, {Name: "pia", Teams: []string{"pilots"}}},
	}})
	return &hub{st: st, dir: dir, rt: rt, in: router.NewIngest(st, dir, "FI", store.SystemClock, nil)}
}

// msg builds a message; identities are "type:value" (verified on trusted-api).
func (h *hub) msg(channel, thread, text string, ids ...string) connectors.Message {
	h.n++
	m := connectors.Message{Channel: channel, ProviderID: fmt.Sprintf("p-%d-%s", h.n, text), ThreadKey: thread, Text: text,
		OccurredAt: time.Date(2026, 1, 1, 0, 0, h.n, 0, time.UTC)}
	for _, k := range ids {
		id, _ := connectors.ParseKey(k)
		m.Identities = append(m.Identities, id)
	}
	return m
}

// process prepares and processes m synchronously, as a router worker would.
func (h *hub) process(t *testing.T, m connectors.Message) connectors.Message {
	t.Helper()
	m, err := h.in.Prepare(m)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	if err := h.rt.Process(context.Background(), m); err != nil {
		t.Fatalf("process: %v", err)
	}
	return m
}

func (h *hub) customerOf(t *testing.T, key string) timeline.View {
	t.Helper()
	id, _ := connectors.ParseKey(key)
	id, _ = connectors.Normalize(id, "FI")
	b, err := h.st.LookupIdentity(context.Background(), id.Type, id.Value)
	if err != nil {
		b, err = h.st.LookupClaim(context.Background(), id.Type, id.Value)
	}
	if err != nil {
		t.Fatalf("lookup %s: %v", key, err)
	}
	v, err := timeline.Load(context.Background(), h.st, b.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func (h *hub) texts(t *testing.T, v timeline.View) []string {
	t.Helper()
	es, _, err := timeline.Page(context.Background(), h.st, v, "", 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i := len(es) - 1; i >= 0; i-- { // oldest first
		out = append(out, es[i].Text)
	}
	return out
}

func eq(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestOnePersonAcrossChannelsIsOneCustomer(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		h.process(t, h.msg("trusted-api", "", "by email", "email:Ann@Example.com"))
		h.process(t, h.msg("trusted-api", "", "by phone", "phone:040 1234567"))
		if a, b := h.customerOf(t, "email:ann@example.com"), h.customerOf(t, "phone:+358401234567"); a.Root.ID == b.Root.ID {
			t.Fatal("email and phone were joined before any evidence linked them")
		}
		h.process(t, h.msg("trusted-api", "", "both", "email:ann@example.com", "phone:+358401234567"))
		a, b := h.customerOf(t, "email:ann@example.com"), h.customerOf(t, "phone:+358 40 1234567")
		if a.Root.ID != b.Root.ID {
			t.Fatalf("still two customers: %s and %s", a.Root.ID, b.Root.ID)
		}
		if got := h.texts(t, a); !eq(got, []string{"by email", "by phone", "both"}) {
			t.Fatalf("timeline = %q, want all three in order", got)
		}
		ms, err := st.ListMerges(context.Background(), a.Root.ID)
		if err != nil || len(ms) != 1 || ms[0].Status != store.MergeApplied || ms[0].Evidence == "" {
			t.Fatalf("merge record = %+v, %v; want one applied merge with evidence", ms, err)
		}

		// Unmerge restores both customers with their own timelines.
		if _, err := h.rt.Resolver().Unmerge(context.Background(), ms[0].ID, "alice"); err != nil {
			t.Fatal(err)
		}
		a, b = h.customerOf(t, "email:ann@example.com"), h.customerOf(t, "phone:+358401234567")
		if a.Root.ID == b.Root.ID {
			t.Fatal("unmerge left one customer")
		}
		if got := h.texts(t, a); !eq(got, []string{"by email", "both"}) {
			t.Fatalf("email customer after unmerge = %q", got)
		}
		if got := h.texts(t, b); !eq(got, []string{"by phone"}) {
			t.Fatalf("phone customer after unmerge = %q", got)
		}
		// An unmerged pair is not merged again behind the agent's back.
		h.process(t, h.msg("trusted-api", "", "again both", "email:ann@example.com", "phone:+358401234567"))
		if h.customerOf(t, "email:ann@example.com").Root.ID == h.customerOf(t, "phone:+358401234567").Root.ID {
			t.Fatal("router re-merged a pair an agent had unmerged")
		}
		if s, _ := st.ListSuggestions(context.Background(), 10); len(s) != 1 {
			t.Fatalf("want one suggestion after evidence on an unmerged pair, got %d", len(s))
		}
	})
}

func TestClaimedIdentityNeverJoinsAnotherCustomer(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		h.process(t, h.msg("trusted-api", "", "real ann", "email:ann@example.com"))
		owner := h.customerOf(t, "email:ann@example.com")

		m := h.process(t, h.msg("form", "", "someone claiming ann", "email:ann@example.com"))
		if got := h.texts(t, owner); !eq(got, []string{"real ann"}) {
			t.Fatalf("claimed message reached the owner's timeline: %q", got)
		}
		e, err := st.GetEntry(context.Background(), m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if e.CustomerID == owner.Root.ID {
			t.Fatal("claimed message landed on the verified owner")
		}
		sg, err := st.ListSuggestions(context.Background(), 10)
		if err != nil || len(sg) != 1 || sg[0].Winner != owner.Root.ID || sg[0].Loser != e.CustomerID {
			t.Fatalf("suggestions = %+v, %v; want one linking %s and %s", sg, err, owner.Root.ID, e.CustomerID)
		}
		// The same claim again lands with the first claimer, not a third customer.
		m2 := h.process(t, h.msg("form", "", "claiming again", "email:ann@example.com"))
		e2, _ := st.GetEntry(context.Background(), m2.ID)
		if e2.CustomerID != e.CustomerID {
			t.Fatalf("second claim went to %s, first to %s", e2.CustomerID, e.CustomerID)
		}
		// Accepting the suggestion merges them.
		if _, err := h.rt.Resolver().Decide(context.Background(), sg[0].ID, true, "alice"); err != nil {
			t.Fatal(err)
		}
		if got := h.texts(t, h.customerOf(t, "email:ann@example.com")); len(got) != 3 {
			t.Fatalf("after accepting, timeline = %q", got)
		}
	})
}

func TestDuplicateDeliveryGivesOneEntry(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		m, err := h.in.Prepare(h.msg("trusted-api", "", "hello", "email:dup@example.com"))
		if err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 5; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := h.rt.Process(context.Background(), m); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		v := h.customerOf(t, "email:dup@example.com")
		if got := h.texts(t, v); len(got) != 1 {
			t.Fatalf("timeline has %d entries, want 1", len(got))
		}
		cs, _ := timeline.Conversations(context.Background(), st, v, 10)
		if len(cs) != 1 {
			t.Fatalf("%d conversations, want 1", len(cs))
		}
		n := 0
		for after := ""; ; {
			page, err := st.ListCustomers(context.Background(), after, 100)
			if err != nil {
				t.Fatal(err)
			}
			n += len(page)
			if len(page) < 100 {
				break
			}
			after = page[len(page)-1].ID
		}
		if n != 1 {
			t.Fatalf("%d customers, want 1", n)
		}
	})
}

// TestConcurrentMergesConverge: many workers resolve messages that link a
// chain of identities at once; the end is one customer holding every entry.
func TestConcurrentMergesConverge(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		const n = 12
		// First every identity gets its own customer...
		for i := 0; i < n; i++ {
			h.process(t, h.msg("trusted-api", "", fmt.Sprintf("solo %d", i), fmt.Sprintf("email:p%d@example.com", i)))
		}
		// ...then links i—i+1 arrive concurrently, in both orders.
		var ms []connectors.Message
		for i := 0; i+1 < n; i++ {
			m, err := h.in.Prepare(h.msg("trusted-api", "", fmt.Sprintf("link %d", i), fmt.Sprintf("email:p%d@example.com", i), fmt.Sprintf("email:p%d@example.com", i+1)))
			if err != nil {
				t.Fatal(err)
			}
			ms = append(ms, m)
		}
		var wg sync.WaitGroup
		for i := range ms {
			wg.Add(1)
			go func(m connectors.Message) {
				defer wg.Done()
				if err := h.rt.Process(context.Background(), m); err != nil {
					t.Error(err)
				}
			}(ms[len(ms)-1-i])
		}
		wg.Wait()
		root := h.customerOf(t, "email:p0@example.com").Root.ID
		for i := 1; i < n; i++ {
			if got := h.customerOf(t, fmt.Sprintf("email:p%d@example.com", i)).Root.ID; got != root {
				t.Fatalf("p%d resolves to %s, p0 to %s: merges did not converge", i, got, root)
			}
		}
		if got := h.texts(t, h.customerOf(t, "email:p5@example.com")); len(got) != n+n-1 {
			t.Fatalf("merged timeline has %d entries, want %d (none orphaned)", len(got), 2*n-1)
		}
	})
}

func TestThreadingAndResolvedConversation(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		ctx := context.Background()
		a := h.process(t, h.msg("trusted-api", "t1", "first", "email:t@example.com"))
		b := h.process(t, h.msg("trusted-api", "t1", "second", "email:t@example.com"))
		c := h.process(t, h.msg("trusted-api", "t2", "other thread", "email:t@example.com"))
		ea, _ := st.GetEntry(ctx, a.ID)
		eb, _ := st.GetEntry(ctx, b.ID)
		ec, _ := st.GetEntry(ctx, c.ID)
		if ea.ConversationID != eb.ConversationID || ea.ConversationID == ec.ConversationID {
			t.Fatalf("threading: %s %s %s", ea.ConversationID, eb.ConversationID, ec.ConversationID)
		}
		if _, err := st.UpdateConversation(ctx, ea.ConversationID, func(c *store.Conversation) error { c.Status = store.StatusResolved; return nil }); err != nil {
			t.Fatal(err)
		}
		d := h.process(t, h.msg("trusted-api", "t1", "after resolve", "email:t@example.com"))
		ed, _ := st.GetEntry(ctx, d.ID)
		if ed.ConversationID == ea.ConversationID {
			t.Fatal("a message after resolution reopened the resolved conversation instead of a new one")
		}
	})
}

func TestPhasesDecideWhoSees(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		ctx := context.Background()
		conv := func(m connectors.Message) store.Conversation {
			e, err := st.GetEntry(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			c, err := st.GetConversation(ctx, e.ConversationID)
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		// shadow: on a timeline, in nobody's inbox, assigned to nobody.
		c := conv(h.process(t, h.msg("beta", "s", "shadow msg", "email:s@example.com")))
		if c.Audience != store.AudienceShadow || c.Assignee != "" {
			t.Fatalf("shadow conversation: audience %q assignee %q", c.Audience, c.Assignee)
		}
		if got := h.texts(t, h.customerOf(t, "email:s@example.com")); len(got) != 1 {
			t.Fatal("shadow message not on the timeline")
		}
		// pilot: only the pilot team.
		if _, err := h.dir.SetPhase(ctx, "beta", store.PhasePilot, "admin"); err != nil {
			t.Fatal(err)
		}
		c = conv(h.process(t, h.msg("beta", "p", "pilot msg", "email:p@example.com")))
		if c.Audience != store.TeamAudience("pilots") || c.Team != "pilots" || c.Assignee != "pia" {
			t.Fatalf("pilot conversation: %+v", c)
		}
		// live: everyone; round-robin between alice and bob.
		if _, err := h.dir.SetPhase(ctx, "beta", store.PhaseLive, "admin"); err != nil {
			t.Fatal(err)
		}
		seen := map[string]int{}
		for i := 0; i < 4; i++ {
			c = conv(h.process(t, h.msg("beta", fmt.Sprint("l", i), "live msg", fmt.Sprintf("email:l%d@example.com", i))))
			if c.Audience != store.AudienceAll || c.Team != "support" {
				t.Fatalf("live conversation: %+v", c)
			}
			seen[c.Assignee]++
		}
		if seen["alice"] != 2 || seen["bob"] != 2 {
			t.Fatalf("round robin assigned %v, want 2 each to alice and bob", seen)
		}
		// off: refused at the door.
		if _, err := h.dir.SetPhase(ctx, "beta", store.PhaseOff, "admin"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.in.Deliver(ctx, h.msg("beta", "", "x", "email:x@example.com")); err == nil {
			t.Fatal("an off channel accepted a message")
		}
		if _, err := h.dir.SetPhase(ctx, "beta", "lve", "admin"); err == nil {
			t.Fatal("an invalid phase was accepted")
		}
	})
}

func TestWorkersDrainQueue(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		done := make(chan struct{})
		go func() { h.rt.Run(ctx); close(done) }()
		var ids []string
		for i := 0; i < 200; i++ {
			id, err := h.in.Deliver(ctx, h.msg("trusted-api", "", fmt.Sprint("m", i), fmt.Sprintf("email:w%d@example.com", i%7)))
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		deadline := time.Now().Add(20 * time.Second)
		for _, id := range ids {
			for {
				if _, err := st.GetEntry(ctx, id); err == nil {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("message %s never reached a timeline", id)
				}
				time.Sleep(20 * time.Millisecond)
			}
		}
		cancel()
		<-done
	})
}

// TestNewCustomerRaceOneConversation: the first messages of a brand-new
// customer handled at the same moment by several workers end as one
// customer with one conversation for the thread.
func TestNewCustomerRaceOneConversation(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		for round := 0; round < 5; round++ {
			var ms []connectors.Message
			for i := 0; i < 6; i++ {
				m, err := h.in.Prepare(h.msg("trusted-api", "same-thread", fmt.Sprint("burst ", i), fmt.Sprintf("email:new%d@example.com", round)))
				if err != nil {
					t.Fatal(err)
				}
				ms = append(ms, m)
			}
			var wg sync.WaitGroup
			for _, m := range ms {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := h.rt.Process(context.Background(), m); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			v := h.customerOf(t, fmt.Sprintf("email:new%d@example.com", round))
			if len(v.Members) != 1 {
				t.Fatalf("round %d: %d customer records in the view, want 1 (no merge needed)", round, len(v.Members))
			}
			cs, _ := timeline.Conversations(context.Background(), st, v, 10)
			if len(cs) != 1 {
				t.Fatalf("round %d: %d conversations for one thread", round, len(cs))
			}
			if got := h.texts(t, v); len(got) != 6 {
				t.Fatalf("round %d: %d entries, want 6", round, len(got))
			}
		}
	})
}

// TestAgentCapacity: an agent at capacity gets no new conversations; a
// resolved one frees a slot.
func TestAgentCapacity(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, testChannels, store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{Routing: router.Routing{Teams: []string{"support"},
			Agents: []router.Agent{{Name: "solo", Teams: []string{"support"}}}, MaxOpenPerAgent: 2}})
		h := &hub{st: st, dir: dir, rt: rt, in: router.NewIngest(st, dir, "FI", store.SystemClock, nil)}
		var convs []string
		for i := 0; i < 3; i++ {
			m := h.process(t, h.msg("trusted-api", fmt.Sprint("cap", i), "hi", fmt.Sprintf("email:cap%d@example.com", i)))
			e, _ := st.GetEntry(ctx, m.ID)
			c, _ := st.GetConversation(ctx, e.ConversationID)
			convs = append(convs, c.ID)
			want := "solo"
			if i == 2 {
				want = ""
			}
			if c.Assignee != want {
				t.Fatalf("conversation %d assigned to %q, want %q", i, c.Assignee, want)
			}
		}
		if n, _ := timeline.AgentLoad(ctx, st, "solo"); n != 2 {
			t.Fatalf("load = %d, want 2", n)
		}
		// Resolving one frees a slot for the next new conversation.
		if _, err := rt.Conversations().Resolve(ctx, convs[0], "solo"); err != nil {
			t.Fatal(err)
		}
		m := h.process(t, h.msg("trusted-api", "cap3", "hi", "email:cap3@example.com"))
		e, _ := st.GetEntry(ctx, m.ID)
		c, _ := st.GetConversation(ctx, e.ConversationID)
		if c.Assignee != "solo" {
			t.Fatalf("after a resolve the new conversation went to %q", c.Assignee)
		}
	})
}

// TestConversationActivityNeverMovesBack: a conversation another worker has
// just opened with a later message (and not yet touched) keeps that later
// activity when an older message is recorded on it first. The Redis
// store's activity index is only right while activity never moves back:
// concurrent workers' index updates may apply in any order.
func TestConversationActivityNeverMovesBack(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		h := newHub(t, st)
		first := h.process(t, h.msg("trusted-api", "t", "first", "email:ola@example.com"))
		e, err := st.GetEntry(ctx, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		later := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		// Another worker opened the thread's next conversation with a later
		// message and has not recorded it yet.
		if _, err := st.UpdateConversation(ctx, e.ConversationID, func(c *store.Conversation) error {
			c.Status = store.StatusResolved
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		opened, created, err := st.OpenConversation(ctx, store.Conversation{ID: "v_next", CustomerID: e.CustomerID, Channel: "trusted-api",
			ThreadKey: "trusted-api|t", Status: store.StatusOpen, Audience: store.AudienceAll, CreatedAt: later, LastActivity: later})
		if err != nil || !created {
			t.Fatalf("open: created %v, err %v", created, err)
		}
		older := h.msg("trusted-api", "t", "older", "email:ola@example.com") // OccurredAt in January
		h.process(t, older)
		c, err := st.GetConversation(ctx, opened.ID)
		if err != nil {
			t.Fatal(err)
		}
		if !c.LastActivity.Equal(later) {
			t.Fatalf("LastActivity moved from %v to %v", later, c.LastActivity)
		}
		if c.LastMessageID == "" || c.Preview != "older" {
			t.Fatalf("the message was not recorded on the conversation: %+v", c)
		}
		cs, err := timeline.Conversations(ctx, st, h.customerOf(t, "email:ola@example.com"), 10)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, x := range cs {
			found = found || x.ID == opened.ID
		}
		if !found {
			t.Fatalf("the conversation is missing from the list: %+v", cs)
		}
	})
}

// TestConversationOpenedOnce: the first message of a conversation announces
// it (conversation.opened, then entry.created); later messages, and a
// redelivery of the first, announce only their entries.
func TestConversationOpenedOnce(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		events, err := st.Subscribe(ctx, timeline.EventsTopic)
		if err != nil {
			t.Fatal(err)
		}
		first := h.process(t, h.msg("trusted-api", "t1", "hello", "email:open@example.com"))
		if err := h.rt.Process(context.Background(), first); err != nil { // a redelivery
			t.Fatal(err)
		}
		h.process(t, h.msg("trusted-api", "t1", "again", "email:open@example.com"))
		var got []string
		deadline := time.After(5 * time.Second)
		for len(got) < 3 {
			select {
			case b := <-events:
				var ev timeline.Event
				if err := json.Unmarshal(b, &ev); err != nil {
					t.Fatal(err)
				}
				got = append(got, ev.Type)
			case <-deadline:
				t.Fatalf("events so far %v, want 3", got)
			}
		}
		select {
		case b := <-events:
			got = append(got, string(b))
		case <-time.After(300 * time.Millisecond):
		}
		want := []string{timeline.EventConversationOpened, timeline.EventEntryCreated, timeline.EventEntryCreated}
		if !eq(got, want) {
			t.Errorf("events = %v, want %v", got, want)
		}
	})
}

// replicas runs f against two hub replicas' stores: on Redis two clients
// of one database (as two processes would have), embedded one store (it is
// single-process).
func replicas(t *testing.T, f func(t *testing.T, a, b store.Store)) {
	t.Run("embedded", func(t *testing.T) {
		st, err := embedded.Open(t.TempDir(), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, st, st)
	})
	t.Run("redis", func(t *testing.T) {
		c, prefix := testenv.Redis(t)
		a := sbredis.New(c, sbredis.Options{Prefix: prefix, AutoPipeline: true})
		b := sbredis.New(c, sbredis.Options{Prefix: prefix, AutoPipeline: true})
		t.Cleanup(func() { a.Close(); b.Close() })
		f(t, a, b)
	})
}

// capacityRouting: three agents of one team, two conversations each.
var capacityRouting = router.Routing{Teams: []string{"support"}, MaxOpenPerAgent: 2,
	Agents: []router.Agent{{Name: "ada", Teams: []string{"support"}}, {Name: "ben", Teams: []string{"support"}}, {Name: "cy", Teams: []string{"support"}}}}

// openConcurrently has n new customers write at once, each message handled
// twice (a redelivery racing the first delivery), spread over the
// replicas' routers; it returns the team's conversations.
func openConcurrently(t *testing.T, n int, sts ...store.Store) []store.Conversation {
	t.Helper()
	ctx := context.Background()
	var rts []*router.Router
	var in *router.Ingest
	for _, st := range sts {
		dir := directory.New(st, testChannels, store.SystemClock, nil)
		rts = append(rts, router.New(st, dir, router.Options{Routing: capacityRouting}))
		in = router.NewIngest(st, dir, "FI", store.SystemClock, nil)
	}
	h := &hub{st: sts[0]}
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		m, err := in.Prepare(h.msg("trusted-api", fmt.Sprint("t", i), "need help", fmt.Sprintf("email:load%d@example.com", i)))
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 2; k++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := rts[(i+k)%len(rts)].Process(ctx, m); err != nil {
					t.Error(err)
				}
			}()
		}
	}
	wg.Wait()
	cs, _, err := sts[0].ListConversations(ctx, store.ConversationFilter{Limit: 2 * n})
	if err != nil {
		t.Fatal(err)
	}
	if len(cs) != n {
		t.Fatalf("%d conversations, want %d", len(cs), n)
	}
	return cs
}

// checkLoads fails unless every agent's load counter equals the number of
// unresolved conversations assigned to them, and no agent has more than
// capacity (when capacity > 0).
func checkLoads(t *testing.T, st store.Store, capacity int) map[string]int {
	t.Helper()
	ctx := context.Background()
	cs, _, err := st.ListConversations(ctx, store.ConversationFilter{Limit: 1000})
	if err != nil {
		t.Fatal(err)
	}
	held := map[string]int{}
	for _, c := range cs {
		if c.Assignee != "" && c.Status != store.StatusResolved {
			held[c.Assignee]++
		}
	}
	for _, ag := range capacityRouting.Agents {
		n, err := timeline.AgentLoad(ctx, st, ag.Name)
		if err != nil {
			t.Fatal(err)
		}
		if n != int64(held[ag.Name]) {
			t.Errorf("agent %s: load counter %d, holds %d unresolved conversations", ag.Name, n, held[ag.Name])
		}
		if capacity > 0 && held[ag.Name] > capacity {
			t.Errorf("agent %s holds %d conversations, capacity is %d", ag.Name, held[ag.Name], capacity)
		}
	}
	return held
}

// TestCapacityUnderConcurrency: workers on two replicas route many new
// conversations of one team at once, each message delivered twice at the
// same time. No agent is assigned past max_open_per_agent, the others wait
// unassigned in the team's queue, the load counters are exact, and no slot
// is lost: slots a duplicate reserved and gave back go to the next new
// conversations, up to capacity and no further.
func TestCapacityUnderConcurrency(t *testing.T) {
	replicas(t, func(t *testing.T, a, b store.Store) {
		ctx := context.Background()
		const n = 24
		cs := openConcurrently(t, n, a, b)
		for _, c := range cs {
			if c.Team != "support" || c.Status != store.StatusOpen {
				t.Errorf("conversation %s: team %q status %q, want support, open", c.ID, c.Team, c.Status)
			}
		}
		held := checkLoads(t, a, capacityRouting.MaxOpenPerAgent)
		assigned := 0
		for _, k := range held {
			assigned += k
		}
		capacity := len(capacityRouting.Agents) * capacityRouting.MaxOpenPerAgent
		if assigned == 0 {
			t.Fatal("no conversation was assigned")
		}
		// The slots still free (a duplicate's reservation may have kept
		// a conversation from one for a moment) are taken by the next
		// conversations, one each; then everybody is full.
		dir := directory.New(b, testChannels, store.SystemClock, nil)
		h := &hub{st: b, dir: dir, rt: router.New(b, dir, router.Options{Routing: capacityRouting}), in: router.NewIngest(b, dir, "FI", store.SystemClock, nil), n: 1000}
		for i := assigned; i <= capacity; i++ {
			m := h.process(t, h.msg("trusted-api", "late", "later", fmt.Sprintf("email:late%d@example.com", i)))
			e, err := b.GetEntry(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			c, err := b.GetConversation(ctx, e.ConversationID)
			if err != nil {
				t.Fatal(err)
			}
			if full := i == capacity; (c.Assignee == "") != full {
				t.Fatalf("with %d of %d slots taken, a new conversation went to %q", i, capacity, c.Assignee)
			}
		}
		checkLoads(t, b, capacityRouting.MaxOpenPerAgent)
	})
}

// TestLoadCountersStayExact: agents resolve, reopen, hand over and erase
// conversations on two replicas at once while snoozes end; every agent's
// load counter still equals the unresolved conversations they hold.
func TestLoadCountersStayExact(t *testing.T) {
	replicas(t, func(t *testing.T, a, b store.Store) {
		ctx := context.Background()
		cs := openConcurrently(t, 12, a, b)
		svcs := []*timeline.Service{timeline.NewService(a, timeline.Options{}), timeline.NewService(b, timeline.Options{})}
		var wg sync.WaitGroup
		for i, c := range cs {
			svc := svcs[i%2]
			wg.Add(1)
			go func() {
				defer wg.Done()
				var err error
				switch i % 6 {
				case 0:
					_, err = svc.Resolve(ctx, c.ID, "ada")
				case 1:
					if _, err = svc.Resolve(ctx, c.ID, "ada"); err == nil {
						_, err = svc.Reopen(ctx, c.ID, "ada")
					}
				case 2:
					_, err = svc.Assign(ctx, c.ID, "ada", "ada") // past capacity: an agent's own choice
				case 3:
					_, err = svc.Assign(ctx, c.ID, "", "ben")
				case 4:
					err = svc.Delete(ctx, c)
				case 5:
					if _, err = svc.Snooze(ctx, c.ID, time.Now().Add(time.Hour), "cy"); err == nil {
						_, err = svc.WakeSnoozed(ctx, time.Now().Add(2*time.Hour))
					}
				}
				if err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		held := checkLoads(t, a, 0)
		if held["ada"] < 2 {
			t.Errorf("ada holds %d conversations after being assigned two", held["ada"])
		}
		as, err := a.ListAudit(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		if want := 12; len(as) != want { // one per agent's change (resolve, reopen, assign, snooze); erasure and snoozes ending are not
			t.Errorf("%d audit records, want %d", len(as), want)
		}
	})
}
