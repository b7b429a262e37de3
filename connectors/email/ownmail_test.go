package email

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/store"
)

// TestOwnMailBackThroughAnotherMailbox (real Dovecot and SMTP): the
// agent's reply sent from the support mailbox comes back into the sales
// mailbox (a list reflecting it, a forwarding rule). It is the hub's own
// mail: filed beside the reply in Ann's conversation, flagged own-mail,
// and the support address never becomes a customer.
func TestOwnMailBackThroughAnotherMailbox(t *testing.T) {
	d := testDovecot(t)
	h := newHubNamed(t, "support-mail", "sales-mail")
	srv := startSMTP(t)
	users := map[string]string{"support-mail": newUser(), "sales-mail": newUser()}
	from := map[string]string{"support-mail": "support@hub.example", "sales-mail": "sales@hub.example"}
	for _, name := range []string{"support-mail", "sales-mail"} {
		set := d.settings(users[name], nil)
		set["smtp"] = map[string]any{"addr": srv.addr, "from": from[name], "tls": "none", "allow_insecure": true,
			"username": srv.user, "password": srv.password}
		set["trusted_authserv_ids"] = []any{"mx.hub.example"}
		env := h.env(t, "r1")
		env.Name = name
		c, err := New(config.Channel{Name: name, Type: "email", Email: set}, env)
		if err != nil {
			t.Fatal(err)
		}
		h.out.SetSender(name, c)
		run(t, c, h.in)
	}
	time.Sleep(500 * time.Millisecond) // both in IDLE
	d.deliver(t, users["support-mail"], newMail("Ann Customer <ann@customer.example>", "Broken lamp", "first-"+randomHex(4)+"@customer.example",
		"My lamp arrived broken.", "Authentication-Results: mx.hub.example; dmarc=pass header.from=customer.example"))
	var es []store.Entry
	waitFor(t, "Ann's mail", 5*time.Second, func() bool { es = h.entries(t, "ann@customer.example"); return len(es) == 1 })
	conv := es[0].ConversationID
	if _, err := h.out.Reply(context.Background(), conv, "alice", "", "A new lamp is on its way."); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reply at the SMTP server", 5*time.Second, func() bool { return len(srv.received()) == 1 })
	back := strings.Replace(string(srv.received()[0].Data), "\r\n", "\r\nAuthentication-Results: mx.hub.example; dmarc=pass header.from=hub.example\r\n", 1)
	d.deliver(t, users["sales-mail"], []byte(back))
	var own []store.Entry
	waitFor(t, "the reply come back beside it", 8*time.Second, func() bool {
		own = own[:0]
		for _, e := range h.entries(t, "ann@customer.example") {
			if contains(e.Flags, FlagOwnMail) {
				own = append(own, e)
			}
		}
		return len(own) == 1
	})
	if own[0].ConversationID != conv || own[0].Channel != "sales-mail" {
		t.Fatalf("returned reply on %s via %s, want conversation %s via sales-mail", own[0].ConversationID, own[0].Channel, conv)
	}
	time.Sleep(300 * time.Millisecond)
	if es := h.entries(t, "support@hub.example"); len(es) != 0 {
		t.Fatalf("the support mailbox's address became a customer: %+v", es)
	}
}
