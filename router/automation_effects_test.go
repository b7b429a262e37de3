package router_test

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/automation"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/labels"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// hookLog is a webhook outbox that keeps one event per key, as the real
// one does, and counts every call.
type hookLog struct {
	mu    sync.Mutex
	keys  map[string]timeline.Hook
	calls int
}

func (h *hookLog) Record(_ context.Context, typ, key, customerID string, data any) error {
	return h.RecordAll(context.Background(), []timeline.Hook{{Type: typ, Key: key, CustomerID: customerID, Data: data}})
}

func (h *hookLog) RecordAll(_ context.Context, hs []timeline.Hook) error {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.keys == nil {
		h.keys = map[string]timeline.Hook{}
	}
	for _, x := range hs {
		h.calls++
		if _, ok := h.keys[x.Key]; !ok {
			h.keys[x.Key] = x
		}
	}
	return nil
}

func (h *hookLog) of(typ string) []timeline.Hook {
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

// TestRuleEffectsExactlyOnceAcrossACrash (issue 24), on both stores: a
// conversation.opened rule replies (placeholders filled, through the
// outbound queue, flagged automatic), writes a private note and calls the
// webhook. The process dies after the message's append, before any of it;
// the redelivery makes each once, a further redelivery nothing more. A
// later message in the same conversation opens nothing: no second run. A
// customer's auto-reply (no-reply) opening a conversation gets the note
// but no reply (RFC 3834).
func TestRuleEffectsExactlyOnceAcrossACrash(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		cat := labels.New(st)
		en := automation.New(st, cat, automation.Options{})
		if err := en.PutRules(ctx, []automation.Rule{{ID: "welcome", Name: "Welcome", Event: automation.EventConversationOpened, Enabled: true,
			Conditions: []automation.Condition{{Type: automation.CondPhase, Value: "live"}},
			Actions: []automation.Action{
				{Type: automation.ActSendReply, Text: "Hello {{customer.name}}, your case is {{conversation.id}}."},
				{Type: automation.ActAddNote, Text: "Auto-welcomed ({{agent.name}})"},
				{Type: automation.ActWebhook, Value: "crm"}}}}, "root"); err != nil {
			t.Fatal(err)
		}
		dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive}}, store.SystemClock, nil)
		hooks := &hookLog{}
		convs := timeline.NewService(st, timeline.Options{Webhooks: hooks})
		runner := &automation.Runner{En: en, Convs: convs}
		auto := &crashAfterAppend{Runner: runner}
		rt := router.New(st, dir, router.Options{Conversations: convs, Automation: auto})
		out := router.NewOutbound(st, dir, store.SystemClock, slog.New(slog.NewTextHandler(io.Discard, nil)), nil, convs)
		snd := &recordingSender{}
		out.SetSender("mail", snd)
		runner.Send = func(ctx context.Context, r automation.Reply) error { // as cmd/switchboard wires it
			_, _, err := out.SendAutomatic(ctx, router.AutomaticRequest{ConversationID: r.ConversationID, EntryID: r.EntryID, Text: r.Text, Agent: "automation"})
			if errors.Is(err, router.ErrNoReplyWanted) {
				return nil
			}
			return err
		}
		msg := func(id string, noReply bool) connectors.Message {
			return connectors.Message{ID: "mail:" + id, Channel: "mail", ProviderID: id, Text: "hello", SenderName: "Kim Doe", NoReply: noReply,
				Identities: []connectors.Identity{{Type: connectors.Email, Value: "kim@example.com", Verified: true}}, ReceivedAt: time.Now(), OccurredAt: time.Now()}
		}
		count := func() (replies, notes []store.Entry, events int) {
			for _, e := range hubtest.Timeline(t, st, "email:kim@example.com") {
				switch {
				case e.Direction == connectors.Outbound:
					replies = append(replies, e)
				case e.Kind == store.KindNote:
					notes = append(notes, e)
				case e.Kind == store.KindEvent && strings.HasPrefix(e.Text, "Rule "):
					events++
				}
			}
			return
		}
		first := msg("m1", false)
		if err := rt.Process(ctx, first); err != nil {
			t.Fatal(err)
		}
		if r, n, ev := count(); len(r)+len(n)+ev != 0 || len(hooks.of(automation.WebhookEvent)) != 0 {
			t.Fatalf("after the crash: %d replies, %d notes, %d events; want none yet", len(r), len(n), ev)
		}
		for i := 0; i < 2; i++ { // the redelivery, and one more
			if err := rt.Process(ctx, first); err != nil {
				t.Fatal(err)
			}
			r, n, ev := count()
			if len(r) != 1 || len(n) != 1 || ev != 1 || len(hooks.of(automation.WebhookEvent)) != 1 {
				t.Fatalf("after redelivery %d: %d replies, %d notes, %d events, %d webhook events; want one each", i+1, len(r), len(n), ev, len(hooks.of(automation.WebhookEvent)))
			}
		}
		replies, notes, _ := count()
		e, _ := st.GetEntry(ctx, first.ID)
		if replies[0].Text != "Hello Kim Doe, your case is "+e.ConversationID+"." || !slices.Contains(replies[0].Flags, store.FlagAutomatic) {
			t.Fatalf("reply %q flags %v: want the conversation id filled in and the automatic flag", replies[0].Text, replies[0].Flags)
		}
		if notes[0].Agent != "automation" || !strings.HasPrefix(notes[0].Text, "Auto-welcomed") {
			t.Fatalf("note %+v", notes[0])
		}
		wh := hooks.of(automation.WebhookEvent)[0]
		if d := wh.Data.(map[string]any); d["rule"] != "welcome" || d["value"] != "crm" || d["conversation_id"] != e.ConversationID || d["message_id"] != first.ID {
			t.Fatalf("webhook data %v", wh.Data)
		}

		// A later message in the same conversation: nothing opened.
		if err := rt.Process(ctx, msg("m2", false)); err != nil {
			t.Fatal(err)
		}
		if r, n, ev := count(); len(r) != 1 || len(n) != 1 || ev != 1 {
			t.Fatalf("after a second message: %d replies, %d notes, %d events; want still one each", len(r), len(n), ev)
		}
		// An auto-reply opening another conversation: a note, no reply.
		if _, err := convs.Resolve(ctx, e.ConversationID, "alice"); err != nil {
			t.Fatal(err)
		}
		if err := rt.Process(ctx, msg("m3", true)); err != nil {
			t.Fatal(err)
		}
		if r, n, ev := count(); len(r) != 1 || len(n) != 2 || ev != 2 {
			t.Fatalf("after a no-reply message: %d replies, %d notes, %d events; want 1, 2, 2", len(r), len(n), ev)
		}

		// The queued reply goes out once, marked automatic for the channel.
		rctx, cancel := context.WithCancel(ctx)
		done := make(chan struct{})
		go func() { defer close(done); out.Run(rctx, 1, "t") }()
		deadline := time.Now().Add(10 * time.Second)
		for len(snd.sent()) == 0 && time.Now().Before(deadline) {
			time.Sleep(20 * time.Millisecond)
		}
		cancel()
		<-done
		if got := snd.sent(); len(got) != 1 || !got[0].Automatic || got[0].EntryID != replies[0].ID {
			t.Fatalf("sent %+v: want the one reply, automatic", got)
		}
	})
}
