package sms

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// statusForm is a status callback Twilio posts for a sent message.
func statusForm(messageSid, status, errorCode string) url.Values {
	f := url.Values{"MessageSid": {messageSid}, "SmsSid": {messageSid}, "MessageStatus": {status}, "SmsStatus": {status},
		"AccountSid": {testSID}, "From": {testFrom}, "To": {customer}, "ApiVersion": {"2010-04-01"}}
	if errorCode != "" {
		f.Set("ErrorCode", errorCode)
	}
	return f
}

func (h *hub) status(t *testing.T, messageSid, status, errorCode string) {
	t.Helper()
	if code, text, _ := h.post(t, h.webhook()+"/status", statusForm(messageSid, status, errorCode), ""); code != 204 {
		t.Fatalf("status callback %s answered %d %q", status, code, text)
	}
}

// Reply → CreateMessage against Prism (Twilio's spec) → status callbacks
// move the entry queued → sent → delivered.
func TestReplyThroughTwilioSpecAndStatusCallbacks(t *testing.T) {
	mock := twilioMock(t)
	h := newHub(t, withSetting("api_base_url", mock))
	h.run(t)
	h.text(t, sid(1), customer, "Is my order shipped?")
	es := h.waitEntries(t, "phone:"+customer, 1)
	e, err := h.out.Reply(context.Background(), conversationOf(t, es), "alice", "", "Yes, it left today.")
	if err != nil || e.Status != connectors.StatusQueued {
		t.Fatalf("reply: %+v, %v", e, err)
	}
	e = h.waitStatus(t, e.ID, connectors.StatusSent)
	if !validSID(e.ProviderID) {
		t.Fatalf("sent entry has provider id %q", e.ProviderID)
	}
	h.status(t, e.ProviderID, "queued", "") // says nothing new
	h.status(t, e.ProviderID, "sent", "")
	h.status(t, e.ProviderID, "delivered", "")
	e = h.waitStatus(t, e.ID, connectors.StatusDelivered)
	h.status(t, e.ProviderID, "sent", "") // late: never moves back
	time.Sleep(100 * time.Millisecond)
	if e, _ = h.st.GetEntry(context.Background(), e.ID); e.Status != connectors.StatusDelivered {
		t.Fatalf("a late 'sent' moved the entry back to %s", e.Status)
	}
}

func TestStatusCallbackCarriesTwilioErrorCode(t *testing.T) {
	h := newHub(t)
	h.run(t)
	h.text(t, sid(1), customer, "hi")
	conv := conversationOf(t, h.waitEntries(t, "phone:"+customer, 1))
	a, _ := h.out.Reply(context.Background(), conv, "alice", "", "first")
	a = h.waitStatus(t, a.ID, connectors.StatusSent)
	b, _ := h.out.Reply(context.Background(), conv, "alice", "", "second")
	b = h.waitStatus(t, b.ID, connectors.StatusSent)
	if a.ProviderID == b.ProviderID {
		t.Fatal("two sends, one SID")
	}
	h.status(t, a.ProviderID, "undelivered", "30003")
	h.status(t, b.ProviderID, "failed", "30007")
	a = h.waitStatus(t, a.ID, connectors.StatusUndelivered)
	b = h.waitStatus(t, b.ID, connectors.StatusFailed)
	if !strings.Contains(a.StatusDetail, "30003") || !strings.Contains(a.StatusDetail, "unreachable") || !strings.Contains(b.StatusDetail, "30007") {
		t.Fatalf("details: %q / %q", a.StatusDetail, b.StatusDetail)
	}
	// A callback for a message this hub never sent is acknowledged, not an error.
	if code, _, _ := h.post(t, h.webhook()+"/status", statusForm(sid(999), "delivered", ""), ""); code != 204 {
		t.Fatalf("unknown SID: %d", code)
	}
}

