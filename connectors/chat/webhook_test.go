package chat

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

func discardLogger() *slog.Logger { return slog.New(slog.DiscardHandler) }

const customerKey = "slack:" + testTeam + ":U0CUSTOM1"

func TestSignedMessageLandsOnTimelineAndThreadReplyJoinsIt(t *testing.T) {
	h := newHub(t)
	h.slack.users["U0CUSTOM1"] = slackUser{Display: "Mia K", Real: "Mia Korhonen"}
	h.run(t)

	h.mustSend(t, ev("Ev001", map[string]any{"text": "Our export is broken &amp; <@U0HUBBOT1> please help", "ts": "1760000000.000100"}))
	es := h.waitEntries(t, customerKey, 1)
	e := es[0]
	if e.Text != "Our export is broken & @U0HUBBOT1 please help" || e.Channel != channelName || e.Direction != connectors.Inbound {
		t.Fatalf("entry = %+v", e)
	}
	if e.ProviderID != "C0SUPPORT:1760000000.000100" || e.SenderName != "Mia K" || !e.OccurredAt.Equal(time.Unix(1760000000, 100000)) {
		t.Fatalf("entry = %+v", e)
	}
	if e.Sender == nil || *e.Sender != (connectors.Identity{Type: "slack", Value: testTeam + ":U0CUSTOM1", Verified: true}) {
		t.Fatalf("sender = %+v", e.Sender)
	}
	if !slices.Contains(e.Fields, connectors.Field{Name: "avatar", Value: "https://avatars.example/U0CUSTOM1.png"}) {
		t.Fatalf("fields = %+v", e.Fields)
	}

	// A reply in the message's thread joins its conversation; a new
	// top-level message in the channel opens another one.
	h.mustSend(t, ev("Ev002", map[string]any{"text": "any news?", "ts": "1760000060.000200", "thread_ts": "1760000000.000100"}))
	h.mustSend(t, ev("Ev003", map[string]any{"text": "different topic", "ts": "1760000120.000300"}))
	es = h.waitEntries(t, customerKey, 3)
	if got := strings.Join(texts(es), "|"); got != "Our export is broken & @U0HUBBOT1 please help|any news?|different topic" {
		t.Fatalf("timeline = %s", got)
	}
	if es[1].ConversationID != es[0].ConversationID {
		t.Fatal("thread reply opened a new conversation")
	}
	if es[2].ConversationID == es[0].ConversationID {
		t.Fatal("a new top-level message joined the old thread's conversation")
	}
	c, err := h.st.GetCustomer(context.Background(), es[0].CustomerID)
	if err != nil || c.Name != "Mia K" {
		t.Fatalf("customer = %+v, %v", c, err)
	}
}

func TestRetriesOfOneEventGiveOneEntry(t *testing.T) {
	h := newHub(t)
	h.run(t)
	body := ev("Ev0RETRY", map[string]any{"text": "once only"})
	h.mustSend(t, body)
	for n := 1; n <= 3; n++ {
		h.mustSend(t, body, "X-Slack-Retry-Num", strconv.Itoa(n), "X-Slack-Retry-Reason", "http_timeout")
	}
	// The same message delivered again as another event (an app_mention of
	// the same channel:ts, or Socket Mode next to the Events API).
	h.mustSend(t, ev("Ev0OTHER", map[string]any{"type": "app_mention", "text": "once only"}))
	h.waitEntries(t, customerKey, 1)
	time.Sleep(200 * time.Millisecond) // let any stray duplicate be processed
	if es := h.waitEntries(t, customerKey, 1); es[0].Text != "once only" {
		t.Fatalf("entries = %q", texts(es))
	}
}

