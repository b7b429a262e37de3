package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/search/bolt"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	"github.com/switchboard-hub/switchboard/timeline"
)

// searchHub: three conversations that mention "refund": Ann's on sms
// (support, alice), Ben's on mail (support, unassigned), and Cy's pilot
// on chat that only the sales team sees.
func searchHub(t *testing.T) *httptest.Server {
	t.Helper()
	dir := t.TempDir()
	st, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	ix, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ix.Close() })
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	svc := timeline.NewService(st, timeline.Options{Clock: clock, Index: search.Indexer{Index: ix}, Teams: map[string][]string{"support": {"alice"}, "sales": {"sol"}}})
	for i, m := range []struct{ id, customer, name, channel, team, audience, text string }{
		{"va", "ann", "Ann Aalto", "sms", "support", store.AudienceAll, "Please refund my order 5531"},
		{"vb", "ben", "Ben Berg", "mail", "", store.AudienceAll, "Refund still missing, order 7710"},
		{"vc", "cy", "Cy Coe", "chat", "sales", store.TeamAudience("sales"), "a refund for the pilot"},
	} {
		now = time.Date(2026, 5, 4+i, 8, 0, 0, 0, time.UTC)
		if _, _, _, err := svc.Receive(ctx, timeline.Inbound{ThreadKey: m.channel + "|" + m.id, ConversationID: m.id, Team: m.team, Audience: m.audience,
			Entry: store.Entry{ID: "in-" + m.id, CustomerID: m.customer, Channel: m.channel, Direction: connectors.Inbound, Kind: store.KindMessage,
				SenderName: m.name, Sender: &connectors.Identity{Type: connectors.Email, Value: m.customer + "@example.com"}, Text: m.text, OccurredAt: now}}); err != nil {
			t.Fatal(err)
		}
	}
	dr := directory.New(st, []directory.Channel{{Name: "sms", Type: "sms", Phase: store.PhaseLive}, {Name: "mail", Type: "email", Phase: store.PhaseLive},
		{Name: "chat", Type: "slack", Phase: store.PhasePilot, PilotTeam: "sales"}}, clock, nil)
	if err := dr.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	cred := func(name, role, tok string, teams ...string) inbox.Credential {
		return inbox.Credential{Principal: inbox.Principal{Name: name, Role: role, Teams: teams}, TokenSHA256: inbox.HashToken(tok)}
	}
	srv := httptest.NewServer(inbox.New(inbox.Options{Store: st, Directory: dr, Clock: clock, Conversations: svc, Teams: []string{"support", "sales"},
		Search:      &search.Searcher{Index: ix, Conversations: st, Region: "FI", Clock: clock},
		Credentials: []inbox.Credential{cred("root", "admin", "root-tok"), cred("alice", "agent", "alice-tok", "support"), cred("sol", "agent", "sol-tok", "sales")}}))
	t.Cleanup(srv.Close)
	return srv
}

func searchAPI(t *testing.T, srv *httptest.Server, token string, q url.Values) (int, search.Result) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/search?"+q.Encode(), nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r search.Result
	json.NewDecoder(resp.Body).Decode(&r)
	return resp.StatusCode, r
}

func TestSearchRoute(t *testing.T) {
	srv := searchHub(t)
	convs := func(token string, kv ...string) []string {
		t.Helper()
		q := url.Values{}
		for i := 0; i+1 < len(kv); i += 2 {
			q.Set(kv[i], kv[i+1])
		}
		code, r := searchAPI(t, srv, token, q)
		if code != 200 {
			t.Fatalf("%v: %d", q, code)
		}
		var out []string
		for _, h := range r.Hits {
			out = append(out, h.ConversationID)
		}
		return out
	}
	check := func(what string, got []string, want ...string) {
		t.Helper()
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%s: %v, want %v", what, got, want)
		}
	}
	// Visibility follows the inbox list: the sales pilot is sales' (and admins').
	check("alice", convs("alice-tok", "q", "refund"), "vb", "va")
	check("sol", convs("sol-tok", "q", "refund"), "vc", "vb", "va")
	check("root", convs("root-tok", "q", "refund"), "vc", "vb", "va")
	check("channel", convs("alice-tok", "q", "refund", "channel", "mail"), "vb")
	check("team", convs("alice-tok", "q", "refund", "team", "support"), "va")
	check("assignee me", convs("alice-tok", "q", "refund", "assignee", "me"), "va")
	check("status", convs("alice-tok", "q", "refund", "status", "resolved"))
	check("from (a day)", convs("root-tok", "q", "refund", "from", "2026-05-05"), "vc", "vb")
	check("to (that whole day)", convs("root-tok", "q", "refund", "to", "2026-05-05"), "vb", "va")
	check("email", convs("alice-tok", "q", "BEN@example.com"), "vb")
	if code, _ := searchAPI(t, srv, "alice-tok", url.Values{}); code != 422 {
		t.Errorf("no q: %d, want 422", code)
	}
	if code, _ := searchAPI(t, srv, "alice-tok", url.Values{"q": {"refund"}, "from": {"yesterday"}}); code != 422 {
		t.Errorf("bad from: %d, want 422", code)
	}
	if code, _ := searchAPI(t, srv, "nobody", url.Values{"q": {"refund"}}); code != 401 {
		t.Errorf("no token: %d, want 401", code)
	}
	_, r := searchAPI(t, srv, "alice-tok", url.Values{"q": {"order 5531"}})
	if len(r.Hits) != 1 || fmt.Sprint(r.Hits[0].Matched) != "[order 5531]" || r.Hits[0].Assignee != "alice" || r.Hits[0].Team != "support" {
		t.Errorf("order 5531: %+v", r.Hits)
	}
}

func TestSearchCLI(t *testing.T) {
	srv := searchHub(t)
	run := func(args ...string) string {
		t.Helper()
		var b strings.Builder
		if err := searchCmd(append(args, "--url", srv.URL, "--token", "alice-tok"), &b); err != nil {
			t.Fatalf("search %v: %v", args, err)
		}
		return b.String()
	}
	out := run("refund", "--channel", "sms")
	if !strings.Contains(out, "[refund]") || !strings.Contains(out, "Ann Aalto") || strings.Contains(out, "Ben Berg") {
		t.Fatalf("table:\n%s", out)
	}
	if out := run("--json", "ann@example.com"); !strings.Contains(out, `"customers"`) || !strings.Contains(out, `"id": "ann"`) {
		t.Fatalf("json:\n%s", out)
	}
	if out := run("zebra"); !strings.Contains(out, "no messages found") {
		t.Fatalf("nothing:\n%s", out)
	}
	var b strings.Builder
	if err := searchCmd([]string{"--url", srv.URL}, &b); err == nil {
		t.Fatal("search without a query accepted")
	}
}