// 429 and 5xx are retried with the hub's backoff; after the queue's
// MaxAttempts the reply is failed with the reason (dead letter).
func TestRetriesThenDeadLetter(t *testing.T) {
	h := newHub(t, func(o *hubOpts) { o.queue = store.QueueOptions{MaxAttempts: 3, RetryBackoff: 20 * time.Millisecond} })
	h.run(t)
	h.text(t, sid(1), customer, "hi")
	conv := conversationOf(t, h.waitEntries(t, "phone:"+customer, 1))
	busy := fakeAnswer{429, `{"code": 20429, "message": "Too Many Requests", "status": 429}`}
	h.tw.set(func(f *fakeTwilio) { f.answers = []fakeAnswer{busy, {503, "<html>busy</html>"}} })
	e, _ := h.out.Reply(context.Background(), conv, "alice", "", "eventually")
	e = h.waitStatus(t, e.ID, connectors.StatusSent)
	if n := len(h.tw.sent()); n != 1 {
		t.Fatalf("%d messages sent after two retryable failures, want 1", n)
	}
	h.tw.set(func(f *fakeTwilio) { f.answers = []fakeAnswer{busy, busy, busy, busy, busy} })
	e, _ = h.out.Reply(context.Background(), conv, "alice", "", "never")
	e = h.waitStatus(t, e.ID, connectors.StatusFailed)
	if !strings.Contains(e.StatusDetail, "gave up after 3 attempts") || !strings.Contains(e.StatusDetail, "20429") {
		t.Fatalf("detail %q", e.StatusDetail)
	}
	// A permanent refusal fails at once, with Twilio's reason.
	h.tw.set(func(f *fakeTwilio) {
		f.answers = []fakeAnswer{{400, `{"code": 21610, "message": "Attempt to send to unsubscribed recipient", "status": 400}`}}
	})
	e, _ = h.out.Reply(context.Background(), conv, "alice", "", "opted out at Twilio")
	e = h.waitStatus(t, e.ID, connectors.StatusFailed)
	if !strings.Contains(e.StatusDetail, "21610") {
		t.Fatalf("detail %q", e.StatusDetail)
	}
}

// STOP records the opt-out: the next reply is refused with a clear error
// and nothing reaches Twilio; START allows replies again; HELP is kept as a
// message with a flag and changes nothing.
func TestStopBlocksRepliesStartAllows(t *testing.T) {
	h := newHub(t)
	h.run(t)
	h.text(t, sid(1), customer, "hello")
	conv := conversationOf(t, h.waitEntries(t, "phone:"+customer, 1))
	ok, err := h.out.Reply(context.Background(), conv, "alice", "", "hi there")
	if err != nil {
		t.Fatal(err)
	}
	h.waitStatus(t, ok.ID, connectors.StatusSent)

	h.text(t, sid(2), customer, " Stop ")
	es := h.waitEntries(t, "phone:"+customer, 3)
	if !has(es[2].Flags, "consent-revoked:messages") {
		t.Fatalf("STOP entry flags = %q", es[2].Flags)
	}
	_, err = h.out.Reply(context.Background(), conv, "alice", "", "are you sure?")
	if !errors.Is(err, router.ErrNoConsent) || !strings.Contains(err.Error(), "opted out") {
		t.Fatalf("reply after STOP: %v, want ErrNoConsent", err)
	}
	if n := len(h.tw.sent()); n != 1 {
		t.Fatalf("%d messages reached Twilio, want only the one before STOP", n)
	}
	cs, _ := h.st.ListConsents(context.Background(), es[0].CustomerID)
	if len(cs) == 0 || cs[len(cs)-1].Granted || cs[len(cs)-1].Channel != channelName || cs[len(cs)-1].Text != "Stop" {
		t.Fatalf("consents = %+v", cs)
	}

	h.text(t, sid(3), customer, "HELP")
	es = h.waitEntries(t, "phone:"+customer, 4)
	if !has(es[3].Flags, FlagHelp) {
		t.Fatalf("HELP entry flags = %q", es[3].Flags)
	}
	if _, err = h.out.Reply(context.Background(), conv, "alice", "", "still?"); !errors.Is(err, router.ErrNoConsent) {
		t.Fatalf("HELP changed consent: %v", err)
	}

	h.text(t, sid(4), customer, "start")
	h.waitEntries(t, "phone:"+customer, 5)
	e, err := h.out.Reply(context.Background(), conv, "alice", "", "welcome back")
	if err != nil {
		t.Fatalf("reply after START: %v", err)
	}
	h.waitStatus(t, e.ID, connectors.StatusSent)
	if got := h.tw.sent(); len(got) != 2 || got[1].Get("Body") != "welcome back" {
		t.Fatalf("sent after START: %v", got)
	}
}

