package main

// The Bot API here is telegramtest's fake, speaking the documented JSON on
// loopback: no network is available where these tests run.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/switchboard-hub/switchboard/plugins/examples/telegram/telegramtest"
	"github.com/switchboard-hub/switchboard/plugins/sdk"
)

const token = "123456:test-token"

// host is an in-memory sdk.Host; fail decides per delivery whether it is refused.
type host struct {
	mu   sync.Mutex
	got  []sdk.Message
	seen map[string]int
	fail func(m sdk.Message, attempt int) error
}

func (h *host) Deliver(ctx context.Context, m sdk.Message) (string, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = map[string]int{}
	}
	h.seen[m.ProviderID]++
	if h.fail != nil {
		if err := h.fail(m, h.seen[m.ProviderID]); err != nil {
			return "", err
		}
	}
	h.got = append(h.got, m)
	return "m_" + m.ProviderID, nil
}

func (h *host) UpdateStatus(ctx context.Context, providerID, status, detail string) error { return nil }

func (h *host) messages() []sdk.Message {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]sdk.Message(nil), h.got...)
}

func configured(t *testing.T, api *telegramtest.Server, extra map[string]string) *channel {
	t.Helper()
	set := map[string]string{"bot_token": token, "api_base_url": api.URL, "poll_timeout": "1"}
	for k, v := range extra {
		set[k] = v
	}
	c := &channel{}
	if err := c.Configure(t.Context(), sdk.Config{Channel: "tg", Settings: set, WebhookURL: "https://hub.example/webhooks/plugin/tg",
		Logger: slog.New(slog.DiscardHandler)}); err != nil {
		t.Fatal(err)
	}
	return c
}

func run(t *testing.T, c *channel, h sdk.Host) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx, h) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var ann = telegramtest.User{ID: 777001, FirstName: "Ann", LastName: "Lee", Username: "annlee"}

func TestPollingDeliversAndConfirmsOnlyAfterAck(t *testing.T) {
	api := telegramtest.New(token)
	defer api.Close()
	h := &host{fail: func(m sdk.Message, attempt int) error {
		if m.Text == "second" && attempt == 1 {
			return fmt.Errorf("%w: store busy", sdk.ErrUnavailable)
		}
		return nil
	}}
	c := configured(t, api, nil)
	run(t, c, h)
	api.UserSays(ann, "first")
	api.UserSays(ann, "second")
	api.UserSays(ann, "third")
	waitFor(t, "all three taken and confirmed", func() bool {
		ms := h.messages()
		seen := map[string]bool{}
		for _, m := range ms {
			seen[m.Text] = true
		}
		return len(seen) == 3 && api.Pending() == 0
	})
	var m sdk.Message
	for _, x := range h.messages() {
		if x.Text == "first" {
			m = x
		}
	}
	if m.ProviderID != "777001:1" || m.ThreadKey != "chat:777001" || m.SenderName != "Ann Lee" ||
		len(m.Identities) != 1 || m.Identities[0] != (sdk.Identity{Type: "telegram", Value: "777001", Verified: true}) ||
		len(m.Fields) != 1 || m.Fields[0].Value != "@annlee" || m.OccurredAt.IsZero() {
		t.Fatalf("message = %+v", m)
	}
	if h.seen["777001:2"] < 2 {
		t.Fatalf("the refused update was not redelivered: %v", h.seen)
	}
}

func TestRefusedForGoodIsSkippedNotRetriedForever(t *testing.T) {
	api := telegramtest.New(token)
	defer api.Close()
	h := &host{fail: func(m sdk.Message, attempt int) error {
		if m.Text == "bad" {
			return fmt.Errorf("%w: no sender identity", sdk.ErrInvalid)
		}
		return nil
	}}
	run(t, configured(t, api, nil), h)
	api.UserSays(ann, "bad")
	api.UserSays(ann, "good")
	waitFor(t, "the good one and both confirmed", func() bool { return len(h.messages()) == 1 && api.Pending() == 0 })
}

