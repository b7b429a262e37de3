package inbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/automation"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/labels"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// TestAutomationRulesEndToEnd (issue 24), on both stores: rules saved
// through the API (unknown labels and teams refused with 400) run on a
// message posted to the api channel, inside the router's processing: the
// conversation is labelled, routed and given an attribute, the run is
// audited and on the timeline once, also when the message is delivered
// again; the dry run answers the same without acting; a macro applies its
// actions as the agent's change.
func TestAutomationRulesEndToEnd(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, []directory.Channel{{Name: "crm", Type: "api", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
		convs := timeline.NewService(st, timeline.Options{})
		runner := &automation.Runner{En: automation.New(st, labels.New(st), automation.Options{}), Convs: convs}
		rt := router.New(st, dir, router.Options{Routing: router.Routing{Teams: []string{"support", "billing"}}, Conversations: convs, Automation: runner})
		srv := inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: router.NewIngest(st, dir, "FI", store.SystemClock, nil), Conversations: convs,
			Teams: []string{"support", "billing"},
			Credentials: []inbox.Credential{
				{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-tok")},
				{Principal: inbox.Principal{Name: "alice", Role: "agent"}, TokenSHA256: inbox.HashToken("alice-tok")}}})
		call := func(method, path, token, body string, want int) map[string]any {
			t.Helper()
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			if body != "" {
				req.Header.Set("Content-Type", "application/json")
			}
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != want {
				t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, rec.Code, rec.Body, want)
			}
			var out map[string]any
			json.Unmarshal(rec.Body.Bytes(), &out)
			return out
		}
		call("POST", "/api/v1/labels", "root-tok", `{"name":"billing"}`, 200)
		call("POST", "/api/v1/labels", "root-tok", `{"name":"urgent"}`, 200)
		call("POST", "/api/v1/attributes", "root-tok", `{"name":"topic","type":"text","on":"conversation"}`, 200)
		rule := `{"id":"lasku","name":"Invoices to billing","event":"message.received","enabled":true,
			"conditions":[{"type":"channel","value":"crm"},{"type":"text_contains","value":"lasku"}],
			"actions":[{"type":"add_label","value":"billing"},{"type":"assign_team","value":"billing"},{"type":"set_attribute","name":"topic","value":"invoice"}]}`
		for _, bad := range []string{
			strings.Replace(rule, `"value":"billing"}`, `"value":"nolabel"}`, 1),
			strings.Replace(rule, `{"type":"assign_team","value":"billing"}`, `{"type":"assign_team","value":"noteam"}`, 1),
			strings.Replace(rule, `"name":"topic"`, `"name":"nope"`, 1),
			strings.Replace(rule, `"text_contains"`, `"text_likes"`, 1),
			strings.Replace(rule, `"message.received"`, `"sla.breached"`, 1),
			strings.Replace(rule, `{"type":"channel","value":"crm"}`, `{"type":"business_hours","value":"nocalendar"}`, 1),
			strings.Replace(rule, `{"type":"channel","value":"crm"}`, `{"type":"phase","value":"beta"}`, 1),
			strings.Replace(rule, `{"type":"channel","value":"crm"}`, `{"type":"customer_label","value":"nolabel"}`, 1),
			strings.Replace(rule, `{"type":"add_label","value":"billing"}`, `{"type":"send_reply"}`, 1),
			strings.Replace(rule, `{"type":"add_label","value":"billing"}`, `{"type":"send_reply","canned":"thanks"}`, 1),
			strings.Replace(rule, `{"type":"add_label","value":"billing"}`, `{"type":"add_note","text":" "}`, 1),
		} {
			call("POST", "/api/v1/rules", "root-tok", bad, 400)
		}
		call("POST", "/api/v1/rules", "alice-tok", rule, 403)
		call("POST", "/api/v1/rules", "root-tok", rule, 200)
		call("POST", "/api/v1/rules", "root-tok", `{"id":"follow","name":"Billing is urgent","event":"message.received","enabled":true,
			"conditions":[{"type":"label","value":"billing"}],"actions":[{"type":"add_label","value":"urgent"}]}`, 200)
		if rs := call("GET", "/api/v1/rules", "root-tok", "", 200)["rules"].([]any); len(rs) != 2 {
			t.Fatalf("rules = %v", rs)
		}

		post := func(id, text string) {
			t.Helper()
			b, _ := json.Marshal(map[string]any{"external_id": id, "thread_id": id, "sender": map[string]string{"email": "ann@example.com"}, "text": text})
			req := httptest.NewRequest("POST", "/api/v1/channels/crm/messages", bytes.NewReader(b))
			req.Header.Set("Authorization", "Bearer root-tok")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != 202 {
				t.Fatalf("post: %d %s", rec.Code, rec.Body)
			}
		}
		var msgs []connectors.Message
		drain := func() { t.Helper(); msgs = append(msgs, processIngest(t, ctx, st, rt)...) }
		post("inv-1", "Hei, lasku on väärin")
		post("other-1", "Where is my parcel?")
		drain()
		if len(msgs) != 2 {
			t.Fatalf("processed %d messages", len(msgs))
		}
		// Delivered again (a crash before the ack): nothing twice.
		if err := rt.Process(ctx, msgs[0]); err != nil {
			t.Fatal(err)
		}
		e, err := st.GetEntry(ctx, msgs[0].ID)
		if err != nil {
			t.Fatal(err)
		}
		c, err := st.GetConversation(ctx, e.ConversationID)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Join(c.Labels, ",") != "billing,urgent" || c.Team != "billing" || c.Attributes["topic"] != "invoice" {
			t.Fatalf("conversation after the rules: labels %v team %q attributes %v", c.Labels, c.Team, c.Attributes)
		}
		e2, _ := st.GetEntry(ctx, msgs[1].ID)
		c2, _ := st.GetConversation(ctx, e2.ConversationID)
		if len(c2.Labels) != 0 || c2.Team != "support" {
			t.Fatalf("a message no rule matches: labels %v team %q", c2.Labels, c2.Team)
		}
		recs, err := st.ListAudit(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		runs := 0
		for _, r := range recs {
			if r.Action == "rule.run" {
				runs++
			}
		}
		if runs != 1 {
			t.Fatalf("%d rule.run audit records, want 1 (the message's run of lasku and follow, once)", runs)
		}
		es := hubtest.Timeline(t, st, "email:ann@example.com")
		events := 0
		for _, x := range es {
			if x.Kind == store.KindEvent && strings.HasPrefix(x.Text, "Rule ") {
				events++
				if !strings.Contains(x.Text, `Rule "Invoices to billing": added label billing, assigned team billing, set topic`) ||
					!strings.Contains(x.Text, `Rule "Billing is urgent": added label urgent`) {
					t.Fatalf("rule event text %q", x.Text)
				}
			}
		}
		if events != 1 {
			t.Fatalf("%d rule events on the timeline, want 2: %v", events, hubtest.Texts(es))
		}
		// Labelled conversations filter.
		if l := call("GET", "/api/v1/conversations?label=billing", "root-tok", "", 200)["conversations"].([]any); len(l) != 1 {
			t.Fatalf("label=billing listed %d", len(l))
		}

		// Dry run on the other message: the rule would not fire; on the
		// first, both would, and nothing changes.
		out := call("POST", "/api/v1/rules/lasku/dry-run", "root-tok", `{"message_id":"`+msgs[1].ID+`"}`, 200)
		if f := out["fired"].([]any); len(f) != 0 {
			t.Fatalf("dry run on a non-matching message fired %v", f)
		}
		call("POST", "/api/v1/conversations/"+c.ID+"/labels", "alice-tok", `{"remove":["billing","urgent"]}`, 200)
		out = call("POST", "/api/v1/rules/all/dry-run", "root-tok", `{"message_id":"`+msgs[0].ID+`"}`, 200)
		if f := out["fired"].([]any); len(f) != 2 {
			t.Fatalf("dry run fired %v, want both rules", f)
		}
		if got := out["conversation"].(map[string]any)["labels"].([]any); len(got) != 2 {
			t.Fatalf("dry run conversation labels = %v", got)
		}
		if now, _ := st.GetConversation(ctx, c.ID); len(now.Labels) != 0 {
			t.Fatalf("the dry run acted: labels %v", now.Labels)
		}
		call("POST", "/api/v1/rules/lasku/dry-run", "root-tok", `{"message_id":"nope"}`, 404)

		// A macro: validated, then applied by an agent.
		call("POST", "/api/v1/macros", "root-tok", `{"id":"close-billing","name":"Close as billing","actions":[{"type":"add_label","value":"nolabel"}]}`, 400)
		call("POST", "/api/v1/macros", "root-tok", `{"id":"close-billing","name":"Close as billing","actions":[{"type":"add_label","value":"billing"},{"type":"resolve"}]}`, 200)
		got := call("POST", "/api/v1/conversations/"+c2.ID+"/macros/close-billing", "alice-tok", "", 200)
		if got["status"] != store.StatusResolved || len(got["labels"].([]any)) != 1 {
			t.Fatalf("after the macro: %v", got)
		}
		_ = time.Second
	})
}

// processIngest processes every message waiting in the ingest queue with rt
// and returns them in order.
func processIngest(t *testing.T, ctx context.Context, st store.Store, rt *router.Router) []connectors.Message {
	t.Helper()
	var msgs []connectors.Message
	for {
		ds, err := st.Read(ctx, store.QueueIngest, "test", 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return msgs
		}
		for _, d := range ds {
			var m connectors.Message
			if err := json.Unmarshal(d.Payload, &m); err != nil {
				t.Fatal(err)
			}
			if err := rt.Process(ctx, m); err != nil {
				t.Fatalf("process: %v", err)
			}
			msgs = append(msgs, m)
			st.Ack(ctx, store.QueueIngest, d.ID)
		}
	}
}