// A customer who wrote by email, and whose number a verified source then
// linked to that email, lands on the same timeline when texting.
func TestTextFromLinkedNumberJoinsCustomer(t *testing.T) {
	h := newHub(t)
	h.run(t)
	deliver := func(pid, text string, ids ...connectors.Identity) {
		if _, err := h.in.Deliver(context.Background(), connectors.Message{Channel: "mail", ProviderID: pid, Text: text, Identities: ids}); err != nil {
			t.Fatal(err)
		}
	}
	email := connectors.Identity{Type: connectors.Email, Value: "ann@example.com"}
	deliver("e1", "my order is late (by email)", email)
	h.waitEntries(t, "email:ann@example.com", 1)
	deliver("crm-1", "CRM: Ann's mobile", email, connectors.Identity{Type: connectors.Phone, Value: customer})
	h.waitEntries(t, "email:ann@example.com", 2)
	h.text(t, sid(1), customer, "texting now")
	es := h.waitEntries(t, "email:ann@example.com", 3)
	if got := strings.Join(texts(es), "|"); got != "my order is late (by email)|CRM: Ann's mobile|texting now" {
		t.Fatalf("timeline = %s", got)
	}
	byPhone := h.entries(t, "phone:"+customer)
	if strings.Join(texts(byPhone), "|") != strings.Join(texts(es), "|") {
		t.Fatalf("phone timeline differs: %q", texts(byPhone))
	}
}

