package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/sla"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// reportsHub serves the service report over a store in which three
// conversations were scripted through timeline.Service on a test clock:
//   - X on mail (team support, alice): answered after 30 min, resolved
//     after 2 h;
//   - Y on chat (team sales, bob): answered after 3 h, resolved after 5 h
//     (no policy on chat);
//   - Z on mail (team sales, bob): answered after 2 h, past its 1 h first
//     response target.
func reportsHub(t *testing.T, st store.Store) *httptest.Server {
	t.Helper()
	ctx := context.Background()
	now := time.Date(2026, 5, 4, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	pol := sla.NewPolicies([]sla.Policy{{Name: "mail", FirstResponse: time.Hour, Channels: []string{"mail"}}})
	roll := sla.NewRollup(st, pol, nil, nil)
	svc := timeline.NewService(st, timeline.Options{Clock: clock, Tracker: roll,
		Teams: map[string][]string{"support": {"alice"}, "sales": {"bob"}}})
	t0 := now
	script := func(id, channel, team, agent string, reply, resolve time.Duration) {
		now = t0
		if _, _, _, err := svc.Receive(ctx, timeline.Inbound{ThreadKey: channel + "|" + id, ConversationID: id, Team: team,
			Entry: store.Entry{ID: "in-" + id, CustomerID: "c-" + id, Channel: channel, Direction: connectors.Inbound, Kind: store.KindMessage, Text: "hi", OccurredAt: now}}); err != nil {
			t.Fatal(err)
		}
		now = t0.Add(reply)
		if _, err := svc.Replied(ctx, store.Entry{ID: "out-" + id, CustomerID: "c-" + id, ConversationID: id, Channel: channel,
			Direction: connectors.Outbound, Agent: agent, OccurredAt: now}); err != nil {
			t.Fatal(err)
		}
		if resolve > 0 {
			now = t0.Add(resolve)
			if _, err := svc.Resolve(ctx, id, agent); err != nil {
				t.Fatal(err)
			}
		}
	}
	script("X", "mail", "support", "alice", 30*time.Minute, 2*time.Hour)
	script("Y", "chat", "sales", "bob", 3*time.Hour, 5*time.Hour)
	script("Z", "mail", "sales", "bob", 2*time.Hour, 0)
	dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive},
		{Name: "chat", Type: "slack", Phase: store.PhaseLive}}, clock, nil)
	if err := dir.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	cred := func(name, role, tok string, teams ...string) inbox.Credential {
		return inbox.Credential{Principal: inbox.Principal{Name: name, Role: role, Teams: teams}, TokenSHA256: inbox.HashToken(tok)}
	}
	srv := httptest.NewServer(inbox.New(inbox.Options{Store: st, Directory: dir, Clock: clock, Conversations: svc,
		Teams: []string{"support", "sales"}, TeamLeads: map[string][]string{"lena": {"support"}},
		Credentials: []inbox.Credential{cred("root", "admin", "root-tok"), cred("lena", "agent", "lena-tok", "support"),
			cred("alice", "agent", "alice-tok", "support"), cred("bob", "agent", "bob-tok", "sales")}}))
	t.Cleanup(srv.Close)
	return srv
}

func getReport(t *testing.T, srv *httptest.Server, token, query string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/reports/service?"+query, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestServiceReportRoute: the report route answers the JSON and
// CSV on both stores; admins see every channel, a team lead their team
// and its agents only, an agent nothing; bad input is a clear 422.
func TestServiceReportRoute(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		srv := reportsHub(t, st)
		period := "from=2026-05-01&to=2026-05-31"
		code, body := getReport(t, srv, "root-tok", period+"&group_by=channel")
		// Times are the middles of their 4 % buckets (sla.SampleBucket):
		// 3 h → 10675 s, 5 h → 17776 s, 30 min → 1828 s, 2 h → 7212 s.
		want := `{"rows":[` +
			`{"key":"chat","conversations":1,"first_response_s":{"p50":10675,"p90":10675},"resolution_s":{"p50":17776,"p90":17776},"reopened":0,"sla_breaches":{"first_response":0,"resolution":0},"csat":{"responses":0,"score":0,"positive_share":0}},` +
			`{"key":"mail","conversations":2,"first_response_s":{"p50":1828,"p90":7212},"resolution_s":{"p50":7212,"p90":7212},"reopened":0,"sla_breaches":{"first_response":1,"resolution":0},"csat":{"responses":0,"score":0,"positive_share":0}}]}`
		if code != 200 || strings.TrimSpace(body) != want {
			t.Fatalf("by channel: %d\n got %s\nwant %s", code, body, want)
		}
		// Outside the period: rows with nothing counted.
		if _, body := getReport(t, srv, "root-tok", "from=2026-04-01&to=2026-04-30&group_by=team"); !strings.Contains(body, `"key":"sales","conversations":0,"first_response_s":{"p50":null,"p90":null}`) {
			t.Fatalf("April by team: %s", body)
		}
		code, body = getReport(t, srv, "root-tok", period+"&group_by=team&format=csv")
		lines := strings.Split(strings.TrimSpace(body), "\n")
		if code != 200 || len(lines) != 3 || lines[0] != strings.Join(sla.CSVHeader, ",") ||
			lines[1] != "sales,2,7212,10675,17776,17776,0,2,1,0,0,0,0,0" || lines[2] != "support,1,1828,1828,7212,7212,0,1,0,0,0,0,0,0" {
			t.Fatalf("csv by team: %d\n%s", code, body)
		}
		// The lead of support: that team, and its agents.
		_, body = getReport(t, srv, "lena-tok", period+"&group_by=team")
		var rep sla.Report
		if err := json.Unmarshal([]byte(body), &rep); err != nil || len(rep.Rows) != 1 || rep.Rows[0].Key != "support" || rep.Rows[0].Conversations != 1 {
			t.Fatalf("lead by team: %s", body)
		}
		_, body = getReport(t, srv, "lena-tok", period+"&group_by=agent")
		if err := json.Unmarshal([]byte(body), &rep); err != nil || len(rep.Rows) != 2 || rep.Rows[0].Key != "alice" || rep.Rows[1].Key != "lena" ||
			*rep.Rows[0].FirstResponse.P50 != 1828 {
			t.Fatalf("lead by agent: %s", body)
		}
		for _, c := range []struct {
			token, query string
			code         int
		}{
			{"lena-tok", period + "&group_by=channel", 403},
			{"alice-tok", period + "&group_by=team", 403},
			{"root-tok", period + "&group_by=customer", 422},
			{"root-tok", "from=2026-05-31&to=2026-05-01", 422},
			{"root-tok", "from=yesterday", 422},
			{"root-tok", period + "&format=xml", 422},
			{"nope", period, 401},
		} {
			if code, body := getReport(t, srv, c.token, c.query); code != c.code {
				t.Errorf("%s %s: %d %s, want %d", c.token, c.query, code, body, c.code)
			}
		}
	})
}