func TestSendRepliesInTheChat(t *testing.T) {
	api := telegramtest.New(token)
	defer api.Close()
	c := configured(t, api, nil)
	res, err := c.Send(t.Context(), sdk.Outgoing{To: sdk.Identity{Type: "telegram", Value: "777001"}, ThreadKey: "chat:777001",
		InReplyTo: "777001:5", Text: "Hello Ann"})
	if err != nil || res.ProviderID == "" || res.Status != "sent" {
		t.Fatalf("Send = %+v, %v", res, err)
	}
	sent := api.Sent()
	if len(sent) != 1 || sent[0].ChatID != 777001 || sent[0].Text != "Hello Ann" || sent[0].ReplyToMessageID != 5 ||
		res.ProviderID != fmt.Sprintf("777001:%d", sent[0].MessageID) {
		t.Fatalf("sent = %+v, result %+v", sent, res)
	}
	// Without a thread, to the user's private chat; long text is split.
	long := strings.Repeat("é", maxUnits+10)
	if _, err := c.Send(t.Context(), sdk.Outgoing{To: sdk.Identity{Type: "telegram", Value: "777002"}, Text: long}); err != nil {
		t.Fatal(err)
	}
	if sent = api.Sent(); len(sent) != 3 || sent[1].ChatID != 777002 || utf8.RuneCountInString(sent[1].Text) != maxUnits || utf8.RuneCountInString(sent[2].Text) != 10 {
		t.Fatalf("split send = %d messages", len(sent))
	}
	api.Block(777003)
	_, err = c.Send(t.Context(), sdk.Outgoing{To: sdk.Identity{Type: "telegram", Value: "777003"}, Text: "hi"})
	if !errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), "blocked") || strings.Contains(err.Error(), token) {
		t.Fatalf("blocked: %v", err)
	}
	_, err = c.Send(t.Context(), sdk.Outgoing{To: sdk.Identity{Type: "email", Value: "a@b.c"}, Text: "hi"})
	if !errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("email recipient: %v", err)
	}
}

// Telegram counts UTF-16 code units: 4096 emoji are 8192 units, two parts.
func TestSplitCountsUTF16Units(t *testing.T) {
	api := telegramtest.New(token)
	defer api.Close()
	c := configured(t, api, nil)
	if _, err := c.Send(t.Context(), sdk.Outgoing{To: sdk.Identity{Type: "telegram", Value: "1"}, Text: strings.Repeat("😀", maxUnits)}); err != nil {
		t.Fatal(err)
	}
	sent := api.Sent()
	if len(sent) != 2 || sent[0].Text+sent[1].Text != strings.Repeat("😀", maxUnits) {
		t.Fatalf("%d parts", len(sent))
	}
}

// A reply in parts whose later part fails is not retried by the hub
// (that would repeat the parts already sent): the failure is permanent and
// says what went out.
func TestPartlySentReplyIsNotRetried(t *testing.T) {
	api := telegramtest.New(token)
	defer api.Close()
	c := configured(t, api, nil)
	api.FailSendsAfter(1, 500)
	_, err := c.Send(t.Context(), sdk.Outgoing{To: sdk.Identity{Type: "telegram", Value: "1"}, Text: strings.Repeat("a", maxUnits+1)})
	if !errors.Is(err, sdk.ErrPermanent) || !strings.Contains(err.Error(), "sent 1 of 2 parts") {
		t.Fatalf("err = %v", err)
	}
	// A failure of the first part is still retryable: nothing went out.
	api.FailSendsAfter(0, 500)
	_, err = c.Send(t.Context(), sdk.Outgoing{To: sdk.Identity{Type: "telegram", Value: "1"}, Text: "hi"})
	if err == nil || errors.Is(err, sdk.ErrPermanent) {
		t.Fatalf("first part failing: %v", err)
	}
}

func TestTransportErrorsDoNotLeakTheToken(t *testing.T) {
	c := &channel{}
	c.Configure(t.Context(), sdk.Config{Settings: map[string]string{"bot_token": token, "api_base_url": "http://127.0.0.1:1"}})
	_, err := c.Send(t.Context(), sdk.Outgoing{To: sdk.Identity{Type: "telegram", Value: "1"}, Text: "hi"})
	if err == nil || errors.Is(err, sdk.ErrPermanent) || strings.Contains(err.Error(), token) {
		t.Fatalf("err = %v (must be retryable and not contain the token)", err)
	}
	if _, err := c.Test(t.Context()); err == nil || strings.Contains(err.Error(), token) {
		t.Fatalf("Test err = %v", err)
	}
}

func TestWebhookMode(t *testing.T) {
	api := telegramtest.New(token)
	defer api.Close()
	h := &host{}
	secret := "0123456789abcdef-secret"
	c := configured(t, api, map[string]string{"mode": "webhook", "webhook_secret": secret})
	run(t, c, h)
	waitFor(t, "setWebhook", func() bool { return api.Webhook() == "https://hub.example/webhooks/plugin/tg/update" })
	post := func(secretHeader string, body string) int {
		r := httptest.NewRequest("POST", "/update", strings.NewReader(body))
		r.Header.Set("X-Telegram-Bot-Api-Secret-Token", secretHeader)
		w := httptest.NewRecorder()
		c.ServeHTTP(w, r)
		return w.Code
	}
	upd, _ := json.Marshal(telegramtest.Update{UpdateID: 1, Message: &telegramtest.Message{MessageID: 9, From: &ann, Chat: telegramtest.Chat{ID: ann.ID, Type: "private"}, Date: 1, Text: "by webhook"}})
	if code := post("wrong", string(upd)); code != 401 {
		t.Fatalf("wrong secret: %d", code)
	}
	if code := post(secret, "{not json"); code != 400 {
		t.Fatalf("bad body: %d", code)
	}
	if code := post(secret, string(upd)); code != 200 || len(h.messages()) != 1 || h.messages()[0].Text != "by webhook" {
		t.Fatalf("good update: %d %+v", code, h.messages())
	}
	h.mu.Lock()
	h.fail = func(sdk.Message, int) error { return sdk.ErrUnavailable }
	h.mu.Unlock()
	if code := post(secret, string(upd)); code != 503 {
		t.Fatalf("hub unavailable: %d (Telegram must retry)", code)
	}
}

