package router_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

type figClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *figClock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *figClock) Set(t time.Time)     { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }
func (c *figClock) Add(d time.Duration) { c.Set(c.Now().Add(d)) }

// In pilot: replies by status, first-response and resolution percentiles,
// and the criteria that judge them.
func TestPilotFigures(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		t0 := time.Date(2026, 4, 1, 9, 0, 0, 0, time.UTC)
		clock := &figClock{now: t0}
		ch := directory.Channel{Name: "text", Type: "sms", Phase: store.PhasePilot, PilotTeam: "pilots",
			Readiness: directory.Readiness{MinDays: -1, MinMessages: 3, MinMatchRate: -1, MaxFirstResponse: time.Hour}}
		dir := directory.New(st, []directory.Channel{ch}, clock.Now, nil)
		rt := router.New(st, dir, router.Options{Clock: clock.Now, Routing: router.Routing{Teams: []string{"pilots"},
			Agents: []router.Agent{{Name: "pia", Teams: []string{"pilots"}}}}})
		in := router.NewIngest(st, dir, "FI", clock.Now, nil)
		out := router.NewOutbound(st, dir, clock.Now, nil, nil, rt.Conversations())
		out.SetSender("text", &recordingSender{})
		convs := make([]string, 3)
		for i := range convs {
			m, err := in.Prepare(connectors.Message{Channel: "text", ProviderID: fmt.Sprintf("sm%d", i), Text: "hi",
				Identities: []connectors.Identity{{Type: connectors.Phone, Value: fmt.Sprintf("+35840100000%d", i), Verified: true}}})
			if err != nil {
				t.Fatal(err)
			}
			if err := rt.Process(ctx, m); err != nil {
				t.Fatal(err)
			}
			e, err := st.GetEntry(ctx, m.ID)
			if err != nil {
				t.Fatal(err)
			}
			convs[i] = e.ConversationID
		}
		reply := func(conv string, at time.Duration) string {
			clock.Set(t0.Add(at))
			e, err := out.Reply(ctx, conv, "pia", "", "an answer")
			if err != nil {
				t.Fatal(err)
			}
			return e.ID
		}
		r0 := reply(convs[0], 10*time.Minute)
		r1 := reply(convs[1], 30*time.Minute)
		r2 := reply(convs[2], 2*time.Hour)
		reply(convs[0], 3*time.Hour) // not a first response; stays queued
		// A conversation an agent starts has no first response to count
		// (its first message would be a sample of about 0 s).
		c0, err := st.GetConversation(ctx, convs[0])
		if err != nil {
			t.Fatal(err)
		}
		if _, _, err := out.Start(ctx, router.StartRequest{CustomerID: c0.CustomerID, Channel: "text", Text: "news", Purpose: "feedback", Agent: "pia"}); err != nil {
			t.Fatal(err)
		}
		for _, s := range []struct{ id, status string }{{r0, connectors.StatusSent}, {r0, connectors.StatusDelivered}, {r1, connectors.StatusSent}, {r2, connectors.StatusFailed}} {
			if err := out.SetStatus(ctx, s.id, s.status, ""); err != nil {
				t.Fatal(err)
			}
		}
		clock.Set(t0.Add(time.Hour))
		if _, err := rt.Conversations().Resolve(ctx, convs[0], "pia"); err != nil {
			t.Fatal(err)
		}
		clock.Set(t0.Add(3 * time.Hour))
		if _, err := rt.Conversations().Resolve(ctx, convs[1], "pia"); err != nil {
			t.Fatal(err)
		}
		clock.Set(t0.Add(4 * time.Hour))
		cur, _ := dir.Get("text")
		rep, err := router.ChannelReadiness(ctx, st, cur, clock.Now(), router.ReadinessQuery{})
		if err != nil {
			t.Fatal(err)
		}
		if rep.Outbound != (router.OutboundFigures{Sent: 1, Delivered: 1, Failed: 1}) {
			t.Errorf("outbound %+v", rep.Outbound)
		}
		if rep.FirstResponse == nil || *rep.FirstResponse != (router.Percentiles{P50: 1800, P90: 7200}) {
			t.Errorf("first response %+v", rep.FirstResponse)
		}
		if rep.Resolution == nil || *rep.Resolution != (router.Percentiles{P50: 3600, P90: 10800}) {
			t.Errorf("resolution %+v", rep.Resolution)
		}
		if rep.MessagesIn != 3 || rep.NewCustomers != 3 || rep.Senders != 3 || rep.Reach.OnlyHere != 3 || len(rep.WouldRoute) != 0 {
			t.Errorf("messages %d new %d senders %d only here %d would route %v", rep.MessagesIn, rep.NewCustomers, rep.Senders, rep.Reach.OnlyHere, rep.WouldRoute)
		}
		want := []string{"failure rate 0.33 is above 0.05", "first response p90 7200s is above 3600s"}
		if rep.Verdict != router.VerdictNotReady || fmt.Sprint(rep.Reasons) != fmt.Sprint(want) {
			t.Errorf("verdict %s %q, want not_ready %q", rep.Verdict, rep.Reasons, want)
		}
	})
}

