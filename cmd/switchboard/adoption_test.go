package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
)

// adoptionHub is one hub replica below HTTP with a clock the test moves.
type adoptionHub struct {
	st  store.Store
	dir *directory.Directory
	rt  *router.Router
	in  *router.Ingest
	srv *httptest.Server
}

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time  { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Set(t time.Time) { c.mu.Lock(); defer c.mu.Unlock(); c.now = t }

var adoptionChannels = []directory.Channel{
	{Name: "mail", Type: "email", Phase: store.PhaseLive},
	{Name: "chat", Type: "slack", Phase: store.PhaseLive},
	{Name: "web", Type: "webform", Phase: store.PhaseOff, PilotTeam: "pilots", Team: "sales",
		Readiness: directory.Readiness{MinMessages: 5, MinMatchRate: 0.8}},
}

func newAdoptionHub(t *testing.T, st store.Store, clock *testClock) *adoptionHub {
	t.Helper()
	dir := directory.New(st, adoptionChannels, clock.Now, nil)
	if err := dir.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	rt := router.New(st, dir, router.Options{Clock: clock.Now, Routing: router.Routing{Teams: []string{"support", "sales", "pilots"},
		Agents: []router.Agent{{Name: "alice", Teams: []string{"support", "sales"}}, {Name: "pia", Teams: []string{"pilots"}}}}})
	in := router.NewIngest(st, dir, "FI", clock.Now, nil)
	srv := inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: in, Clock: clock.Now,
		Credentials: []inbox.Credential{{Principal: inbox.Principal{Name: "alice", Role: "agent", Teams: []string{"support"}}, TokenSHA256: inbox.HashToken("agent-tok")},
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-tok")}}})
	h := &adoptionHub{st: st, dir: dir, rt: rt, in: in, srv: httptest.NewServer(srv)}
	t.Cleanup(h.srv.Close)
	return h
}

// process prepares and processes m as a router worker would.
func (h *adoptionHub) process(t *testing.T, m connectors.Message) {
	t.Helper()
	m, err := h.in.Prepare(m)
	if err != nil {
		t.Fatalf("prepare: %v", err)
	}
	if err := h.rt.Process(context.Background(), m); err != nil {
		t.Fatalf("process: %v", err)
	}
}

func (h *adoptionHub) api(t *testing.T, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, h.srv.URL+path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	raw, _ := io.ReadAll(resp.Body)
	if err := json.Unmarshal(raw, &out); err != nil && resp.StatusCode < 300 {
		t.Fatalf("%s %s: %d %s", method, path, resp.StatusCode, raw)
	}
	return resp.StatusCode, out
}

func (h *adoptionHub) cli(t *testing.T, args ...string) string {
	t.Helper()
	var b strings.Builder
	if err := cli(append(args, "--url", h.srv.URL, "--token", "root-tok"), &b, io.Discard); err != nil {
		t.Fatalf("switchboard %s: %v\n%s", strings.Join(args, " "), err, b.String())
	}
	return b.String()
}

func mailID(v string, verified bool) connectors.Identity {
	return connectors.Identity{Type: connectors.Email, Value: v, Verified: verified}
}

var day0 = time.Date(2026, 3, 2, 0, 0, 0, 0, time.UTC)

func at(day, hour int) time.Time {
	return day0.Add(time.Duration(day)*24*time.Hour + time.Duration(hour)*time.Hour)
}

// replayShadowWeek plays a week of traffic on the shadow channel "web"
// with known answers (see wantWeb).
func replayShadowWeek(t *testing.T, h *adoptionHub, clock *testClock) {
	t.Helper()
	msg := func(channel, pid, thread string, ids ...connectors.Identity) connectors.Message {
		return connectors.Message{Channel: channel, ProviderID: pid, ThreadKey: thread, Text: "text of " + pid, Identities: ids, OccurredAt: clock.Now()}
	}
	// Before: the hub knows Ann and Bob by mail, Carl by chat.
	clock.Set(at(0, 8))
	h.process(t, msg("mail", "m1", "a", mailID("ann@example.com", true)))
	h.process(t, msg("mail", "m2", "b", mailID("bob@example.com", true)))
	h.process(t, msg("chat", "c1", "c", connectors.Identity{Type: connectors.Phone, Value: "+358401111111", Verified: true}))
	// The admin puts web in shadow (leaving off is never refused).
	clock.Set(at(0, 9))
	if code, out := h.api(t, "PUT", "/api/v1/channels/web/phase", "root-tok", map[string]any{"phase": "shadow"}); code != 200 {
		t.Fatalf("web to shadow: %d %v", code, out)
	}
	week := []struct {
		day int
		m   connectors.Message
	}{
		{0, msg("web", "w1", "t1", mailID("ann@example.com", true))},                                                   // known, verified; opens a conversation
		{0, msg("web", "w2", "t2", mailID("dan@example.com", true))},                                                   // unknown: new customer
		{1, msg("web", "w3", "t1", mailID("ann@example.com", true))},                                                   // known again, same thread
		{1, msg("web", "w1", "t1", mailID("ann@example.com", true))},                                                   // a duplicate of w1
		{2, msg("web", "w4", "t2", mailID("dan@example.com", true))},                                                   // known only here: neither matched nor new
		{3, msg("web", "w5", "t3", mailID("bob@example.com", false))},                                                  // someone claims Bob's address: a merge suggestion
		{4, msg("web", "w6", "t4", connectors.Identity{Type: connectors.Phone, Value: "040 1111111", Verified: true})}, // Carl, known on chat
		{5, msg("web", "w7", "t5", mailID("fay@example.com", false))},                                                  // unknown, claimed: new customer
	}
	for _, w := range week {
		clock.Set(at(w.day, 12))
		h.process(t, w.m)
	}
	// Day 6: Ann opts out (still a matched message); one message refused
	// at the door, one quarantined.
	clock.Set(at(6, 12))
	optOut := msg("web", "w8", "t1", mailID("ann@example.com", true))
	optOut.Consent = &connectors.ConsentChange{Purpose: "marketing", Granted: false}
	h.process(t, optOut)
	if _, err := h.in.Deliver(context.Background(), msg("web", "w9", "t9")); err == nil {
		t.Fatal("a message without a sender was accepted")
	}
	if err := h.in.Quarantine(context.Background(), msg("web", "w10", "t10", mailID("spam@example.com", false)), "honeypot"); err != nil {
		t.Fatal(err)
	}
	clock.Set(at(7, 9))
}

// wantWeb is every figure of web after the week, as the API answers it.
func wantWeb() map[string]any {
	days := []any{}
	for i, d := range []struct {
		n    float64
		rate float64
	}{{2, 0.5}, {1, 1}, {1, 0}, {1, 1}, {1, 1}, {1, 0}, {1, 1}, {0, 0}} {
		days = append(days, map[string]any{"day": at(i, 0).Format(time.DateOnly), "messages_in": d.n, "match_rate": d.rate})
	}
	return map[string]any{
		"channel": "web", "phase": "shadow",
		"phase_since": at(0, 9).Format(time.RFC3339), "from": at(0, 9).Format(time.RFC3339), "to": at(7, 9).Format(time.RFC3339),
		"messages_in": 8.0, "senders": 5.0, "duplicates": 1.0, "refused": 2.0, "dead_letters": 0.0,
		"matched":       map[string]any{"verified": 4.0, "claimed": 1.0},
		"new_customers": 2.0, "merge_suggestions": 1.0, "match_rate": 0.625,
		"reach":       map[string]any{"only_here": 3.0, "overlap": map[string]any{"mail": 1.0, "chat": 1.0}},
		"would_route": map[string]any{"sales": 5.0},
		"outbound":    map[string]any{"sent": 0.0, "delivered": 0.0, "failed": 0.0},
		"opt_outs":    1.0, "first_response_s": nil, "resolution_s": nil,
		"daily":    days,
		"criteria": map[string]any{"min_days": 7.0, "min_messages": 5.0, "min_match_rate": 0.8, "max_failure_rate": 0.05, "max_dead_letters": 0.0, "max_first_response_s": 14400.0},
		"verdict":  "not_ready",
		"reasons":  []any{"match rate 0.62 is below 0.80"},
	}
}

func diffJSON(t *testing.T, what string, got, want map[string]any) {
	t.Helper()
	for k, w := range want {
		if g := got[k]; !reflect.DeepEqual(g, w) {
			t.Errorf("%s: %s = %v, want %v", what, k, g, w)
		}
	}
	for k := range got {
		if _, ok := want[k]; !ok {
			t.Errorf("%s: unexpected field %s", what, k)
		}
	}
}

// adoptionBackends runs f on the embedded store and on Redis; reopen
// gives f a second store over the same data (embedded: the file reopened
// after closing the first; Redis: a second replica's client).
func adoptionBackends(t *testing.T, f func(t *testing.T, st store.Store, reopen func() store.Store)) {
	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		st, err := embedded.Open(dir, embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, st, func() store.Store {
			st.Close()
			st2, err := embedded.Open(dir, embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st2.Close() })
			return st2
		})
	})
	t.Run("redis", func(t *testing.T) {
		c, prefix := testenv.Redis(t)
		st := sbredis.New(c, sbredis.Options{Prefix: prefix})
		t.Cleanup(func() { st.Close() })
		f(t, st, func() store.Store {
			st2 := sbredis.New(c, sbredis.Options{Prefix: prefix})
			t.Cleanup(func() { st2.Close() })
			return st2
		})
	})
}