func TestRejectedRequestsStoreNothing(t *testing.T) {
	h := newHub(t) // no router: whatever is accepted stays visible in the queue
	good := ev("Ev0GOOD", nil)
	now := time.Now()
	post := func(body []byte, hdr map[string]string) int {
		req, _ := http.NewRequest("POST", h.url, bytes.NewReader(body))
		for k, v := range hdr {
			req.Header.Set(k, v)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}
	ts := strconv.FormatInt(now.Unix(), 10)
	stale := now.Add(-6 * time.Minute).Unix()
	future := now.Add(6 * time.Minute).Unix()
	big := ev("Ev0BIG", map[string]any{"text": strings.Repeat("x", int(DefaultMaxBodyBytes))})
	for _, tc := range []struct {
		name string
		body []byte
		hdr  map[string]string
		want int
	}{
		{"no signature", good, map[string]string{"X-Slack-Request-Timestamp": ts}, 401},
		{"signed with another secret", good, map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign("not-the-secret", now.Unix(), good)}, 401},
		{"body changed after signing", ev("Ev0GOOD", map[string]any{"text": "tampered"}), map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(testSecret, now.Unix(), good)}, 401},
		{"timestamp not the signed one", good, map[string]string{"X-Slack-Request-Timestamp": strconv.FormatInt(now.Unix()-1, 10), "X-Slack-Signature": sign(testSecret, now.Unix(), good)}, 401},
		{"stale timestamp (replay)", good, map[string]string{"X-Slack-Request-Timestamp": strconv.FormatInt(stale, 10), "X-Slack-Signature": sign(testSecret, stale, good)}, 401},
		{"timestamp from the future", good, map[string]string{"X-Slack-Request-Timestamp": strconv.FormatInt(future, 10), "X-Slack-Signature": sign(testSecret, future, good)}, 401},
		{"v1 signature", good, map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": "v1=" + sign(testSecret, now.Unix(), good)[3:]}, 401},
		{"body over the limit", big, map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(testSecret, now.Unix(), big)}, 413},
	} {
		if got := post(tc.body, tc.hdr); got != tc.want {
			t.Errorf("%s: status %d, want %d", tc.name, got, tc.want)
		}
		if n := h.queued(t); n != 0 {
			t.Fatalf("%s: %d messages accepted", tc.name, n)
		}
	}
	// Over the limit without a Content-Length (chunked): refused while reading.
	req, _ := http.NewRequest("POST", h.url, struct{ *bytes.Reader }{bytes.NewReader(big)})
	req.ContentLength = -1
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", sign(testSecret, now.Unix(), big))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 || h.queued(t) != 0 {
		t.Fatalf("chunked oversize body: %d, %d queued", resp.StatusCode, h.queued(t))
	}
	// Signed but not JSON: 400, nothing stored.
	if code, _ := h.send(t, []byte("payload=%7B%7D"), time.Time{}); code != 400 || h.queued(t) != 0 {
		t.Fatalf("form body: %d", code)
	}
	// The same request correctly signed is accepted: the checks above could fail.
	if code := post(good, map[string]string{"X-Slack-Request-Timestamp": ts, "X-Slack-Signature": sign(testSecret, now.Unix(), good)}); code != 200 || h.queued(t) != 1 {
		t.Fatalf("good request: %d, %d queued", code, h.queued(t))
	}
}

