package chat

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// waitEntry waits until entry id has a final delivery status.
func (h *hub) waitEntry(t *testing.T, id string) store.Entry {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		e, err := h.st.GetEntry(context.Background(), id)
		if err == nil && e.Status != connectors.StatusQueued {
			return e
		}
		if time.Now().After(deadline) {
			t.Fatalf("entry %s still %q", id, e.Status)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestReplyIsPostedInTheThreadWithEscapedText(t *testing.T) {
	h := newHub(t)
	h.run(t)
	h.mustSend(t, ev("Ev0Q", map[string]any{"text": "question", "ts": "1760000000.000100"}))
	h.mustSend(t, ev("Ev0Q2", map[string]any{"text": "more detail", "ts": "1760000010.000100", "thread_ts": "1760000000.000100"}))
	es := h.waitEntries(t, customerKey, 2)

	agentText := "Hi <!channel> & <@U0OTHERS> see <https://evil.example|your bank> > now"
	e, err := h.out.Reply(context.Background(), es[1].ConversationID, "alice", "", agentText)
	if err != nil {
		t.Fatal(err)
	}
	e = h.waitEntry(t, e.ID)
	posts := h.slack.posted()
	if len(posts) != 1 {
		t.Fatalf("%d posts", len(posts))
	}
	p := posts[0]
	if p.Get("channel") != "C0SUPPORT" || p.Get("thread_ts") != "1760000000.000100" {
		t.Fatalf("posted to channel %q thread %q", p.Get("channel"), p.Get("thread_ts"))
	}
	want := "Hi &lt;!channel&gt; &amp; &lt;@U0OTHERS&gt; see &lt;https://evil.example|your bank&gt; &gt; now"
	if p.Get("text") != want || p.Get("parse") != "none" {
		t.Fatalf("posted text %q (parse %q), want %q", p.Get("text"), p.Get("parse"), want)
	}
	if p.Get("token") != testBotToken {
		t.Fatal("posted without the bot token")
	}
	if e.Status != connectors.StatusSent || !strings.HasPrefix(e.ProviderID, "C0SUPPORT:") || e.Text != agentText {
		t.Fatalf("entry = %+v", e)
	}
}

func TestRateLimitedPostIsRetriedAfterRetryAfter(t *testing.T) {
	h := newHub(t)
	h.run(t)
	h.slack.set(func(f *fakeSlack) { f.limited, f.retryAfter = 1, 1 })
	h.mustSend(t, ev("Ev0R", nil))
	es := h.waitEntries(t, customerKey, 1)
	e, err := h.out.Reply(context.Background(), es[0].ConversationID, "alice", "", "on it")
	if err != nil {
		t.Fatal(err)
	}
	e = h.waitEntry(t, e.ID)
	if e.Status != connectors.StatusSent || len(h.slack.posted()) != 1 {
		t.Fatalf("entry %+v, %d posts", e, len(h.slack.posted()))
	}
	h.slack.mu.Lock()
	times := append([]time.Time(nil), h.slack.postTimes...)
	h.slack.mu.Unlock()
	if len(times) != 2 {
		t.Fatalf("%d attempts, want 2 (429 then success)", len(times))
	}
	if gap := times[1].Sub(times[0]); gap < time.Second {
		t.Fatalf("retried after %s, before Retry-After (1s)", gap)
	}
}

func TestRateLimitBeyondRetriesIsRetryable(t *testing.T) {
	h := newHub(t)
	var mu sync.Mutex
	var waits []time.Duration
	h.ch.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
		return nil
	}
	h.slack.set(func(f *fakeSlack) { f.limited, f.retryAfter = 10, 7 })
	out := connectors.Outgoing{Channel: channelName, ThreadKey: "C0SUPPORT:1760000000.000100", InReplyTo: "C0SUPPORT:1760000000.000100", Text: "hello",
		To: connectors.Identity{Type: "slack", Value: testTeam + ":U0CUSTOM1"}}
	_, err := h.ch.Send(context.Background(), out)
	if err == nil || errors.Is(err, connectors.ErrPermanent) {
		t.Fatalf("err = %v, want a retryable error", err)
	}
	if len(waits) != DefaultRateLimitRetries || waits[0] != 7*time.Second {
		t.Fatalf("waits = %v", waits)
	}
	// A Retry-After longer than max_retry_after is not waited out in Send.
	waits = nil
	h.slack.set(func(f *fakeSlack) { f.limited, f.retryAfter = 1, 120 })
	if _, err := h.ch.Send(context.Background(), out); err == nil || errors.Is(err, connectors.ErrPermanent) || len(waits) != 0 {
		t.Fatalf("err = %v, waits = %v", err, waits)
	}
}

func TestSlackRefusalsArePermanent(t *testing.T) {
	h := newHub(t)
	out := connectors.Outgoing{Channel: channelName, ThreadKey: "C0SUPPORT:1760000000.000100", InReplyTo: "C0SUPPORT:1760000005.000100", Text: "hello"}
	for _, tc := range []struct {
		slackErr  string
		permanent bool
	}{
		{"channel_not_found", true}, {"not_in_channel", true}, {"invalid_auth", true}, {"is_archived", true},
		{"internal_error", false}, {"fatal_error", false},
	} {
		h.slack.set(func(f *fakeSlack) { f.postErr = tc.slackErr })
		_, err := h.ch.Send(context.Background(), out)
		if err == nil || errors.Is(err, connectors.ErrPermanent) != tc.permanent || !strings.Contains(err.Error(), tc.slackErr) {
			t.Errorf("%s: err = %v, permanent want %v", tc.slackErr, err, tc.permanent)
		}
		if err != nil && (strings.Contains(err.Error(), testBotToken) || strings.Contains(err.Error(), testSecret)) {
			t.Errorf("%s: error holds a secret: %v", tc.slackErr, err)
		}
	}
}

func TestFailedReplyIsMarkedOnTheEntry(t *testing.T) {
	h := newHub(t)
	h.run(t)
	h.mustSend(t, ev("Ev0F", nil))
	es := h.waitEntries(t, customerKey, 1)
	h.slack.set(func(f *fakeSlack) { f.postErr = "not_in_channel" })
	e, err := h.out.Reply(context.Background(), es[0].ConversationID, "alice", "", "hello")
	if err != nil {
		t.Fatal(err)
	}
	if e = h.waitEntry(t, e.ID); e.Status != connectors.StatusFailed || !strings.Contains(e.StatusDetail, "not_in_channel") {
		t.Fatalf("entry = %+v", e)
	}
}

func TestReplyWithoutSlackThreadOpensDM(t *testing.T) {
	h := newHub(t)
	// A conversation that began on another channel: its thread key is not
	// Slack's, even when it looks like a channel id.
	res, err := h.ch.Send(context.Background(), connectors.Outgoing{Channel: channelName, ThreadKey: "ORDER4711", Text: "we moved this to Slack",
		To: connectors.Identity{Type: "slack", Value: testTeam + ":U0CUSTOM1", Verified: true}})
	if err != nil {
		t.Fatal(err)
	}
	if o := h.slack.opened(); len(o) != 1 || o[0].Get("users") != "U0CUSTOM1" {
		t.Fatalf("conversations.open calls: %v", o)
	}
	p := h.slack.posted()
	if len(p) != 1 || p[0].Get("channel") != "D0DMCHAN1" || p[0].Get("thread_ts") != "" || !strings.HasPrefix(res.ProviderID, "D0DMCHAN1:") {
		t.Fatalf("posts %v, result %+v", p, res)
	}
	// Without any Slack identity there is nobody to write to.
	_, err = h.ch.Send(context.Background(), connectors.Outgoing{Channel: channelName, Text: "x", To: connectors.Identity{Type: "email", Value: "a@example.com"}})
	if !errors.Is(err, connectors.ErrPermanent) {
		t.Fatalf("err = %v", err)
	}
}

func TestChannelTestCallsAuthTest(t *testing.T) {
	h := newHub(t)
	report, err := h.ch.Test(context.Background())
	if err != nil || !strings.Contains(report, testTeam) || !strings.Contains(report, testBotUser) || !strings.Contains(report, "Customer Co") {
		t.Fatalf("report %q, err %v", report, err)
	}
	// A wrong token: an error that names the problem, not the token.
	bad, err := New(config.Channel{Name: "bad", Type: "slack", Slack: map[string]any{"bot_token": "xoxb-wrong-token-value",
		"signing_secret": testSecret, "api_url": h.slack.GetAPIURL()}}, connectors.Env{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = bad.Test(context.Background())
	if err == nil || !strings.Contains(err.Error(), "invalid_auth") || strings.Contains(err.Error(), "xoxb-wrong-token-value") {
		t.Fatalf("err = %v", err)
	}
	// Slack unreachable: an error without secrets either.
	h.slack.Stop()
	_, err = h.ch.Test(context.Background())
	if err == nil || strings.Contains(err.Error(), testBotToken) {
		t.Fatalf("err = %v", err)
	}
	if _, err := h.ch.Send(context.Background(), connectors.Outgoing{ThreadKey: "C0SUPPORT:1.1", InReplyTo: "C0SUPPORT:1.1", Text: "x"}); err == nil ||
		errors.Is(err, connectors.ErrPermanent) || strings.Contains(err.Error(), testBotToken) {
		t.Fatalf("send to unreachable Slack: %v", err)
	}
}
