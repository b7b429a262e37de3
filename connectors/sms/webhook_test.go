package sms

import (
	"bytes"
	"context"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"

	twclient "github.com/twilio/twilio-go/client"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// Twilio's documented example (Security: "Validating signatures"): auth
// token 12345, this URL and these parameters give this signature.
const (
	docToken     = "12345"
	docURL       = "https://mycompany.com/myapp.php?foo=1&bar=2"
	docSignature = "GvWf1cFY/Q7PnoempGyD5oXAezc="
)

var docParams = url.Values{"CallSid": {"CA1234567890ABCDE"}, "Caller": {"+14158675310"}, "Digits": {"1234"},
	"From": {"+14158675310"}, "To": {"+18005551212"}}

func TestSignatureKnownVectors(t *testing.T) {
	// Our standard-library signer reproduces Twilio's documented value...
	if got := sign(docToken, docURL, docParams); got != docSignature {
		t.Fatalf("sign() = %q, Twilio's documentation says %q", got, docSignature)
	}
	// ...and twilio-go's validator, which the channel uses, accepts it.
	v := twclient.NewRequestValidator(docToken)
	params := map[string]string{}
	for k := range docParams {
		params[k] = docParams.Get(k)
	}
	if !v.Validate(docURL, params, docSignature) {
		t.Fatal("twilio-go rejects Twilio's documented example")
	}
	params["Digits"] = "1235"
	if v.Validate(docURL, params, docSignature) {
		t.Fatal("twilio-go accepts the documented signature for other parameters")
	}
}

// An SMS webhook exactly as Twilio posts it (testdata/inbound_sms.form),
// with a signature computed outside Go (Python's hmac, see the file's
// companion .sig) for the channel's public URL behind a proxy.
func TestWebhookAcceptsIndependentlySignedRequest(t *testing.T) {
	h := newHub(t)
	body, err := os.ReadFile("testdata/inbound_sms.form")
	if err != nil {
		t.Fatal(err)
	}
	sig, err := os.ReadFile("testdata/inbound_sms.sig")
	if err != nil {
		t.Fatal(err)
	}
	h.run(t)
	code, text, _ := h.raw(t, h.webhook(), strings.TrimSpace(string(body)), strings.TrimSpace(string(sig)))
	if code != 200 || text != emptyTwiML {
		t.Fatalf("webhook answered %d %q", code, text)
	}
	es := h.waitEntries(t, "phone:+14155550123", 1)
	if es[0].Text != "Hi, my order #1234 has not arrived & I need help" || es[0].ProviderID != "SM0123456789abcdef0123456789abcdef" {
		t.Fatalf("entry = %+v", es[0])
	}
}

func TestInboundSMSLandsOnTimelineOnce(t *testing.T) {
	h := newHub(t)
	h.run(t)
	h.text(t, sid(1), "+1 (415) 555-0123", "Where is my parcel?")
	es := h.waitEntries(t, "phone:"+customer, 1)
	e := es[0]
	if e.Text != "Where is my parcel?" || e.Channel != channelName || e.Direction != connectors.Inbound || e.ProviderID != sid(1) {
		t.Fatalf("entry = %+v", e)
	}
	if e.Sender == nil || *e.Sender != (connectors.Identity{Type: connectors.Phone, Value: customer, Verified: true}) {
		t.Fatalf("sender = %+v, want the verified E.164 number", e.Sender)
	}
	if e.ID != connectors.MessageID(channelName, sid(1)) {
		t.Fatalf("entry id %s is not derived from the MessageSid", e.ID)
	}
	if len(e.Fields) != 1 || e.Fields[0] != (connectors.Field{Name: "To", Value: testFrom}) {
		t.Fatalf("fields = %+v", e.Fields)
	}

	// Twilio re-posting the same message, three times in a row and then
	// concurrently: still one entry.
	for i := 0; i < 3; i++ {
		h.text(t, sid(1), customer, "Where is my parcel?")
	}
	var wg sync.WaitGroup
	for i := 0; i < 3; i++ {
		wg.Add(1)
		go func() { defer wg.Done(); h.text(t, sid(1), customer, "Where is my parcel?") }()
	}
	wg.Wait()
	h.waitEntries(t, "phone:"+customer, 1)

	// A second message joins the same conversation (one per number).
	h.text(t, sid(2), customer, "Hello?")
	es = h.waitEntries(t, "phone:"+customer, 2)
	if es[1].ConversationID != es[0].ConversationID {
		t.Fatalf("second SMS opened conversation %s, first was in %s", es[1].ConversationID, es[0].ConversationID)
	}
}

func TestBadWebhooksAreRefusedAndStoreNothing(t *testing.T) {
	h := newHub(t) // no router: anything accepted would wait in the ingest queue
	good := smsForm(sid(7), customer, "legit")
	signed := func(f url.Values, u string) string { return sign(testToken, u, f) }
	wh := testPublic + h.webhook()
	tampered := smsForm(sid(7), customer, "legit, but changed")
	big := smsForm(sid(8), customer, strings.Repeat("x", 2<<20))
	repeated := good.Encode() + "&Body=second"
	cases := []struct {
		name, path, body, sig string
		chunked               bool
		want                  int
	}{
		{"tampered body", h.webhook(), tampered.Encode(), signed(good, wh), false, 403},
		{"signed for another URL (the proxy's inside address)", h.webhook(), good.Encode(), signed(good, h.web.URL+h.webhook()), false, 403},
		{"signed for another channel", h.webhook(), good.Encode(), signed(good, testPublic+"/webhooks/twilio/other"), false, 403},
		{"signed with another token", h.webhook(), good.Encode(), sign("0000feedf00dfeedf00dfeedf00dfeed", wh, good), false, 403},
		{"missing signature", h.webhook(), good.Encode(), "", false, 403},
		{"garbage signature", h.webhook(), good.Encode(), "not base64 at all", false, 403},
		{"repeated parameter", h.webhook(), repeated, signed(good, wh), false, 403},
		{"message webhook signed for the status URL", h.webhook(), good.Encode(), signed(good, wh+"/status"), false, 403},
		{"2 MB body", h.webhook(), big.Encode(), signed(big, wh), false, 413},
		{"2 MB body without Content-Length", h.webhook(), big.Encode(), signed(big, wh), true, 413},
		{"status callback with a tampered status", h.webhook() + "/status", url.Values{"MessageSid": {sid(9)}, "MessageStatus": {"failed"}}.Encode(),
			signed(url.Values{"MessageSid": {sid(9)}, "MessageStatus": {"delivered"}}, wh+"/status"), false, 403},
	}
	for _, tc := range cases {
		var rd = strings.NewReader(tc.body)
		req, _ := http.NewRequest("POST", h.web.URL+tc.path, rd)
		if tc.chunked {
			req, _ = http.NewRequest("POST", h.web.URL+tc.path, struct{ *strings.Reader }{rd})
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		if tc.sig != "" {
			req.Header.Set("X-Twilio-Signature", tc.sig)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		resp.Body.Close()
		if resp.StatusCode != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, resp.StatusCode, tc.want)
		}
	}
	// Signed, but not something the hub can keep.
	for name, f := range map[string]url.Values{
		"no MessageSid":        {"From": {customer}, "Body": {"x"}},
		"bad MessageSid":       {"MessageSid": {"SM1"}, "From": {customer}, "Body": {"x"}},
		"short code sender":    {"MessageSid": {sid(10)}, "From": {"12345"}, "Body": {"x"}},
		"impossible number":    {"MessageSid": {sid(11)}, "From": {"+1"}, "Body": {"x"}},
		"too many media":       {"MessageSid": {sid(12)}, "From": {customer}, "NumMedia": {"11"}},
		"media URL missing":    {"MessageSid": {sid(13)}, "From": {customer}, "NumMedia": {"1"}},
		"invalid UTF-8 text":   {"MessageSid": {sid(14)}, "From": {customer}, "Body": {"\xff\xfe"}},
		"status without a sid": {"MessageStatus": {"delivered"}},
	} {
		path := h.webhook()
		if name == "status without a sid" {
			path += "/status"
		}
		if code, text, _ := h.post(t, path, f, ""); code != 400 || text == "" {
			t.Errorf("%s: %d %q, want 400 with a reason", name, code, text)
		}
	}
	req, _ := http.NewRequest("POST", h.web.URL+h.webhook(), bytes.NewReader([]byte(`{"MessageSid":"x"}`)))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Twilio-Signature", "x")
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 415 {
		t.Errorf("JSON body: %v %v, want 415", resp.StatusCode, err)
	}
	if n := h.queued(t); n != 0 {
		t.Fatalf("%d messages were queued by refused webhooks", n)
	}
	if _, err := h.st.LookupIdentity(context.Background(), connectors.Phone, customer); err != store.ErrNotFound {
		t.Fatalf("a customer exists after refused webhooks: %v", err)
	}
}

// A webhook is answered only after Deliver returned: a sink that fails
// makes Twilio use its fallback URL (503), an off channel is 404.
func TestWebhookAnswersAfterDeliver(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want int
	}{
		{nil, 200},
		{connectors.ErrChannelOff, 404},
		{context.DeadlineExceeded, 503},
	} {
		var got []connectors.Message
		s, _ := LoadSettings(testChannel(nil), "")
		ch, err := NewWithSettings(channelName, s, connectors.Env{Sink: connectors.SinkFunc(func(ctx context.Context, m connectors.Message) (string, error) {
			got = append(got, m)
			return "id", tc.err
		})})
		if err != nil {
			t.Fatal(err)
		}
		form := smsForm(sid(1), customer, "hi")
		rec := recordPost(ch, "/webhooks/twilio/"+channelName, form.Encode(), sign(testToken, ch.WebhookURL(), form))
		if rec.Code != tc.want || len(got) != 1 {
			t.Errorf("sink error %v: answered %d after %d deliveries, want %d after 1", tc.err, rec.Code, len(got), tc.want)
		}
		if tc.want == 200 && rec.Body.String() != emptyTwiML {
			t.Errorf("answer %q, want empty TwiML", rec.Body.String())
		}
	}
}