// TestReportsCLI: `switchboard reports service` prints the table, the CSV
// and the JSON of the running hub's report.
func TestReportsCLI(t *testing.T) {
	srv := reportsHub(t, hubtest.Embedded(t))
	run := func(args ...string) string {
		t.Helper()
		var b strings.Builder
		if err := reportsCmd(append([]string{"service", "--url", srv.URL, "--token", "root-tok", "--from", "2026-05-01", "--to", "2026-05-31"}, args...), &b); err != nil {
			t.Fatalf("reports service %v: %v", args, err)
		}
		return b.String()
	}
	out := run("--group-by", "agent")
	if !strings.Contains(out, "AGENT") || !regexpLine(out, `bob\s+2\s+7200s / 10800s\s+18000s / 18000s\s+0\s+1 / 0`) {
		t.Fatalf("table:\n%s", out)
	}
	if out := run("--csv"); !strings.HasPrefix(out, "key,conversations,") || !strings.Contains(out, "\nmail,2,1800,7200,7200,7200,0,2,1,0,0,0,0,0\n") {
		t.Fatalf("csv:\n%s", out)
	}
	var rep sla.Report
	if err := json.Unmarshal([]byte(run("--group-by", "team", "--json")), &rep); err != nil || len(rep.Rows) != 2 {
		t.Fatalf("json: %v %+v", err, rep)
	}
	var b strings.Builder
	if err := reportsCmd([]string{"service", "--url", srv.URL, "--token", "alice-tok"}, &b); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("an agent's report: %v", err)
	}
	if err := reportsCmd([]string{"agents"}, &b); err == nil {
		t.Fatal("reports agents accepted")
	}
}

func regexpLine(s, re string) bool { return regexp.MustCompile(re).MatchString(s) }

// TestSLAPoliciesFromConfig: business_hours and sla become policies on
// their calendars; no sla: no policies.
func TestSLAPoliciesFromConfig(t *testing.T) {
	cfg := &config.Config{
		Channels:      []config.Channel{{Name: "mail"}},
		BusinessHours: []config.BusinessHours{{Name: "office", TimeZone: "Europe/Helsinki", Weekly: map[string]string{"mon": "09:00-17:00"}}},
		SLA: []config.SLAPolicy{{Name: "std", FirstResponse: config.Duration(2 * time.Hour), Calendar: "office", Channels: []string{"mail"}},
			{Name: "default", Resolution: config.Duration(time.Hour)}},
	}
	p, err := slaPolicies(cfg)
	if err != nil {
		t.Fatal(err)
	}
	got := p.For(store.Conversation{Channel: "mail"})
	// Monday 2026-12-07 16:00 Helsinki (14:00 UTC) + 2 working hours: the
	// next Monday 10:00 Helsinki, 08:00 UTC (one hour Monday, none
	// the rest of the week).
	start := time.Date(2026, 12, 7, 14, 0, 0, 0, time.UTC)
	if got == nil || got.Name != "std" || !got.Calendar.Add(start, 2*time.Hour).Equal(time.Date(2026, 12, 14, 8, 0, 0, 0, time.UTC)) {
		t.Fatalf("mail's policy %+v", got)
	}
	if d := p.For(store.Conversation{Channel: "chat"}); d == nil || d.Name != "default" || d.Calendar != nil {
		t.Fatalf("chat's policy %+v", d)
	}
	if p, err := slaPolicies(&config.Config{}); p != nil || err != nil {
		t.Fatalf("no sla: %v %v", p, err)
	}
}
