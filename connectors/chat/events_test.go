package chat

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Slack's published example of request signing ("Verifying requests from
// Slack", api.slack.com/authentication/verifying-requests-from-slack). The
// expected signature was also recomputed with Python's hmac module.
const (
	vectorSecret = "8f742231b10e8888abcd99yyyzzz85a5"
	vectorTS     = 1531420618
	vectorBody   = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c"
	vectorSig    = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503"
)

func TestSignatureKnownVector(t *testing.T) {
	// The tests' own signer reproduces Slack's documented signature...
	if got := sign(vectorSecret, vectorTS, []byte(vectorBody)); got != vectorSig {
		t.Fatalf("test signer: %s, want %s", got, vectorSig)
	}
	// ...and the channel refuses that very request: it is years old (replay).
	h := http.Header{}
	h.Set("X-Slack-Request-Timestamp", strconv.Itoa(vectorTS))
	h.Set("X-Slack-Signature", vectorSig)
	c := &Channel{s: Settings{SigningSecret: vectorSecret}}
	if err := c.verify(h, []byte(vectorBody)); !errors.Is(err, slack.ErrExpiredTimestamp) {
		t.Fatalf("old request: %v", err)
	}
	// Signed now with the same signer, the channel accepts it; one changed byte is refused.
	now := time.Now().Unix()
	h.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now, 10))
	h.Set("X-Slack-Signature", sign(vectorSecret, now, []byte(vectorBody)))
	if err := c.verify(h, []byte(vectorBody)); err != nil {
		t.Fatalf("fresh request: %v", err)
	}
	if err := c.verify(h, []byte(vectorBody+"x")); err == nil {
		t.Fatal("changed body accepted")
	}
}

func TestParseBody(t *testing.T) {
	for _, tc := range []struct {
		name    string
		body    string
		kind    string // "" = nothing recorded
		ignored string
		err     bool
		thread  string
		pid     string
	}{
		{name: "channel message", body: `{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"message","channel":"C1","user":"U1","text":"hi","ts":"1.000001"}}`,
			kind: kindMessage, thread: "C1:1.000001", pid: "C1:1.000001"},
		{name: "thread reply", body: `{"type":"event_callback","team_id":"T1","event":{"type":"message","channel":"C1","user":"U1","text":"hi","ts":"2.5","thread_ts":"1.000001"}}`,
			kind: kindMessage, thread: "C1:1.000001", pid: "C1:2.5"},
		{name: "dm", body: `{"type":"event_callback","team_id":"T1","event":{"type":"message","channel":"D1","channel_type":"im","user":"U1","text":"hi","ts":"2.5"}}`,
			kind: kindMessage, thread: "D1", pid: "D1:2.5"},
		{name: "edit", body: `{"type":"event_callback","team_id":"T1","event":{"type":"message","subtype":"message_changed","channel":"C1","ts":"9.9","message":{"user":"U1","text":"v2","ts":"1.1","edited":{"ts":"9.0"}},"previous_message":{"user":"U1","text":"v1","ts":"1.1"}}}`,
			kind: kindEdit, thread: "C1:1.1", pid: "C1:1.1:edit:9.0"},
		{name: "delete", body: `{"type":"event_callback","team_id":"T1","event":{"type":"message","subtype":"message_deleted","channel":"C1","ts":"9.9","deleted_ts":"1.1","previous_message":{"user":"U1","text":"v1","ts":"1.1"}}}`,
			kind: kindDelete, thread: "C1:1.1", pid: "C1:1.1:delete"},
		{name: "url verification", body: `{"type":"url_verification","challenge":"abc"}`},
		{name: "other event", body: `{"type":"event_callback","team_id":"T1","event":{"type":"reaction_added","user":"U1"}}`, ignored: "event type reaction_added"},
		{name: "bot", body: `{"type":"event_callback","team_id":"T1","event":{"type":"message","channel":"C1","bot_id":"B1","text":"hi","ts":"1.1"}}`, ignored: "bot message"},
		{name: "join", body: `{"type":"event_callback","team_id":"T1","event":{"type":"message","subtype":"channel_join","channel":"C1","user":"U1","ts":"1.1"}}`, ignored: "subtype channel_join"},
		{name: "no team anywhere", body: `{"type":"event_callback","event":{"type":"message","channel":"C1","user":"U1","ts":"1.1"}}`, ignored: "message without a team"},
		{name: "not json", body: `payload=x`, err: true},
		{name: "no type", body: `{}`, err: true},
		{name: "challenge missing", body: `{"type":"url_verification"}`, err: true},
		{name: "no channel", body: `{"type":"event_callback","team_id":"T1","event":{"type":"message","user":"U1","ts":"1.1"}}`, err: true},
		{name: "bad ts", body: `{"type":"event_callback","team_id":"T1","event":{"type":"message","channel":"C1","user":"U1","ts":"yesterday"}}`, err: true},
		{name: "user id with a colon", body: `{"type":"event_callback","team_id":"T1","event":{"type":"message","channel":"C1","user":"U1:X","ts":"1.1"}}`, err: true},
	} {
		p, err := parseBody([]byte(tc.body), "")
		if (err != nil) != tc.err || err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("%s: err = %v", tc.name, err)
			continue
		}
		if tc.err {
			continue
		}
		if p.Ignored != tc.ignored {
			t.Errorf("%s: ignored %q, want %q", tc.name, p.Ignored, tc.ignored)
		}
		if tc.kind == "" {
			if p.Event != nil {
				t.Errorf("%s: recorded %+v", tc.name, p.Event)
			}
			continue
		}
		if p.Event == nil || p.Event.Kind != tc.kind {
			t.Errorf("%s: event %+v", tc.name, p.Event)
			continue
		}
		m := toMessage("ch", p.Event, profile{}, time.Now())
		if m.ThreadKey != tc.thread || m.ProviderID != tc.pid {
			t.Errorf("%s: thread %q id %q, want %q %q", tc.name, m.ThreadKey, m.ProviderID, tc.thread, tc.pid)
		}
	}
	// A default team (settings team_id) fills in for events without one.
	p, err := parseBody([]byte(`{"type":"event_callback","event":{"type":"message","channel":"C1","user":"U1","ts":"1.1"}}`), "T9")
	if err != nil || p.Event == nil || p.Event.Team != "T9" {
		t.Fatalf("default team: %+v %v", p.Event, err)
	}
}