func TestConfigureReportsEveryProblem(t *testing.T) {
	c := &channel{}
	err := c.Configure(t.Context(), sdk.Config{Settings: map[string]string{"api_base_url": "ftp://x", "mode": "carrier-pigeon", "poll_timeout": "99"}})
	for _, want := range []string{"bot_token is required", "not an http(s) URL", "not polling or webhook", "poll_timeout"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v lacks %q", err, want)
		}
	}
	err = c.Configure(t.Context(), sdk.Config{Settings: map[string]string{"bot_token": "x", "mode": "webhook"}})
	if err == nil || !strings.Contains(err.Error(), "webhook_secret") {
		t.Errorf("webhook without secret: %v", err)
	}
	err = c.Configure(t.Context(), sdk.Config{Settings: map[string]string{"bot_token": "x", "mode": "webhook", "webhook_secret": "0123456789abcdef with spaces"}})
	if err == nil || !strings.Contains(err.Error(), "webhook_secret may only contain") {
		t.Errorf("webhook secret charset: %v", err)
	}
	err = c.Configure(t.Context(), sdk.Config{Settings: map[string]string{"bot_token": "x", "poll_timeout": "0"}})
	if err == nil || !strings.Contains(err.Error(), "poll_timeout \"0\" is not 1..50") {
		t.Errorf("poll_timeout 0 (a tight loop): %v", err)
	}
}

func TestTestCallsGetMe(t *testing.T) {
	api := telegramtest.New(token)
	defer api.Close()
	report, err := configured(t, api, nil).Test(t.Context())
	if err != nil || !strings.Contains(report, "@switchboard_test_bot") {
		t.Fatalf("Test = %q, %v", report, err)
	}
	c := configured(t, api, map[string]string{"bot_token": "999:wrong"})
	if _, err := c.Test(t.Context()); err == nil || !strings.Contains(err.Error(), "401 Unauthorized") {
		t.Fatalf("wrong token: %v", err)
	}
}

// FuzzUpdate: any update JSON maps to a message that is valid or skipped.
func FuzzUpdate(f *testing.F) {
	f.Add(`{"update_id":1,"message":{"message_id":2,"from":{"id":3,"first_name":"A"},"chat":{"id":3,"type":"private"},"date":1,"text":"hi"}}`)
	f.Add(`{"update_id":1,"message":{"message_id":2,"from":{"id":3,"is_bot":true},"chat":{"id":3},"text":"bot"}}`)
	f.Add(`{"update_id":1,"message":{"message_id":2,"from":{"id":3},"chat":{"id":-100,"type":"group"},"photo":[{}],"caption":""}}`)
	f.Add(`{"update_id":1}`)
	f.Fuzz(func(t *testing.T, s string) {
		var u update
		if json.Unmarshal([]byte(s), &u) != nil {
			return
		}
		m, ok := toMessage(u)
		if !ok {
			return
		}
		if m.ProviderID == "" || len(m.Identities) != 1 || m.Identities[0].Value == "" || m.Text == "" {
			t.Fatalf("incomplete message %+v from %s", m, s)
		}
		if !utf8.ValidString(m.Text) || !utf8.ValidString(m.SenderName) {
			t.Fatalf("invalid UTF-8 from %q", s)
		}
	})
}

// Messages of the same second keep their order (Telegram dates are whole
// seconds; the hub sorts by time).
func TestSameSecondMessagesKeepTheirOrder(t *testing.T) {
	at := func(id int64) time.Time {
		m, ok := toMessage(update{UpdateID: id, Message: &message{MessageID: id, From: &user{ID: 1, FirstName: "A"},
			Chat: chat{ID: 1, Type: "private"}, Date: 1700000000, Text: "x"}})
		if !ok {
			t.Fatal("not a message")
		}
		return m.OccurredAt
	}
	if a, b := at(41), at(42); !a.Before(b) || a.Unix() != 1700000000 || b.Unix() != 1700000000 {
		t.Fatalf("message 41 at %v, 42 at %v", a, b)
	}
}