func TestURLVerificationEchoesChallenge(t *testing.T) {
	h := newHub(t)
	code, text := h.send(t, []byte(`{"token":"x","challenge":"3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P","type":"url_verification"}`), time.Time{})
	if code != 200 || text != "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P" {
		t.Fatalf("%d %q", code, text)
	}
	// Unsigned, the challenge is not answered.
	resp, err := http.Post(h.url, "application/json", strings.NewReader(`{"challenge":"c","type":"url_verification"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("unsigned challenge: %d", resp.StatusCode)
	}
}

func TestSlackUserWithEmailJoinsEmailCustomer(t *testing.T) {
	h := newHub(t)
	h.slack.users["U0CUSTOM1"] = slackUser{Email: "Mia.Korhonen@Example.com", Display: "Mia"}
	h.run(t)
	// Mia wrote by email before (a channel that verifies her address).
	if _, err := h.in.Deliver(context.Background(), connectors.Message{Channel: "mail", ProviderID: "mail-1",
		Identities: []connectors.Identity{{Type: "email", Value: "mia.korhonen@example.com", Verified: true}},
		Text:       "hello by email", OccurredAt: time.Unix(1750000000, 0)}); err != nil {
		t.Fatal(err)
	}
	before := h.waitEntries(t, "email:mia.korhonen@example.com", 1)

	h.mustSend(t, ev("Ev0MIA", map[string]any{"text": "hello from slack"}))
	es := h.waitEntries(t, "email:mia.korhonen@example.com", 2)
	if got := strings.Join(texts(es), "|"); got != "hello by email|hello from slack" {
		t.Fatalf("timeline = %s", got)
	}
	bySlack := h.entries(t, customerKey)
	if len(bySlack) != 2 || bySlack[0].ID != before[0].ID {
		t.Fatalf("slack identity resolves to another timeline: %q", texts(bySlack))
	}
	// The display name and avatar are kept on the customer.
	c, err := timeline.Root(context.Background(), h.st, bySlack[1].CustomerID)
	if err != nil || c.Name != "Mia" || c.AvatarURL != "https://avatars.example/U0CUSTOM1.png" {
		t.Fatalf("customer = %+v, %v; want Slack's display name and avatar", c, err)
	}
	// The profile email is verified, so the timelines joined without a
	// suggestion waiting for an agent.
	if s, _ := h.st.ListSuggestions(context.Background(), 10); len(s) != 0 {
		t.Fatalf("suggestions = %+v", s)
	}
}

func TestBotAndOwnAppMessagesAreIgnored(t *testing.T) {
	h := newHub(t)
	h.slack.users["U0BOTUSR1"] = slackUser{Display: "Some integration", IsBot: true}
	for name, body := range map[string][]byte{
		"bot_message subtype":     ev("Ev0B1", map[string]any{"subtype": "bot_message", "bot_id": "B0OTHER", "user": nil, "username": "CI"}),
		"message with bot_id":     ev("Ev0B2", map[string]any{"bot_id": "B0OTHER", "user": "U0CUSTOM1"}),
		"our own reply":           ev("Ev0B3", map[string]any{"bot_id": "B0HUBBOT1", "app_id": "A0APP", "user": testBotUser, "thread_ts": "1760000000.000100"}),
		"own bot user, no bot_id": ev("Ev0B4", map[string]any{"user": testBotUser}),
		"a bot user":              ev("Ev0B5", map[string]any{"user": "U0BOTUSR1"}),
		"edit of a bot message": ev("Ev0B6", map[string]any{"subtype": "message_changed", "user": nil,
			"message":          map[string]any{"type": "message", "bot_id": "B0HUBBOT1", "user": testBotUser, "text": "v2", "ts": "1760000000.000100", "edited": map[string]any{"user": testBotUser, "ts": "1760000005.000000"}},
			"previous_message": map[string]any{"type": "message", "bot_id": "B0HUBBOT1", "user": testBotUser, "text": "v1", "ts": "1760000000.000100"}}),
		"channel join": ev("Ev0B7", map[string]any{"subtype": "channel_join", "text": "<@U0CUSTOM1> has joined the channel"}),
	} {
		if code, text := h.send(t, body, time.Time{}); code != 200 {
			t.Fatalf("%s: %d %s", name, code, text)
		}
		if n := h.queued(t); n != 0 {
			t.Fatalf("%s: stored (%d queued)", name, n)
		}
	}
	// A person's message in the same shape is stored: the filter is not "everything".
	h.mustSend(t, ev("Ev0PERSON", nil))
	if n := h.queued(t); n != 1 {
		t.Fatalf("person's message: %d queued", n)
	}
}

func TestEditsDeletesAndFilesAreRecorded(t *testing.T) {
	h := newHub(t)
	h.run(t)
	h.mustSend(t, ev("Ev0ORIG", map[string]any{"text": "the invoice is wrong", "ts": "1760000000.000100"}))
	h.waitEntries(t, customerKey, 1)
	h.mustSend(t, ev("Ev0EDIT", map[string]any{"subtype": "message_changed", "hidden": true, "user": nil, "text": nil, "ts": "1760000030.000900",
		"message":          map[string]any{"type": "message", "user": "U0CUSTOM1", "team": testTeam, "text": "the invoice 42 is wrong", "ts": "1760000000.000100", "edited": map[string]any{"user": "U0CUSTOM1", "ts": "1760000030.000000"}},
		"previous_message": map[string]any{"type": "message", "user": "U0CUSTOM1", "text": "the invoice is wrong", "ts": "1760000000.000100"}}))
	// An unfurl (no edit by the person) is not recorded.
	h.mustSend(t, ev("Ev0UNFURL", map[string]any{"subtype": "message_changed", "hidden": true, "user": nil, "ts": "1760000031.000900",
		"message":          map[string]any{"type": "message", "user": "U0CUSTOM1", "text": "the invoice 42 is wrong", "ts": "1760000000.000100", "attachments": []any{map[string]any{"title": "x"}}},
		"previous_message": map[string]any{"type": "message", "user": "U0CUSTOM1", "text": "the invoice 42 is wrong", "ts": "1760000000.000100"}}))
	h.mustSend(t, ev("Ev0FILE", map[string]any{"subtype": "file_share", "text": "screenshot", "ts": "1760000040.000100", "thread_ts": "1760000000.000100",
		"files": []any{map[string]any{"id": "F0FILE1", "name": "invoice.png", "mimetype": "image/png", "size": 48213, "url_private": "https://files.slack.com/x"}}}))
	h.mustSend(t, ev("Ev0DEL", map[string]any{"subtype": "message_deleted", "hidden": true, "user": nil, "text": nil, "ts": "1760000050.000100", "deleted_ts": "1760000040.000100",
		"previous_message": map[string]any{"type": "message", "user": "U0CUSTOM1", "text": "screenshot", "ts": "1760000040.000100", "thread_ts": "1760000000.000100"}}))
	es := h.waitEntries(t, customerKey, 4)
	orig, edit, file, del := es[0], es[1], es[2], es[3]
	if orig.Text != "the invoice is wrong" || len(orig.Flags) != 0 {
		t.Fatalf("original was changed: %+v", orig)
	}
	if edit.Text != "Edited in Slack: the invoice 42 is wrong" || !slices.Equal(edit.Flags, []string{FlagEdit}) ||
		edit.ProviderID != "C0SUPPORT:1760000000.000100:edit:1760000030.000000" || edit.ConversationID != orig.ConversationID {
		t.Fatalf("edit = %+v", edit)
	}
	if len(file.Attachments) != 1 || file.Attachments[0] != (connectors.Attachment{Name: "invoice.png", ContentType: "image/png", Size: 48213, Omitted: "not downloaded (Slack file F0FILE1)"}) {
		t.Fatalf("file = %+v", file.Attachments)
	}
	if !slices.Equal(del.Flags, []string{FlagDelete}) || del.ConversationID != orig.ConversationID ||
		!slices.Contains(del.Fields, connectors.Field{Name: "deleted_message", Value: "C0SUPPORT:1760000040.000100"}) {
		t.Fatalf("delete = %+v", del)
	}
}

func TestDirectMessagesAreOneConversation(t *testing.T) {
	h := newHub(t)
	h.run(t)
	h.mustSend(t, ev("Ev0DM1", map[string]any{"channel": "D0DIRECT1", "channel_type": "im", "text": "hi", "ts": "1760000000.000100"}))
	// One after the other, as a person writes: the router opens one
	// conversation per thread key for a customer it already knows.
	h.waitEntries(t, customerKey, 1)
	h.mustSend(t, ev("Ev0DM2", map[string]any{"channel": "D0DIRECT1", "channel_type": "im", "text": "still there?", "ts": "1760000100.000100"}))
	es := h.waitEntries(t, customerKey, 2)
	if es[0].ConversationID != es[1].ConversationID {
		t.Fatal("two DMs opened two conversations")
	}
}

func TestDeliverFailureIsA500SoSlackRetries(t *testing.T) {
	h := newHub(t)
	// The store fails under the sink: the webhook must not acknowledge.
	h.st.Close()
	code, _ := h.send(t, ev("Ev0FAIL", nil), time.Time{})
	if code != 500 {
		t.Fatalf("status %d, want 500", code)
	}
}

func TestProfileIsCachedAndRefreshed(t *testing.T) {
	h := newHub(t)
	now := time.Unix(1760000000, 0)
	clock := store.NewFakeClock(now)
	h.ch.users = newUserCache(time.Hour, clock.Now)
	h.slack.users["U0CUSTOM1"] = slackUser{Email: "old@example.com"}
	for i := 0; i < 3; i++ {
		h.mustSend(t, ev("Ev0C"+strconv.Itoa(i), map[string]any{"ts": "1760000000.00010" + strconv.Itoa(i)}))
	}
	if n := h.slack.calls("U0CUSTOM1"); n != 1 {
		t.Fatalf("users.info called %d times for 3 messages", n)
	}
	h.slack.set(func(f *fakeSlack) { f.users["U0CUSTOM1"] = slackUser{Email: "new@example.com"} })
	clock.Advance(time.Hour)
	if p := h.ch.profile(context.Background(), "U0CUSTOM1"); p.Email != "new@example.com" || h.slack.calls("U0CUSTOM1") != 2 {
		t.Fatalf("after the TTL: %+v, %d calls", p, h.slack.calls("U0CUSTOM1"))
	}
}

func TestLogsHoldNoBodiesOrSecrets(t *testing.T) {
	var buf bytes.Buffer
	var failing atomic.Bool
	h := newHub(t, func(s *hubSetup) {
		s.logger = slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))
	})
	const body = "my card number is 4111-PRIVATE"
	// The sink fails once (500 and an error log), then takes the message.
	inner := h.ch.env.Sink
	h.ch.env.Sink = connectors.SinkFunc(func(ctx context.Context, m connectors.Message) (string, error) {
		if failing.Load() {
			return "", errors.New("queue unavailable")
		}
		return inner.Deliver(ctx, m)
	})
	failing.Store(true)
	if code, _ := h.send(t, ev("Ev0L", map[string]any{"text": body}), time.Time{}); code != 500 {
		t.Fatalf("failing sink: %d", code)
	}
	failing.Store(false)
	h.mustSend(t, ev("Ev0L", map[string]any{"text": body}))
	h.send(t, ev("Ev0L2", map[string]any{"text": body}), time.Now().Add(-time.Hour)) // stale: refused
	h.slack.set(func(f *fakeSlack) { f.limited, f.retryAfter, f.postErr = 1, 0, "invalid_auth" })
	h.ch.Send(context.Background(), connectors.Outgoing{ThreadKey: "C0SUPPORT:1760000000.000100", InReplyTo: "C0SUPPORT:1760000000.000100", Text: body})
	if buf.Len() == 0 {
		t.Fatal("nothing was logged; the test would prove nothing")
	}
	for _, secret := range []string{"4111-PRIVATE", testSecret, testBotToken} {
		if strings.Contains(buf.String(), secret) {
			t.Fatalf("log holds %q:\n%s", secret, buf.String())
		}
	}
}