// A week in shadow with known answers: every figure through the API and
// the CLI, on both stores; then the figures survive a restart (embedded)
// or are the same from another replica (Redis).
func TestAdoptionShadowWeek(t *testing.T) {
	adoptionBackends(t, func(t *testing.T, st store.Store, reopen func() store.Store) {
		clock := &testClock{}
		h := newAdoptionHub(t, st, clock)
		replayShadowWeek(t, h, clock)

		code, got := h.api(t, "GET", "/api/v1/channels/web/readiness", "root-tok", nil)
		if code != 200 {
			t.Fatalf("readiness: %d %v", code, got)
		}
		diffJSON(t, "API readiness", got, wantWeb())

		var viaCLI map[string]any
		if err := json.Unmarshal([]byte(h.cli(t, "channels", "readiness", "web", "--json")), &viaCLI); err != nil {
			t.Fatal(err)
		}
		diffJSON(t, "CLI readiness --json", viaCLI, wantWeb())
		text := h.cli(t, "channels", "readiness", "web")
		for _, want := range []string{"verdict: not_ready", "  - match rate 0.62 is below 0.80", "messages_in         8", "senders             5",
			"matched.verified    4", "matched.claimed     1", "reach.overlap.chat  1", "would_route.sales   5", "first_response_s    -"} {
			if !strings.Contains(text, want) {
				t.Errorf("CLI readiness lacks %q:\n%s", want, text)
			}
		}

		// The mail channel's reach moved too: Ann is on web now, Bob only here.
		_, mail := h.api(t, "GET", "/api/v1/channels/mail/readiness", "root-tok", nil)
		if want := map[string]any{"only_here": 1.0, "overlap": map[string]any{"web": 1.0}}; !reflect.DeepEqual(mail["reach"], want) {
			t.Errorf("mail reach = %v, want %v", mail["reach"], want)
		}
		// A period given explicitly: days 1..2 only, every phase.
		_, part := h.api(t, "GET", "/api/v1/channels/web/readiness?from="+at(1, 0).Format(time.RFC3339)+"&to="+at(2, 23).Format(time.RFC3339), "root-tok", nil)
		if part["messages_in"] != 2.0 || part["duplicates"] != 1.0 || part["senders"] != 2.0 || len(part["daily"].([]any)) != 2 {
			t.Errorf("days 1-2: messages_in %v duplicates %v senders %v daily %v", part["messages_in"], part["duplicates"], part["senders"], part["daily"])
		}

		// Potential: every channel that is not off, ranked, with its rule.
		code, pot := h.api(t, "GET", "/api/v1/channels/potential?from="+at(0, 0).Format(time.RFC3339)+"&to="+at(7, 9).Format(time.RFC3339), "root-tok", nil)
		if code != 200 || pot["rule"] != router.PotentialRule {
			t.Fatalf("potential: %d %v", code, pot)
		}
		var order []string
		for _, r := range pot["channels"].([]any) {
			order = append(order, r.(map[string]any)["channel"].(string))
		}
		// web: 8 of 11 messages, 3 of 4 only-here customers; mail 2/11, 1/4; chat 1/11, 0/4.
		if want := []string{"web", "mail", "chat"}; !reflect.DeepEqual(order, want) {
			t.Errorf("potential order %v, want %v", order, want)
		}
		first := pot["channels"].([]any)[0].(map[string]any)
		if first["volume_share"] != 0.7273 || first["reach_share"] != 0.75 || first["score"] != 1.4773 || first["new_customers"] != 2.0 {
			t.Errorf("web's potential row: %v", first)
		}
		if out := h.cli(t, "channels", "potential"); !strings.Contains(out, "rule: "+router.PotentialRule) || !strings.Contains(out, "web") {
			t.Errorf("CLI potential:\n%s", out)
		}

		// Restart / another replica: the same figures.
		st2 := reopen()
		h2 := newAdoptionHub(t, st2, clock)
		_, again := h2.api(t, "GET", "/api/v1/channels/web/readiness", "root-tok", nil)
		diffJSON(t, "readiness after restart / on another replica", again, wantWeb())
		// And counting goes on there: one more known message on web.
		clock.Set(at(7, 10))
		h2.process(t, connectors.Message{Channel: "web", ProviderID: "w11", ThreadKey: "t1", Text: "again", Identities: []connectors.Identity{mailID("ann@example.com", true)}, OccurredAt: clock.Now()})
		_, more := h2.api(t, "GET", "/api/v1/channels/web/readiness", "root-tok", nil)
		if more["messages_in"] != 9.0 || more["matched"].(map[string]any)["verified"] != 5.0 {
			t.Errorf("after one more message: messages_in %v matched %v", more["messages_in"], more["matched"])
		}
	})
}

