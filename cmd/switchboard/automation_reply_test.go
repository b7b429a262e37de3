package main

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
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

// TestRuleReplyOnAReceiveOnlyChannel, on both stores: a rule's send_reply
// on a conversation opened on an api channel (no Sender: nothing goes back
// through it) is not queued, as an agent's reply there is refused. The
// rule's other action still runs, once: the refusal is done, not an error
// (nothing logged as an effect not made), and nothing stands on the
// timeline as a message that failed to send. On an email conversation the
// same rule's reply is queued.
func TestRuleReplyOnAReceiveOnlyChannel(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		en := automation.New(st, labels.New(st), automation.Options{})
		if err := en.PutRules(ctx, []automation.Rule{{ID: "ack", Name: "Acknowledge", Event: automation.EventConversationOpened, Enabled: true,
			Actions: []automation.Action{{Type: automation.ActSendReply, Text: "Thanks, we are on it."},
				{Type: automation.ActAddNote, Text: "Acknowledged"}}}}, "root"); err != nil {
			t.Fatal(err)
		}
		dir := directory.New(st, []directory.Channel{{Name: "crm", Type: "api", Phase: store.PhaseLive, Trusted: true},
			{Name: "mail", Type: "email", Phase: store.PhaseLive}}, store.SystemClock, nil)
		convs := timeline.NewService(st, timeline.Options{})
		var logged bytes.Buffer
		rules := &automation.Runner{En: en, Convs: convs, Logger: slog.New(slog.NewTextHandler(&logged, nil))}
		rt := router.New(st, dir, router.Options{Conversations: convs, Automation: rules})
		out := router.NewOutbound(st, dir, store.SystemClock, nil, nil, convs)
		out.SetSender("mail", idleSender{}) // as buildChannels: the api channel has none
		rules.Send = automaticReplies(out)  // as serve wires it

		for _, c := range []struct {
			channel, customer string
			replies           int
		}{{"crm", "ann@example.com", 0}, {"mail", "ben@example.com", 1}} {
			m := connectors.Message{ID: c.channel + ":m1", Channel: c.channel, ProviderID: "m1", Text: "order 4711 is late",
				Identities: []connectors.Identity{{Type: connectors.Email, Value: c.customer, Verified: true}}, ReceivedAt: time.Now(), OccurredAt: time.Now()}
			for range 2 { // a redelivery changes nothing
				if err := rt.Process(ctx, m); err != nil {
					t.Fatalf("%s: %v", c.channel, err)
				}
			}
			var replies, notes, failed int
			for _, e := range hubtest.Timeline(t, st, "email:"+c.customer) {
				switch {
				case e.Direction == connectors.Outbound:
					replies++
					if e.Status == connectors.StatusFailed {
						failed++
					}
				case e.Kind == store.KindNote && strings.HasPrefix(e.Text, "Acknowledged"):
					notes++
				}
			}
			if replies != c.replies || failed != 0 || notes != 1 {
				t.Fatalf("%s: %d replies (%d failed), %d notes; want %d replies, none failed, one note", c.channel, replies, failed, notes, c.replies)
			}
		}
		q, err := st.QueueStats(ctx, store.QueueOutbound)
		if err != nil {
			t.Fatal(err)
		}
		if q.Length != 1 {
			t.Fatalf("outbound queue holds %d, want only the email reply", q.Length)
		}
		if strings.Contains(logged.String(), "level=ERROR") {
			t.Fatalf("the refused rule reply was logged as an error:\n%s", logged.String())
		}
	})
}

// idleSender accepts every message (nothing here delivers).
type idleSender struct{}

func (idleSender) Send(context.Context, connectors.Outgoing) (connectors.SendResult, error) {
	return connectors.SendResult{ProviderID: "idle", Status: connectors.StatusSent}, nil
}
