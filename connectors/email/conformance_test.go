package email

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/connectortest"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// TestConformance runs the connector kit: mail injected through Dovecot's
// LMTP (the same key is the same Message-ID, as a mail delivered twice),
// replies to an in-process SMTP server.
func TestConformance(t *testing.T) {
	d := testDovecot(t)
	connectortest.Run(t, func(t *testing.T, sink *connectortest.Sink) connectortest.Harness {
		st, err := embedded.Open(t.TempDir(), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		user := newUser()
		smtpSrv := startSMTP(t)
		set := d.settings(user, map[string]any{"backfill_since": "2000-01-01"})
		set["smtp"] = map[string]any{"addr": smtpSrv.addr, "from": "support@hub.example", "tls": "none", "allow_insecure": true,
			"username": smtpSrv.user, "password": smtpSrv.password}
		c, err := New(config.Channel{Name: testChannel, Type: "email", Email: set},
			withStore(connectors.Env{Name: testChannel, Sink: sink, Logger: testLogger(t), Replica: "kit"}, st))
		if err != nil {
			t.Fatal(err)
		}
		return connectortest.Harness{
			Channel: testChannel,
			// Synchronous: Inject returns once the Source delivered the mail
			// (every copy of a duplicate is delivered; the hub dedupes them by
			// provider id, which is what the kit checks).
			Inject: func(ctx context.Context, key, text string) error {
				before := len(sink.Messages())
				d.deliver(t, user, newMail("kit@customer.example", "Kit", key+"@"+user, text))
				deadline := time.Now().Add(10 * time.Second)
				for len(sink.Messages()) == before {
					if time.Now().After(deadline) {
						return errors.New("the mail was not delivered within 10s")
					}
					time.Sleep(10 * time.Millisecond)
				}
				return nil
			},
			Wait:   10 * time.Second,
			Source: leasedRun(c),
			Sender: c,
			To:     connectors.Identity{Type: connectors.Email, Value: "kit@customer.example", Verified: true},
		}
	})
}