func TestKeywords(t *testing.T) {
	for _, tc := range []struct {
		body, optOutType string
		want             int
	}{
		{"STOP", "", keywordStop}, {"stop", "", keywordStop}, {"  Stop. ", "", keywordStop}, {"STOPALL", "", keywordStop},
		{"unsubscribe", "", keywordStop}, {"Cancel", "", keywordStop}, {"END", "", keywordStop}, {"quit!", "", keywordStop},
		{"START", "", keywordStart}, {"unstop", "", keywordStart}, {"Yes", "", keywordStart},
		{"HELP", "", keywordHelp}, {"info", "", keywordHelp},
		{"LOPETA", "", keywordStop}, {"lopeta.", "", keywordStop}, {"Aloita", "", keywordStart},
		{"please stop", "", keywordNone}, {"stop it", "", keywordNone}, {"STOPPED", "", keywordNone}, {"", "", keywordNone},
		{"Arrêtez", "STOP", keywordStop}, {"Ja", "START", keywordStart}, {"Hilfe", "HELP", keywordHelp},
	} {
		if got := keyword(tc.body, tc.optOutType); got != tc.want {
			t.Errorf("keyword(%q, %q) = %d, want %d", tc.body, tc.optOutType, got, tc.want)
		}
	}
}

func TestValidSIDAndE164(t *testing.T) {
	for s, want := range map[string]bool{
		"SM0123456789abcdef0123456789abcdef": true, "MM0123456789ABCDEF0123456789abcdef": true,
		"SM0123456789abcdef0123456789abcde": false, "SM0123456789abcdef0123456789abcdeg": false,
		"AC0123456789abcdef0123456789abcdef": false, "": false, "MS0123456789abcdef0123456789abcdef": false,
	} {
		if validSID(s) != want {
			t.Errorf("validSID(%q) = %v", s, !want)
		}
	}
	for s, want := range map[string]bool{"+14155550123": true, "+3584012345": true, "+1415555012": true,
		"14155550123": false, "+0415555": false, "+1 415": false, "+1234567890123456": false, "+123456": false} {
		if plainE164(s) != want {
			t.Errorf("plainE164(%q) = %v", s, !want)
		}
	}
}
