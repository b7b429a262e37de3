package email

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/store"
)

// TestLoopHeadersMarkNoReply: every header RFC 3834 and common practice
// name (and no-reply and mailer-daemon senders) marks a mail no-reply, so
// nothing automatic answers it; Auto-Submitted: no, with or without a
// comment or parameters (RFC 3834 §5 allows both), does not.
func TestLoopHeadersMarkNoReply(t *testing.T) {
	for _, tc := range []struct {
		header, from string
		noReply      bool
	}{
		{"", "ann@customer.example", false},
		{"Auto-Submitted: auto-replied", "ann@customer.example", true},
		{"Auto-Submitted: auto-generated", "ann@customer.example", true},
		{"Auto-Submitted: auto-notified; owner-email=\"x@y.example\"", "ann@customer.example", true},
		{"Auto-Submitted: AUTO-REPLIED", "ann@customer.example", true},
		{"Auto-Submitted: no", "ann@customer.example", false},
		{"Auto-Submitted: No", "ann@customer.example", false},
		{"Auto-Submitted: no (typed by a person)", "ann@customer.example", false},
		{"Auto-Submitted: no; reason=manual", "ann@customer.example", false},
		{"Auto-Submitted: (comment) no", "ann@customer.example", false},
		{"Auto-Submitted: (no keyword)", "ann@customer.example", true},
		{"Precedence: bulk", "ann@customer.example", true},
		{"Precedence: junk", "ann@customer.example", true},
		{"Precedence: list", "ann@customer.example", true},
		{"Precedence: Bulk (newsletter)", "ann@customer.example", true},
		{"X-Autoreply: yes", "ann@customer.example", true},
		{"X-Auto-Response-Suppress: All", "ann@customer.example", true},
		{"List-Id: Lamp owners <lamps.lists.example>", "ann@customer.example", true},
		{"", "noreply@shop.example", true},
		{"", "no-reply@shop.example", true},
		{"", "MAILER-DAEMON@mx.example", true},
		{"", "mailer-daemon@mx.example", true},
	} {
		hdr := ""
		if tc.header != "" {
			hdr = tc.header + "\r\n"
		}
		raw := "From: <" + tc.from + ">\r\nTo: support@hub.example\r\nSubject: lamp\r\nMessage-ID: <x@y>\r\n" + hdr +
			"Content-Type: text/plain\r\n\r\nThe lamp.\r\n"
		p := Parse([]byte(raw), Limits{MaxMessageBytes: 1 << 20, MaxAttachmentBytes: 1 << 20}, false)
		if p.NoReply != tc.noReply {
			t.Errorf("%q from %s: no-reply = %v, want %v", strings.TrimSpace(tc.header), tc.from, p.NoReply, tc.noReply)
		}
	}
}

// TestAutomaticLimitSharedByReplicas: two replicas of one email channel
// (two Channel instances on one store, as two hub processes are) send
// automatic mail to one address: together they send automatic_limit
// mails within the window, every further one is refused permanently, and
// a retry of a message already counted (the same entry after a temporary
// failure) is not refused. Another address has its own limit. Both
// stores.
func TestAutomaticLimitSharedByReplicas(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		srv := startSMTP(t)
		replica := func(name string) *Channel {
			s := map[string]any{"addr": srv.addr, "from": "support@hub.example", "tls": "none", "allow_insecure": true,
				"username": srv.user, "password": srv.password}
			c, err := New(config.Channel{Name: testChannel, Type: "email", Email: map[string]any{
				"imap": map[string]any{"addr": "127.0.0.1:1", "username": "u", "password": "p"}, "smtp": s, "automatic_limit": 3}},
				withStore(connectors.Env{Name: testChannel, Logger: testLogger(t), Replica: name}, st))
			if err != nil {
				t.Fatal(err)
			}
			return c
		}
		rs := []*Channel{replica("r1"), replica("r2")}
		// A unique address per run: the Redis peer is shared.
		ann := "ann-" + randomHex(4) + "@customer.example"
		send := func(r *Channel, entry, to string) error {
			_, err := r.Send(context.Background(), connectors.Outgoing{EntryID: entry, ConversationID: "v_loop", Automatic: true,
				To: connectors.Identity{Type: connectors.Email, Value: to}, Subject: "How did we do?", Text: "Answer 1-5."})
			return err
		}
		sent, refused := 0, 0
		for i := range 8 {
			err := send(rs[i%2], fmt.Sprintf("o_survey%d", i), ann)
			switch {
			case err == nil:
				sent++
			case errors.Is(err, connectors.ErrPermanent) && strings.Contains(err.Error(), "email.automatic_limit"):
				refused++
			default:
				t.Fatalf("automatic mail %d: %v", i, err)
			}
		}
		if sent != 3 || refused != 5 || len(srv.received()) != 3 {
			t.Fatalf("two replicas sent %d automatic mails (%d at the server) and refused %d; want 3 sent, 5 refused (one limit of 3 for both)",
				sent, len(srv.received()), refused)
		}
		if err := send(rs[1], "o_survey0", ann); err != nil {
			t.Fatalf("a retry of a counted message refused: %v", err)
		}
		if err := send(rs[0], "o_other", "bob-"+randomHex(4)+"@customer.example"); err != nil {
			t.Fatalf("another address refused: %v", err)
		}
		// An agent's reply is never limited.
		if _, err := rs[0].Send(context.Background(), connectors.Outgoing{EntryID: "o_agent", ConversationID: "v_loop",
			To: connectors.Identity{Type: connectors.Email, Value: ann}, Subject: "Re", Text: "By hand."}); err != nil {
			t.Fatalf("the agent's reply: %v", err)
		}
	})
}
