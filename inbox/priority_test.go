package inbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

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

// hookLog is a timeline.Recorder keeping what it was given.
type hookLog struct {
	mu   sync.Mutex
	hook []timeline.Hook
}

func (h *hookLog) Record(ctx context.Context, typ, key, customerID string, data any) error {
	return h.RecordAll(ctx, []timeline.Hook{{Type: typ, Key: key, CustomerID: customerID, Data: data}})
}

func (h *hookLog) RecordAll(_ context.Context, hs []timeline.Hook) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.hook = append(h.hook, hs...)
	return nil
}

// data is the JSON data of the recorded events of type typ.
func (h *hookLog) data(t *testing.T, typ string) []map[string]any {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []map[string]any
	for _, x := range h.hook {
		if x.Type != typ {
			continue
		}
		var b []byte
		switch d := x.Data.(type) {
		case []byte:
			b = d
		case json.RawMessage:
			b = d
		default:
			var err error
			if b, err = json.Marshal(d); err != nil {
				t.Fatal(err)
			}
		}
		var m map[string]any
		if err := json.Unmarshal(b, &m); err != nil {
			t.Fatal(err)
		}
		out = append(out, m)
	}
	return out
}

// TestConversationPriority (issue 24), on both stores: a rule raises a
// VIP's conversation to urgent inside the router's processing (once, also
// when the message is delivered again); an agent sets a priority through
// the conversation PATCH (audited once, carried in the webhook data), an
// unknown one is refused with 400 naming the allowed values, in the API,
// in rules and in macros; the list filters by priority and sorts urgent
// first, page by page; a macro sets one; the dry run shows it without
// acting.
func TestConversationPriority(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, []directory.Channel{{Name: "crm", Type: "api", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
		hooks := &hookLog{}
		convs := timeline.NewService(st, timeline.Options{Webhooks: hooks})
		runner := &automation.Runner{En: automation.New(st, labels.New(st), automation.Options{}), Convs: convs}
		rt := router.New(st, dir, router.Options{Routing: router.Routing{Teams: []string{"support"}}, Conversations: convs, Automation: runner})
		srv := inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: router.NewIngest(st, dir, "FI", store.SystemClock, nil), Conversations: convs,
			Teams: []string{"support"},
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
		// Rules: unknown priorities refused when saved, naming the allowed ones.
		rule := `{"id":"vip","name":"VIP is urgent","event":"message.received","enabled":true,
			"conditions":[{"type":"sender","value":"vip@example.com"},{"type":"priority","value":"none"}],
			"actions":[{"type":"set_priority","value":"urgent"}]}`
		for _, bad := range []string{
			strings.Replace(rule, `"value":"urgent"`, `"value":"critical"`, 1),
			strings.Replace(rule, `{"type":"priority","value":"none"}`, `{"type":"priority","value":"p1"}`, 1),
		} {
			out := call("POST", "/api/v1/rules", "root-tok", bad, 400)
			if msg, _ := json.Marshal(out); !strings.Contains(string(msg), "low, medium, high, urgent") {
				t.Fatalf("rule refused with %s: does not name the priorities", msg)
			}
		}
		call("POST", "/api/v1/rules", "root-tok", rule, 200)

		post := func(id, from, text string) {
			t.Helper()
			b, _ := json.Marshal(map[string]any{"external_id": id, "thread_id": id, "sender": map[string]string{"email": from}, "text": text})
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
		// Posted one by one so that each has its own activity time order: bob, ann, vip newest.
		post("bob-1", "bob@example.com", "Hello")
		drain()
		post("ann-1", "ann@example.com", "Where is my parcel?")
		drain()
		post("vip-1", "vip@example.com", "Call me now")
		drain()
		if err := rt.Process(ctx, msgs[2]); err != nil { // delivered again
			t.Fatal(err)
		}
		convOf := func(m connectors.Message) store.Conversation {
			t.Helper()
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
		bob, ann, vip := convOf(msgs[0]), convOf(msgs[1]), convOf(msgs[2])
		if vip.Priority != store.PriorityUrgent || ann.Priority != "" || bob.Priority != "" {
			t.Fatalf("after the rule: vip %q ann %q bob %q, want urgent, none, none", vip.Priority, ann.Priority, bob.Priority)
		}
		runs := 0
		recs, err := st.ListAudit(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range recs {
			if r.Action == "rule.run" {
				runs++
			}
		}
		if runs != 1 {
			t.Fatalf("%d rule.run audit records, want 1", runs)
		}

		// The agent's PATCH: 400 for an unknown value, nothing changed.
		out := call("PATCH", "/api/v1/conversations/"+ann.ID, "alice-tok", `{"priority":"critical"}`, 400)
		if msg, _ := json.Marshal(out); !strings.Contains(string(msg), "none, low, medium, high, urgent") {
			t.Fatalf("PATCH refused with %s: does not name the priorities", msg)
		}
		if got := call("PATCH", "/api/v1/conversations/"+ann.ID, "alice-tok", `{"priority":"high"}`, 200); got["priority"] != "high" {
			t.Fatalf("PATCH priority high answered %v", got)
		}
		if got := call("GET", "/api/v1/conversations/"+ann.ID, "alice-tok", "", 200); got["priority"] != "high" {
			t.Fatalf("GET after PATCH: priority %v", got["priority"])
		}
		recs, err = st.ListAudit(ctx, 100)
		if err != nil {
			t.Fatal(err)
		}
		audited := 0
		for _, r := range recs {
			if r.Action == "conversation.update" && r.Target == ann.ID && strings.Contains(r.Detail, "priority=high") && r.Actor == "alice" {
				audited++
			}
		}
		if audited != 1 {
			t.Fatalf("%d audit records of the priority change, want 1: %+v", audited, recs)
		}
		// The webhook data of a conversation event carries it.
		call("PATCH", "/api/v1/conversations/"+ann.ID, "alice-tok", `{"assignee":"alice"}`, 200)
		found := false
		for _, d := range hooks.data(t, "conversation.assigned") {
			if d["conversation_id"] == ann.ID {
				found = true
				if d["priority"] != "high" {
					t.Fatalf("conversation.assigned data %v: priority %v, want high", d, d["priority"])
				}
			}
		}
		if !found {
			t.Fatal("no conversation.assigned event for the assignment")
		}

		// Filter and sort.
		ids := func(path string) []string {
			t.Helper()
			var out []string
			for _, x := range call("GET", path, "alice-tok", "", 200)["conversations"].([]any) {
				m := x.(map[string]any)
				if c, ok := m["conversation"].(map[string]any); ok { // /api/v1/inbox items
					m = c
				}
				if id, ok := m["id"].(string); ok {
					out = append(out, id)
				}
			}
			return out
		}
		want := func(what string, got []string, want ...string) {
			t.Helper()
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Fatalf("%s = %v, want %v", what, got, want)
			}
		}
		want("priority=urgent", ids("/api/v1/conversations?priority=urgent"), vip.ID)
		want("priority=high", ids("/api/v1/conversations?priority=high"), ann.ID)
		want("priority=none", ids("/api/v1/conversations?priority=none"), bob.ID)
		want("default order", ids("/api/v1/conversations"), vip.ID, ann.ID, bob.ID)
		call("GET", "/api/v1/conversations?priority=p1", "alice-tok", "", 400)
		call("GET", "/api/v1/conversations?sort=priority&before=nonsense", "alice-tok", "", 400)
		// bob high too: urgent first, then high by activity (ann newer), then none.
		call("PATCH", "/api/v1/conversations/"+bob.ID, "alice-tok", `{"priority":"high"}`, 200)
		want("sort=priority", ids("/api/v1/conversations?sort=priority"), vip.ID, ann.ID, bob.ID)
		call("PATCH", "/api/v1/conversations/"+ann.ID, "alice-tok", `{"priority":"none"}`, 200)
		want("sort=priority after clearing ann", ids("/api/v1/conversations?sort=priority"), vip.ID, bob.ID, ann.ID)
		// Page by page: each page one, the cursor carries on, the last has no next.
		var paged []string
		path := "/api/v1/conversations?sort=priority&limit=1"
		for i := 0; i < 5; i++ {
			page := call("GET", path, "alice-tok", "", 200)
			for _, x := range page["conversations"].([]any) {
				paged = append(paged, x.(map[string]any)["id"].(string))
			}
			next, _ := page["next"].(string)
			if next == "" {
				break
			}
			path = "/api/v1/conversations?sort=priority&limit=1&before=" + next
		}
		want("sort=priority paged", paged, vip.ID, bob.ID, ann.ID)
		want("inbox sort=priority", ids("/api/v1/inbox?sort=priority"), vip.ID, bob.ID, ann.ID)
		want("inbox priority=high", ids("/api/v1/inbox?priority=high"), bob.ID)

		// Macros: validated, then applied as the agent's change.
		call("POST", "/api/v1/macros", "root-tok", `{"id":"calm","name":"Calm down","actions":[{"type":"set_priority","value":"meh"}]}`, 400)
		call("POST", "/api/v1/macros", "root-tok", `{"id":"calm","name":"Calm down","actions":[{"type":"set_priority","value":"low"}]}`, 200)
		if got := call("POST", "/api/v1/conversations/"+vip.ID+"/macros/calm", "alice-tok", "", 200); got["priority"] != "low" {
			t.Fatalf("after the macro: priority %v", got["priority"])
		}

		// Dry run: the VIP rule would raise it again (its priority is
		// cleared first), and nothing changes.
		call("PATCH", "/api/v1/conversations/"+vip.ID, "alice-tok", `{"priority":"none"}`, 200)
		out = call("POST", "/api/v1/rules/vip/dry-run", "root-tok", `{"message_id":"`+msgs[2].ID+`"}`, 200)
		if f := out["fired"].([]any); len(f) != 1 || out["conversation"].(map[string]any)["priority"] != "urgent" {
			t.Fatalf("dry run: %v", out)
		}
		if now, _ := st.GetConversation(ctx, vip.ID); now.Priority != "" {
			t.Fatalf("the dry run acted: priority %q", now.Priority)
		}
	})
}