// Promotion with a not_ready verdict is refused with the reasons, then
// forced; the history keeps both changes with who, when and the verdict.
func TestAdoptionGuardedPromotion(t *testing.T) {
	adoptionBackends(t, func(t *testing.T, st store.Store, _ func() store.Store) {
		clock := &testClock{}
		h := newAdoptionHub(t, st, clock)
		replayShadowWeek(t, h, clock)

		code, out := h.api(t, "PUT", "/api/v1/channels/web/phase", "root-tok", map[string]any{"phase": "pilot"})
		if code != http.StatusConflict || out["error"] != "not_ready" || !reflect.DeepEqual(out["reasons"], []any{"match rate 0.62 is below 0.80"}) {
			t.Fatalf("unforced promotion: %d %v", code, out)
		}
		if c, _ := h.dir.Get("web"); c.Phase != store.PhaseShadow {
			t.Fatalf("refused promotion changed the phase to %s", c.Phase)
		}
		if code, out := h.api(t, "PUT", "/api/v1/channels/web/phase", "alice-tok", map[string]any{"phase": "pilot", "force": true}); code != 401 && code != 403 {
			t.Fatalf("agent promotion: %d %v", code, out)
		}
		var b strings.Builder
		err := cli([]string{"channels", "phase", "web", "pilot", "--url", h.srv.URL, "--token", "root-tok"}, &b, io.Discard)
		if err == nil || !strings.Contains(err.Error(), "match rate 0.62 is below 0.80") {
			t.Fatalf("CLI unforced promotion: %v", err)
		}
		clock.Set(at(7, 10))
		text := h.cli(t, "channels", "phase", "web", "pilot", "--force")
		if !strings.Contains(text, "channel web is now pilot") || !strings.Contains(text, "  - match rate 0.62 is below 0.80") {
			t.Fatalf("CLI forced promotion:\n%s", text)
		}
		// Moving down is never refused.
		clock.Set(at(7, 11))
		if code, out := h.api(t, "PUT", "/api/v1/channels/web/phase", "root-tok", map[string]any{"phase": "shadow"}); code != 200 || out["forced"] != false {
			t.Fatalf("demotion: %d %v", code, out)
		}

		code, hist := h.api(t, "GET", "/api/v1/channels/web/history", "root-tok", nil)
		if code != 200 {
			t.Fatalf("history: %d %v", code, hist)
		}
		var got []string
		for _, e := range hist["history"].([]any) {
			c := e.(map[string]any)
			got = append(got, fmt.Sprintf("%s %s %s->%s forced=%v verdict=%s reasons=%v", c["at"], c["by"], c["from"], c["to"], c["forced"], c["verdict"], c["reasons"]))
		}
		want := []string{
			at(0, 9).Format(time.RFC3339) + " root off->shadow forced=false verdict=not_ready reasons=<nil>",
			at(7, 10).Format(time.RFC3339) + " root shadow->pilot forced=true verdict=not_ready reasons=[match rate 0.62 is below 0.80]",
			at(7, 11).Format(time.RFC3339) + " root pilot->shadow forced=false verdict=not_ready reasons=<nil>",
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("history:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	})
}
