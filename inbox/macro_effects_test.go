package inbox_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/automation"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// macroHooks is a webhook outbox keeping one event per key, as the real
// one does.
type macroHooks struct {
	mu   sync.Mutex
	keys map[string]timeline.Hook
}

func (h *macroHooks) Record(ctx context.Context, typ, key, customerID string, data any) error {
	return h.RecordAll(ctx, []timeline.Hook{{Type: typ, Key: key, CustomerID: customerID, Data: data}})
}

func (h *macroHooks) RecordAll(_ context.Context, hs []timeline.Hook) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.keys == nil {
		h.keys = map[string]timeline.Hook{}
	}
	for _, x := range hs {
		if _, ok := h.keys[x.Key]; !ok {
			h.keys[x.Key] = x
		}
	}
	return nil
}

func (h *macroHooks) of(typ string) []timeline.Hook {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []timeline.Hook
	for _, x := range h.keys {
		if x.Type == typ {
			out = append(out, x)
		}
	}
	return out
}

// TestMacroRepliesNotesAndWebhooks (issue 24), on both stores: a macro
// may send a canned reply, add a private note and call the webhook. Saved
// through the API (an empty reply or note, an unknown canned reply: 400),
// run by an agent on a mail conversation: the reply goes through the
// conversation's channel as sent by that agent (placeholders filled, the
// conversation waits for the customer), the note is the agent's, the
// webhook event names the macro and the agent; the same request again
// (Idempotency-Key) makes nothing more. On a conversation whose latest
// customer message is an auto-reply (no-reply), the macro is refused with
// 409 no_reply_wanted and changes nothing.
func TestMacroRepliesNotesAndWebhooks(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		log := slog.New(slog.NewTextHandler(io.Discard, nil))
		dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive}}, store.SystemClock, nil)
		hooks := &macroHooks{}
		convs := timeline.NewService(st, timeline.Options{Webhooks: hooks})
		rt := router.New(st, dir, router.Options{Conversations: convs})
		out := withSenders(router.NewOutbound(st, dir, store.SystemClock, log, nil, convs), dir)
		srv := inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: router.NewIngest(st, dir, "FI", store.SystemClock, nil), Conversations: convs,
			Outbound: out, Logger: log,
			Credentials: []inbox.Credential{
				{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-tok")},
				{Principal: inbox.Principal{Name: "alice", Role: "agent"}, TokenSHA256: inbox.HashToken("alice-tok")}}})
		call := func(method, path, token, key, body string, want int) map[string]any {
			t.Helper()
			req := httptest.NewRequest(method, path, strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+token)
			if key != "" {
				req.Header.Set(inbox.IdempotencyHeader, key)
			}
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
		mail := func(id, from string, noReply bool) store.Conversation {
			t.Helper()
			m := connectors.Message{ID: "mail:" + id, Channel: "mail", ProviderID: id, Text: "help", SenderName: "Kim Doe", NoReply: noReply,
				Identities: []connectors.Identity{{Type: connectors.Email, Value: from, Verified: true}}, ReceivedAt: time.Now(), OccurredAt: time.Now()}
			if err := rt.Process(ctx, m); err != nil {
				t.Fatal(err)
			}
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
		call("POST", "/api/v1/labels", "root-tok", "", `{"name":"acked"}`, 200)
		macro := `{"id":"ack","name":"Acknowledge","actions":[{"type":"add_label","value":"acked"},
			{"type":"send_reply","text":"Hello {{customer.name}}, {{agent.name}} here: we are on it."},
			{"type":"add_note","text":"Acknowledged by {{agent.name}}"},{"type":"webhook","value":"crm"}]}`
		for _, bad := range []string{
			strings.Replace(macro, `"text":"Hello {{customer.name}}, {{agent.name}} here: we are on it."`, `"text":" "`, 1),
			strings.Replace(macro, `"text":"Hello {{customer.name}}, {{agent.name}} here: we are on it."`, `"canned":"nosuch"`, 1),
			strings.Replace(macro, `"text":"Acknowledged by {{agent.name}}"`, `"text":""`, 1),
		} {
			call("POST", "/api/v1/macros", "root-tok", "", bad, 400)
		}
		call("POST", "/api/v1/macros", "root-tok", "", macro, 200)

		kim := mail("m1", "kim@example.com", false)
		for i := 0; i < 2; i++ { // the request, and the same request again
			got := call("POST", "/api/v1/conversations/"+kim.ID+"/macros/ack", "alice-tok", "run-1", "", 200)
			if got["status"] != store.StatusPending || !slices.Contains(got["labels"].([]any), any("acked")) {
				t.Fatalf("after the macro (%d): %v; want labelled, waiting for the customer", i+1, got)
			}
			var replies, notes []store.Entry
			for _, e := range hubtest.Timeline(t, st, "email:kim@example.com") {
				switch {
				case e.Direction == connectors.Outbound:
					replies = append(replies, e)
				case e.Kind == store.KindNote:
					notes = append(notes, e)
				}
			}
			if len(replies) != 1 || replies[0].Agent != "alice" || replies[0].Channel != "mail" || replies[0].Status != connectors.StatusQueued ||
				replies[0].Text != "Hello Kim Doe, alice here: we are on it." || slices.Contains(replies[0].Flags, store.FlagAutomatic) {
				t.Fatalf("replies after run %d: %+v; want one, alice's, queued on mail, placeholders filled", i+1, replies)
			}
			if len(notes) != 1 || notes[0].Agent != "alice" || notes[0].Text != "Acknowledged by alice" {
				t.Fatalf("notes after run %d: %+v", i+1, notes)
			}
			whs := hooks.of(automation.WebhookEvent)
			if len(whs) != 1 {
				t.Fatalf("webhook events after run %d: %d, want 1", i+1, len(whs))
			}
			if d := whs[0].Data.(map[string]any); d["macro"] != "ack" || d["agent"] != "alice" || d["value"] != "crm" || d["conversation_id"] != kim.ID {
				t.Fatalf("webhook data %v", d)
			}
		}
		ds, err := st.PeekQueue(ctx, store.QueueOutbound, 0)
		if err != nil || len(ds) != 1 {
			t.Fatalf("outbound queue: %d items (%v); want the one reply", len(ds), err)
		}

		// Loop protection: the customer's latest message is an auto-reply.
		bot := mail("m2", "bot@example.com", true)
		got := call("POST", "/api/v1/conversations/"+bot.ID+"/macros/ack", "alice-tok", "", "", 409)
		if got["error"] != "no_reply_wanted" {
			t.Fatalf("macro on a no-reply message: %v", got)
		}
		if c, _ := st.GetConversation(ctx, bot.ID); len(c.Labels) != 0 || c.Status != store.StatusOpen {
			t.Fatalf("a refused macro changed the conversation: %+v", c)
		}
		if n := len(hubtest.Timeline(t, st, "email:bot@example.com")); n != 1 {
			t.Fatalf("a refused macro left %d entries, want the message alone", n)
		}
	})
}
