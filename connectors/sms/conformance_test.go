package sms

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/connectortest"
)

// TestConformance runs the connector kit: signed webhooks in (a local fake
// Twilio answers the sends, since the kit needs distinct message ids and
// Prism always returns the spec's example).
func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T, sink *connectortest.Sink) connectortest.Harness {
		tw := newFakeTwilio(t)
		ch, err := New(testChannel(map[string]any{"api_base_url": tw.URL}), connectors.Env{Name: channelName, Sink: sink, Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		h := route(ch)
		return connectortest.Harness{
			Channel: channelName,
			Region:  "US",
			Inject: func(ctx context.Context, key, text string) error {
				sum := sha256.Sum256([]byte(key))
				form := smsForm(fmt.Sprintf("SM%x", sum[:16]), customer, text)
				req := httptest.NewRequest("POST", "/webhooks/twilio/"+channelName, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Twilio-Signature", sign(testToken, ch.WebhookURL(), form))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != 200 {
					return fmt.Errorf("webhook answered %d", rec.Code)
				}
				return nil
			},
			Sender: ch,
			To:     connectors.Identity{Type: connectors.Phone, Value: customer, Verified: true},
		}
	})
}