func TestPlainTextAndEscape(t *testing.T) {
	for in, want := range map[string]string{
		"hi <@U123> and <@U9|mia>":                   "hi @U123 and @mia",
		"see <#C1|general> <#C2>":                    "see #general #C2",
		"<!here> <!channel> <!subteam^S1|@support>":  "@here @channel @support",
		"<https://x.example/a?b=1&amp;c=2|the docs>": "the docs (https://x.example/a?b=1&c=2)",
		"<https://x.example>":                        "https://x.example",
		"<mailto:mia@example.com|mia@example.com>":   "mia@example.com",
		"1 &lt; 2 &amp;&amp; 3 &gt; 2":               "1 < 2 && 3 > 2",
		"<!date^1392734382^{date}|Feb 18, 2014>":     "Feb 18, 2014",
		"unbalanced < and > stay":                    "unbalanced < and > stay",
	} {
		if got := plainText(in); got != want {
			t.Errorf("plainText(%q) = %q, want %q", in, got, want)
		}
	}
	for in, want := range map[string]string{
		"<!channel>":                 "&lt;!channel&gt;",
		"<@U123> <!here|here>":       "&lt;@U123&gt; &lt;!here|here&gt;",
		"a & b":                      "a &amp; b",
		"&lt; already":               "&amp;lt; already",
		"plain *bold* _it_ `code` ~": "plain *bold* _it_ `code` ~",
	} {
		if got := Escape(in); got != want {
			t.Errorf("Escape(%q) = %q, want %q", in, got, want)
		}
		if strings.ContainsAny(Escape(in), "<>") {
			t.Errorf("Escape(%q) keeps a bracket", in)
		}
	}
}

// FuzzParseBody: no body makes the parser panic, and whatever it records
// is a message the hub accepts, with the identity and ids the channel
// promises.
func FuzzParseBody(f *testing.F) {
	for _, s := range []string{
		`{"type":"event_callback","team_id":"T1","event_id":"Ev1","event":{"type":"message","channel":"C1","user":"U1","text":"hi <@U2>","ts":"1.000001"}}`,
		`{"type":"event_callback","team_id":"T1","event":{"type":"message","subtype":"message_changed","channel":"C1","ts":"9.9","message":{"user":"U1","text":"v2","ts":"1.1","edited":{"ts":"9.0"}},"previous_message":{"user":"U1","text":"v1","ts":"1.1"}}}`,
		`{"type":"event_callback","team_id":"T1","event":{"type":"message","subtype":"file_share","channel":"D1","channel_type":"im","user":"U1","ts":"1.1","files":[{"id":"F1","name":"a.png","size":-5}]}}`,
		`{"type":"url_verification","challenge":"x"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := parseBody(body, "")
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("error does not wrap ErrMalformed: %v", err)
			}
			return
		}
		if p.Event == nil {
			return
		}
		m := toMessage("slack-x", p.Event, profile{}, time.Unix(0, 0))
		if err := m.Validate(1 << 20); err != nil {
			t.Fatalf("recorded message is invalid: %v (%+v)", err, m)
		}
		id := m.Identities[0]
		if id.Type != connectors.Slack || !id.Verified || strings.Count(id.Value, ":") != 1 || strings.HasPrefix(id.Value, ":") {
			t.Fatalf("identity %+v", id)
		}
		if _, err := connectors.Normalize(id, ""); err != nil {
			t.Fatalf("identity does not normalize: %v", err)
		}
		ch, ts, ok := parseThreadKey(m.ThreadKey)
		if !ok || ch != p.Event.Channel || (ts != "" && ts != p.Event.TS && ts != p.Event.ThreadTS) {
			t.Fatalf("thread key %q does not lead back to the message", m.ThreadKey)
		}
		if !strings.HasPrefix(m.ProviderID, p.Event.Channel+":"+p.Event.TS) || !utf8.ValidString(m.Text) {
			t.Fatalf("provider id %q / text %q", m.ProviderID, m.Text)
		}
	})
}
