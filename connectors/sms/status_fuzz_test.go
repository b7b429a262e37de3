package sms

import (
	"context"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/connectors"
)

// statusRecorder is the channel's StatusSink: it records every update and
// knows only the SIDs that do not end in 0.
type statusRecorder struct{ got []string }

func (s *statusRecorder) UpdateStatus(ctx context.Context, channel, providerID, status, detail string) error {
	s.got = append(s.got, channel+" "+providerID+" "+status)
	if strings.HasSuffix(providerID, "0") {
		return connectors.ErrUnknownMessage
	}
	return nil
}

// FuzzStatusCallback posts arbitrary status callbacks, signed correctly
// (resign) or with an arbitrary signature: without the right signature no
// entry's status changes and the answer is a refusal; with it at most one
// update is made, for a Twilio message SID and a hub status, and the
// answer is 204 or 400, never 5xx.
func FuzzStatusCallback(f *testing.F) {
	for _, s := range []struct {
		body, sig, query string
		resign           bool
	}{
		{"MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=delivered", "", "", true},
		{"MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=undelivered&ErrorCode=30003&ErrorMessage=Unreachable", "", "", true},
		{"MessageSid=SM0123456789abcdef0123456789abcde0&SmsStatus=failed&ErrorCode=x", "", "", true},
		{"MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=read", "", "a=1", true},
		{"MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=queued", "", "", true},
		{"MessageSid=nope&MessageStatus=sent", "", "", true},
		{"MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=delivered", "bm90IHRoZSBzaWduYXR1cmU=", "", false},
		{"MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=delivered&MessageStatus=failed", "", "", true},
		{"MessageSid=SM0123456789abcdef0123456789abcdef&MessageStatus=delivered", "", "", false},
		{"%zz", "x", "", true},
	} {
		f.Add(s.body, s.sig, s.query, s.resign)
	}
	s, err := LoadSettings(testChannel(nil), "")
	if err != nil {
		f.Fatal(err)
	}
	rec := &statusRecorder{}
	ch, err := NewWithSettings(channelName, s, connectors.Env{Logger: discardLogger(), Status: rec,
		Sink: connectors.SinkFunc(func(ctx context.Context, m connectors.Message) (string, error) { return "", nil })})
	if err != nil {
		f.Fatal(err)
	}
	routes := map[string]bool{}
	for _, r := range ch.Routes() {
		routes[r.Pattern] = true
	}
	if !routes[StatusPattern] {
		f.Fatalf("no status route among %v", routes)
	}
	f.Fuzz(func(t *testing.T, body, sig, query string, resign bool) {
		rec.got = rec.got[:0]
		target := "/webhooks/twilio/" + channelName + "/status"
		signed := ch.WebhookURL() + "/status"
		if query != "" {
			q := url.Values{"q": {query}}.Encode()
			target += "?" + q
			signed += "?" + q
		}
		form, formErr := url.ParseQuery(body)
		good := ""
		if formErr == nil {
			good = sign(testToken, signed, form)
		}
		if resign {
			sig = good
		}
		req := httptest.NewRequest("POST", target, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if sig != "" {
			req.Header.Set("X-Twilio-Signature", sig)
		}
		w := httptest.NewRecorder()
		ch.serveStatus(w, req)
		if w.Code >= 500 {
			t.Fatalf("answered %d: %s", w.Code, w.Body)
		}
		if formErr != nil || sig != good || sig == "" {
			if len(rec.got) != 0 || w.Code < 400 {
				t.Fatalf("a callback without the right signature answered %d after updates %q", w.Code, rec.got)
			}
			return
		}
		switch {
		case len(rec.got) > 1:
			t.Fatalf("one callback made updates %q", rec.got)
		case len(rec.got) == 1:
			f := strings.Fields(rec.got[0])
			if len(f) != 3 || f[0] != channelName || !validSID(f[1]) || !strings.Contains(" sent delivered undelivered failed ", " "+f[2]+" ") {
				t.Fatalf("update %q", rec.got[0])
			}
			if w.Code != 204 {
				t.Fatalf("answered %d after an update", w.Code)
			}
		case w.Code != 204 && w.Code != 400 && w.Code != 403:
			t.Fatalf("answered %d: %s", w.Code, w.Body)
		}
	})
}