func has(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// mediaURL is where Twilio keeps media item me of message msid.
func mediaURL(msid, me string) string {
	return "https://api.twilio.com/2010-04-01/Accounts/" + testSID + "/Messages/" + msid + "/Media/" + me
}

func TestMMSMediaIsKeptOrRecorded(t *testing.T) {
	h := newHub(t, withSetting("media", map[string]any{"max_bytes": 1000, "attempts": 3}))
	h.run(t)
	png := append([]byte("\x89PNG\r\n\x1a\n"), []byte(strings.Repeat("p", 200))...)
	var flaky, broken atomic.Int32
	serve := func(ct string, body []byte) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", ct)
			w.Write(body)
		}
	}
	h.tw.set(func(f *fakeTwilio) {
		f.media["ME01"] = serve("image/png", png)
		f.media["ME02"] = func(w http.ResponseWriter, r *http.Request) {
			if flaky.Add(1) < 3 {
				http.Error(w, "try later", 503)
				return
			}
			serve("image/jpeg", []byte("jpeg bytes"))(w, r)
		}
		f.media["ME03"] = func(w http.ResponseWriter, r *http.Request) { broken.Add(1); http.Error(w, "gone wrong", 500) }
		f.media["ME04"] = serve("image/svg+xml", []byte("<svg onload=alert(1)>"))
		f.media["ME05"] = serve("image/png", []byte(strings.Repeat("b", 5000)))
		f.media["ME06"] = serve("text/html", []byte("<html>"))
	})
	m := "MM" + strings.Repeat("a", 32)
	form := smsForm(m, customer, "photos attached")
	refs := []struct{ url, ct string }{
		{mediaURL(m, "ME01"), "image/png"},
		{mediaURL(m, "ME02"), "image/jpeg"},
		{mediaURL(m, "ME03"), "image/jpeg"},
		{mediaURL(m, "ME04"), "image/svg+xml"},
		{mediaURL(m, "ME05"), "image/png"},
		{"https://evil.example/steal/ME07", "image/png"},
		{mediaURL(m, "ME06"), "image/png"}, // declared png, served as HTML
	}
	form.Set("NumMedia", strconv.Itoa(len(refs)))
	for i, r := range refs {
		form.Set("MediaUrl"+strconv.Itoa(i), r.url)
		form.Set("MediaContentType"+strconv.Itoa(i), r.ct)
	}
	code, text, _ := h.post(t, h.webhook(), form, "")
	if code != 200 || text != emptyTwiML {
		t.Fatalf("webhook: %d %q", code, text)
	}
	es := h.waitEntries(t, "phone:"+customer, 1)
	if es[0].Text != "photos attached" || len(es[0].Attachments) != len(refs) {
		t.Fatalf("entry: %q with %d attachments", es[0].Text, len(es[0].Attachments))
	}
	at := es[0].Attachments
	// Kept: content readable from the blob store under its hash.
	for i, want := range map[int][]byte{0: png, 1: []byte("jpeg bytes")} {
		a := at[i]
		if a.Omitted != "" || a.SHA256 == "" || a.Size != int64(len(want)) {
			t.Fatalf("attachment %d = %+v", i, a)
		}
		rc, err := h.blobs.Get(context.Background(), a.SHA256)
		if err != nil {
			t.Fatal(err)
		}
		got, _ := io.ReadAll(rc)
		rc.Close()
		if string(got) != string(want) {
			t.Fatalf("attachment %d content differs", i)
		}
	}
	if at[0].Name != "ME01.png" || at[0].ContentType != "image/png" || at[1].ContentType != "image/jpeg" {
		t.Fatalf("names/types: %+v / %+v", at[0], at[1])
	}
	for i, says := range map[int]string{2: "fetch failed after 3 attempts", 3: "image/svg+xml is not allowed",
		4: "over the limit of 1000", 5: "not a Twilio https URL", 6: "text/html is not allowed"} {
		if at[i].SHA256 != "" || !strings.Contains(at[i].Omitted, says) {
			t.Errorf("attachment %d: %+v, want omitted saying %q", i, at[i], says)
		}
	}
	if broken.Load() != 3 || flaky.Load() != 3 {
		t.Errorf("attempts: broken %d (want 3), flaky %d (want 3)", broken.Load(), flaky.Load())
	}
	if n := h.tw.hitsOf("/2010-04-01/Accounts/" + testSID + "/Messages/" + m + "/Media/ME04"); n != 0 {
		t.Errorf("a disallowed type was fetched %d times", n)
	}
	for _, a := range h.tw.auths {
		if a != testSID+":"+testToken {
			t.Errorf("media fetched with credentials %q", a)
		}
	}
}

// Media that never answers does not hold the text back beyond the budget.
func TestSlowMediaNeverBlocksText(t *testing.T) {
	h := newHub(t, withSetting("media", map[string]any{"timeout": "300ms"}))
	h.run(t)
	release := make(chan struct{})
	defer close(release)
	h.tw.set(func(f *fakeTwilio) {
		f.media["ME01"] = func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}
	})
	m := "MM" + strings.Repeat("b", 32)
	form := smsForm(m, customer, "see picture")
	form.Set("NumMedia", "1")
	form.Set("MediaUrl0", mediaURL(m, "ME01"))
	form.Set("MediaContentType0", "image/jpeg")
	start := time.Now()
	if code, _, _ := h.post(t, h.webhook(), form, ""); code != 200 {
		t.Fatalf("webhook: %d", code)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Fatalf("webhook took %s", d)
	}
	es := h.waitEntries(t, "phone:"+customer, 1)
	if es[0].Text != "see picture" || len(es[0].Attachments) != 1 || !strings.Contains(es[0].Attachments[0].Omitted, "fetch failed") {
		t.Fatalf("entry = %q %+v", es[0].Text, es[0].Attachments)
	}
}