// A running router sums its counts in memory and writes them in flushes:
// once it stops, every message is counted exactly once.
func TestFiguresOfARunningRouter(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		ch := directory.Channel{Name: "web", Type: "api", Phase: store.PhaseShadow, Team: "sales"}
		dir := directory.New(st, []directory.Channel{ch}, store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{Routing: router.Routing{Teams: []string{"sales"}}})
		in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
		// One message per sender: which of two concurrent first messages of
		// one new sender counts as the new customer is matchOf's guess.
		for i := range 40 {
			m := connectors.Message{Channel: "web", ProviderID: fmt.Sprintf("r%d", i%30), ThreadKey: fmt.Sprintf("t%d", i%30), Text: "x",
				Identities: []connectors.Identity{{Type: connectors.Email, Value: fmt.Sprintf("p%d@example.com", i%30), Verified: true}}}
			if _, err := in.Deliver(ctx, m); err != nil {
				t.Fatal(err)
			}
		}
		runCtx, stop := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { rt.Run(runCtx); close(done) }()
		deadline := time.Now().Add(30 * time.Second)
		for {
			s, err := st.QueueStats(ctx, store.QueueIngest)
			if err != nil {
				t.Fatal(err)
			}
			if s.Length == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("ingest queue not drained: %+v", s)
			}
			time.Sleep(20 * time.Millisecond)
		}
		stop()
		<-done
		rep, err := router.ChannelReadiness(ctx, st, ch, time.Now(), router.ReadinessQuery{})
		if err != nil {
			t.Fatal(err)
		}
		// 30 distinct messages (10 repeated) of 30 senders.
		if rep.MessagesIn != 30 || rep.Duplicates != 10 || rep.Senders != 30 || rep.NewCustomers != 30 || rep.WouldRoute["sales"] != 30 || rep.Reach.OnlyHere != 30 {
			t.Errorf("messages_in %d duplicates %d senders %d new %d would_route %v only_here %d",
				rep.MessagesIn, rep.Duplicates, rep.Senders, rep.NewCustomers, rep.WouldRoute, rep.Reach.OnlyHere)
		}
	})
}

// The Prometheus gauges: verdict and match rate per channel that is not off.
func TestAdoptionGauges(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, []directory.Channel{{Name: "web", Type: "api", Phase: store.PhaseShadow,
			Readiness: directory.Readiness{MinDays: -1, MinMessages: 1, MinMatchRate: -1}},
			{Name: "old", Type: "api", Phase: store.PhaseOff}}, store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{})
		in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
		m, err := in.Prepare(connectors.Message{Channel: "web", ProviderID: "g1", Text: "x",
			Identities: []connectors.Identity{{Type: connectors.Email, Value: "g@example.com", Verified: true}}})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Process(ctx, m); err != nil {
			t.Fatal(err)
		}
		want := `
# HELP switchboard_channel_match_rate (matched.verified + matched.claimed) / messages_in since the channel's current phase began.
# TYPE switchboard_channel_match_rate gauge
switchboard_channel_match_rate{channel="web",phase="shadow"} 0
# HELP switchboard_channel_ready Readiness verdict of the channel's current phase: 1 ready, 0 not_ready.
# TYPE switchboard_channel_ready gauge
switchboard_channel_ready{channel="web",phase="shadow"} 1
`
		if err := testutil.CollectAndCompare(router.NewAdoptionCollector(st, dir, store.SystemClock), strings.NewReader(want),
			"switchboard_channel_ready", "switchboard_channel_match_rate"); err != nil {
			t.Error(err)
		}
	})
}
