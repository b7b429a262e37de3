package sms

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
)

// testChannel is an sms channel config with the test account; extra
// settings override.
func testChannel(extra map[string]any) config.Channel {
	s := map[string]any{"account_sid": testSID, "auth_token": testToken, "from": testFrom, "public_url": testPublic}
	for k, v := range extra {
		if v == nil {
			delete(s, k)
		} else {
			s[k] = v
		}
	}
	return config.Channel{Name: channelName, Type: "sms", Phase: "live", SMS: s}
}

func recordPost(ch *Channel, path, body, sig string) *httptest.ResponseRecorder {
	mux := http.NewServeMux()
	for _, r := range ch.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	req := httptest.NewRequest("POST", path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", sig)
	rec := httptest.NewRecorder()
	mux.ServeHTTP(rec, req)
	return rec
}

func sender(t *testing.T, baseURL string, extra map[string]any) *Channel {
	t.Helper()
	if extra == nil {
		extra = map[string]any{}
	}
	extra["api_base_url"] = baseURL
	ch, err := New(testChannel(extra), connectors.Env{Name: channelName, Sink: connectors.SinkFunc(nil), Logger: discardLogger()})
	if err != nil {
		t.Fatal(err)
	}
	return ch
}

func reply(text string) connectors.Outgoing {
	return connectors.Outgoing{EntryID: "o_1", Channel: channelName, To: connectors.Identity{Type: connectors.Phone, Value: customer, Verified: true}, Text: text}
}

// Every request against Prism is validated against Twilio's published
// description of CreateMessage; Prism answers with the spec's example.
func TestSendAgainstTwilioSpec(t *testing.T) {
	mock := twilioMock(t)
	for name, extra := range map[string]map[string]any{
		"from number":       nil,
		"messaging service": {"from": nil, "messaging_service_sid": "MG0123456789abcdef0123456789abcdef"},
	} {
		ch := sender(t, mock, extra)
		res, err := ch.Send(context.Background(), reply("Your parcel left the depot."))
		if err != nil {
			t.Fatalf("%s: send: %v", name, err)
		}
		if !validSID(res.ProviderID) || res.Status != connectors.StatusSent {
			t.Fatalf("%s: result = %+v, want a message SID and status sent", name, res)
		}
	}
	report, err := sender(t, mock, nil).Test(context.Background())
	if err != nil || !strings.Contains(report, "status active") || !strings.Contains(report, testSID) {
		t.Fatalf("Test against the spec: %q, %v", report, err)
	}
}

func TestSendRequestIsExact(t *testing.T) {
	for name, tc := range map[string]struct {
		extra    map[string]any
		from, mg string
	}{
		"from number":       {nil, testFrom, ""},
		"messaging service": {map[string]any{"from": nil, "messaging_service_sid": "MG0123456789abcdef0123456789abcdef"}, "", "MG0123456789abcdef0123456789abcdef"},
	} {
		tw := newFakeTwilio(t)
		ch := sender(t, tw.URL, tc.extra)
		text := "Hi 👋 – your refund is on its way & should arrive soon"
		res, err := ch.Send(context.Background(), reply(text))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		got := tw.sent()
		if len(got) != 1 {
			t.Fatalf("%s: %d requests", name, len(got))
		}
		f := got[0]
		if f.Get("To") != customer || f.Get("Body") != text || f.Get("From") != tc.from || f.Get("MessagingServiceSid") != tc.mg ||
			f.Get("StatusCallback") != testPublic+"/webhooks/twilio/"+channelName+"/status" {
			t.Fatalf("%s: CreateMessage form = %v", name, f)
		}
		if res.ProviderID != sid(1001) || res.Status != "sent" {
			t.Fatalf("%s: result %+v", name, res)
		}
		if tw.auths[0] != testSID+":"+testToken || tw.paths[0] != "POST /2010-04-01/Accounts/"+testSID+"/Messages.json" {
			t.Fatalf("%s: request %s with auth %q", name, tw.paths[0], tw.auths[0])
		}
	}
}

func TestSendErrors(t *testing.T) {
	tw := newFakeTwilio(t)
	ch := sender(t, tw.URL, nil)
	twilioErr := func(status, code int, msg string) fakeAnswer {
		return fakeAnswer{status, `{"code": ` + strconv.Itoa(code) + `, "message": "` + msg + `", "more_info": "https://www.twilio.com/docs/errors/` + strconv.Itoa(code) + `", "status": ` + strconv.Itoa(status) + `}`}
	}
	for _, tc := range []struct {
		name      string
		answer    fakeAnswer
		permanent bool
		says      []string
	}{
		{"opted out", twilioErr(400, 21610, "Attempt to send to unsubscribed recipient"), true, []string{"21610", "opted out"}},
		{"invalid number", twilioErr(400, 21211, "Invalid 'To' Phone Number"), true, []string{"21211", "Invalid 'To'"}},
		{"too long", twilioErr(400, 21617, "The concatenated message body exceeds the 1600 character limit"), true, []string{"21617"}},
		{"rate limited", twilioErr(429, 20429, "Too Many Requests"), false, []string{"20429", "retry"}},
		{"server error", twilioErr(503, 20503, "Service unavailable"), false, []string{"20503"}},
		{"proxy error page", fakeAnswer{502, "<html>bad gateway</html>"}, false, []string{"502"}},
		{"not found page", fakeAnswer{404, "<html>not found</html>"}, true, []string{"404"}},
		{"failed on create", fakeAnswer{201, `{"sid": "` + sid(5) + `", "status": "failed", "error_code": 30007, "error_message": "Carrier violation"}`}, true, []string{"30007", "filtered"}},
	} {
		tw.set(func(f *fakeTwilio) { f.answers = []fakeAnswer{tc.answer} })
		_, err := ch.Send(context.Background(), reply("hello"))
		if err == nil {
			t.Errorf("%s: no error", tc.name)
			continue
		}
		if errors.Is(err, connectors.ErrPermanent) != tc.permanent {
			t.Errorf("%s: permanent = %v, want %v (%v)", tc.name, !tc.permanent, tc.permanent, err)
		}
		for _, s := range tc.says {
			if !strings.Contains(err.Error(), s) {
				t.Errorf("%s: error %q does not say %q", tc.name, err, s)
			}
		}
		if strings.Contains(err.Error(), testToken) {
			t.Errorf("%s: error contains the auth token", tc.name)
		}
	}

	// Nothing listening: retryable, and no secret in the error.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := "http://" + l.Addr().String()
	l.Close()
	_, err := sender(t, dead, nil).Send(context.Background(), reply("hello"))
	if err == nil || errors.Is(err, connectors.ErrPermanent) || strings.Contains(err.Error(), testToken) {
		t.Fatalf("unreachable Twilio: %v", err)
	}
	// Wrong credentials: Twilio's 20003, permanent, no secret.
	bad := sender(t, tw.URL, map[string]any{"auth_token": "wrongwrongwrongwrongwrongwrong12"})
	_, err = bad.Send(context.Background(), reply("hello"))
	if !errors.Is(err, connectors.ErrPermanent) || !strings.Contains(err.Error(), "20003") || strings.Contains(err.Error(), "wrongwrong") {
		t.Fatalf("wrong token: %v", err)
	}
	if _, err := bad.Test(context.Background()); err == nil || !strings.Contains(err.Error(), "20003") || strings.Contains(err.Error(), "wrongwrong") {
		t.Fatalf("Test with a wrong token: %v", err)
	}
	tw.set(func(f *fakeTwilio) { f.account = "suspended" })
	if report, err := ch.Test(context.Background()); err == nil || !strings.Contains(err.Error(), "suspended") || !strings.Contains(report, "Support Co") {
		t.Fatalf("Test of a suspended account: %q, %v", report, err)
	}
}

func TestOverlongRepliesAreRefusedNotSplit(t *testing.T) {
	tw := newFakeTwilio(t)
	ch := sender(t, tw.URL, nil)
	for _, tc := range []struct {
		name string
		text string
		ok   bool
	}{
		{"1600 ASCII characters", strings.Repeat("a", 1600), true},
		{"1601 ASCII characters", strings.Repeat("a", 1601), false},
		{"800 emoji (1600 UTF-16 units)", strings.Repeat("😀", 800), true},
		{"801 emoji (1602 UTF-16 units)", strings.Repeat("😀", 801), false},
	} {
		before := len(tw.sent())
		_, err := ch.Send(context.Background(), reply(tc.text))
		if tc.ok != (err == nil) {
			t.Errorf("%s: %v", tc.name, err)
		}
		if !tc.ok && (!errors.Is(err, connectors.ErrPermanent) || !strings.Contains(err.Error(), "at most 1600")) {
			t.Errorf("%s: error %v, want a permanent one saying the limit", tc.name, err)
		}
		if sent := len(tw.sent()) - before; sent != map[bool]int{true: 1, false: 0}[tc.ok] {
			t.Errorf("%s: %d requests made", tc.name, sent)
		}
	}
	short := sender(t, tw.URL, map[string]any{"max_length": 160})
	if _, err := short.Send(context.Background(), reply(strings.Repeat("b", 161))); !errors.Is(err, connectors.ErrPermanent) || !strings.Contains(err.Error(), "at most 160") {
		t.Fatalf("max_length 160: %v", err)
	}
	if _, err := ch.Send(context.Background(), connectors.Outgoing{To: connectors.Identity{Type: connectors.Email, Value: "a@example.com"}, Text: "x"}); !errors.Is(err, connectors.ErrPermanent) {
		t.Fatalf("texting an email identity: %v", err)
	}
}

// A send that hangs is cut off by send_timeout and stays retryable.
func TestSendHonoursTimeout(t *testing.T) {
	block := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-block }))
	defer srv.Close()
	defer close(block)
	ch := sender(t, srv.URL, map[string]any{"send_timeout": "1s"})
	start := time.Now()
	_, err := ch.Send(context.Background(), reply("hello"))
	if err == nil || errors.Is(err, connectors.ErrPermanent) || time.Since(start) > 5*time.Second {
		t.Fatalf("hanging Twilio: %v after %s", err, time.Since(start))
	}
}

// A reply with attachments fails permanently with a clear reason: Twilio
// would need a public media URL, and sending the text alone would drop
// the files without telling anyone.
func TestAttachmentsAreRefusedNotDropped(t *testing.T) {
	f := newFakeTwilio(t)
	ch := sender(t, f.URL, nil)
	out := reply("see the attached invoice")
	out.Attachments = []connectors.Attachment{{Name: "invoice.pdf", ContentType: "application/pdf", Size: 10, SHA256: strings.Repeat("ab", 32)}}
	_, err := ch.Send(context.Background(), out)
	if !errors.Is(err, connectors.ErrPermanent) || !strings.Contains(err.Error(), "attachments are not supported by the sms channel") {
		t.Fatalf("err = %v", err)
	}
	if n := len(f.sent()); n != 0 {
		t.Fatalf("%d messages sent to Twilio", n)
	}
}
