package sms

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/connectors"
)

// FuzzWebhook posts arbitrary (validly signed) form bodies to the message
// webhook: it must never panic, answer only 200, 400, 403 or 413, deliver
// exactly once when it answers 200, and only a verified E.164 sender with a
// Twilio message SID.
func FuzzWebhook(f *testing.F) {
	f.Add("MessageSid=SM0123456789abcdef0123456789abcdef&From=%2B14155550123&Body=hi")
	f.Add("MessageSid=MM0123456789abcdef0123456789abcdef&From=%2B14155550123&Body=&NumMedia=1&MediaUrl0=https%3A%2F%2Fevil.example%2Fx&MediaContentType0=image%2Fpng")
	f.Add("MessageSid=SM0123456789abcdef0123456789abcdef&From=%2B14155550123&Body=STOP&OptOutType=STOP")
	f.Add("From=%2B1&Body=%ff")
	f.Add("a=1&a=2")
	f.Add("%zz")
	s, err := LoadSettings(testChannel(nil), "")
	if err != nil {
		f.Fatal(err)
	}
	var got []connectors.Message
	ch, err := NewWithSettings(channelName, s, connectors.Env{Logger: discardLogger(), Sink: connectors.SinkFunc(func(ctx context.Context, m connectors.Message) (string, error) {
		got = append(got, m)
		return connectors.MessageID(m.Channel, m.ProviderID), nil
	})})
	if err != nil {
		f.Fatal(err)
	}
	mux := http.NewServeMux()
	for _, r := range ch.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	f.Fuzz(func(t *testing.T, body string) {
		got = got[:0]
		req := httptest.NewRequest("POST", "/webhooks/twilio/"+channelName, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		// Sign what the hub will parse; an unparsable body keeps a dummy signature.
		sig := "x"
		if form, err := url.ParseQuery(body); err == nil {
			sig = sign(testToken, ch.WebhookURL(), form)
		}
		req.Header.Set("X-Twilio-Signature", sig)
		rec := httptest.NewRecorder()
		mux.ServeHTTP(rec, req)
		switch rec.Code {
		case 200:
			if len(got) != 1 {
				t.Fatalf("200 after %d deliveries", len(got))
			}
			m := got[0]
			if !validSID(m.ProviderID) || len(m.Identities) != 1 || !m.Identities[0].Verified ||
				m.Identities[0].Type != connectors.Phone || !strings.HasPrefix(m.Identities[0].Value, "+") {
				t.Fatalf("delivered %+v", m)
			}
			for _, a := range m.Attachments {
				if a.SHA256 == "" && a.Omitted == "" {
					t.Fatalf("attachment neither kept nor explained: %+v", a)
				}
			}
		case 400, 403, 413:
			if len(got) != 0 {
				t.Fatalf("%d after a delivery", rec.Code)
			}
		default:
			t.Fatalf("answered %d", rec.Code)
		}
	})
}
