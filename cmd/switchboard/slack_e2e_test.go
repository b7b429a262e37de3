package main_test

// The Slack channel through the real binary: signed Events API requests in,
// replies out through chat.postMessage, `channels test` through auth.test.
// Slack's Web API is slack-go's slacktest server running in this test
// process (Slack itself is not reachable from the test machines); the
// requests to the hub are signed exactly as Slack signs them.

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack/slacktest"
)

const (
	e2eSlackSecret = "e2e-signing-secret-0123456789abcdef"
	e2eSlackToken  = "xoxb-e2e-bot-token-value"
	e2eSlackTeam   = "T0E2ETEAM"
)

type slackPeer struct {
	*slacktest.Server
	mu    sync.Mutex
	posts []url.Values
	// Files uploaded through Slack's external upload: the filename asked
	// for and the bytes sent, by file id, and the shares completed.
	fileNames map[string]string
	fileData  map[string][]byte
	shares    []url.Values
}

func newSlackPeer(t *testing.T) *slackPeer {
	p := &slackPeer{fileNames: map[string]string{}, fileData: map[string][]byte{}}
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	p.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/auth.test", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			if r.Form.Get("token") != e2eSlackToken {
				reply(w, map[string]any{"ok": false, "error": "invalid_auth"})
				return
			}
			reply(w, map[string]any{"ok": true, "team": "E2E Co", "team_id": e2eSlackTeam, "user": "hub", "user_id": "U0E2EBOT1", "bot_id": "B0E2EBOT1"})
		})
		c.Handle("/users.info", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			reply(w, map[string]any{"ok": true, "user": map[string]any{"id": r.Form.Get("user"), "name": "leo",
				"profile": map[string]any{"email": "leo@example.com", "display_name": "Leo"}}})
		})
		c.Handle("/files.getUploadURLExternal", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			p.mu.Lock()
			id := fmt.Sprintf("F0E2E%04d", len(p.fileNames)+1)
			p.fileNames[id] = r.Form.Get("filename")
			p.mu.Unlock()
			// The upload URL is on this server (slack-go sends the token
			// only to Slack's hosts or the API URL's).
			reply(w, map[string]any{"ok": true, "file_id": id, "upload_url": strings.TrimSuffix(p.GetAPIURL(), "/") + "/upload/" + id})
		})
		c.Handle("/upload/", func(w http.ResponseWriter, r *http.Request) {
			f, _, err := r.FormFile("file")
			if err != nil {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			b, _ := io.ReadAll(f)
			p.mu.Lock()
			p.fileData[r.URL.Path[strings.LastIndex(r.URL.Path, "/")+1:]] = b
			p.mu.Unlock()
		})
		c.Handle("/files.completeUploadExternal", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			p.mu.Lock()
			p.shares = append(p.shares, r.Form)
			p.mu.Unlock()
			reply(w, map[string]any{"ok": true, "files": []any{}})
		})
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			p.mu.Lock()
			p.posts = append(p.posts, r.Form)
			n := len(p.posts)
			p.mu.Unlock()
			reply(w, map[string]any{"ok": true, "channel": r.Form.Get("channel"), "ts": fmt.Sprintf("1770000000.%06d", n)})
		})
	})
	p.Start()
	t.Cleanup(p.Stop)
	return p
}

func (p *slackPeer) posted() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.posts...)
}

// slackEvent posts a signed Events API request; sig overrides the signature.
func slackEvent(t *testing.T, hubURL string, body []byte, sig string, retry int) int {
	t.Helper()
	ts := time.Now().Unix()
	if sig == "" {
		m := hmac.New(sha256.New, []byte(e2eSlackSecret))
		fmt.Fprintf(m, "v0:%d:%s", ts, body)
		sig = "v0=" + hex.EncodeToString(m.Sum(nil))
	}
	req, _ := http.NewRequest("POST", hubURL+"/webhooks/slack/slack-support", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", sig)
	if retry > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func slackMessage(eventID, ts, threadTS, text string) []byte {
	e := map[string]any{"type": "message", "channel": "C0E2ESUPP", "channel_type": "channel", "user": "U0E2ELEO1", "team": e2eSlackTeam, "text": text, "ts": ts}
	if threadTS != "" {
		e["thread_ts"] = threadTS
	}
	b, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": e2eSlackTeam, "event_id": eventID, "event": e})
	return b
}

func TestEndToEndSlack(t *testing.T) {
	eachStore(t, func(t *testing.T, sc string) {
		peer := newSlackPeer(t)
		tokenFile := filepath.Join(t.TempDir(), "slack-bot-token")
		os.WriteFile(tokenFile, []byte(e2eSlackToken+"\n"), 0o600)
		extra := fmt.Sprintf(`  - name: slack-support
    type: slack
    phase: live
    slack:
      bot_token_file: %s
      signing_secret: %s
      api_url: %s
`, tokenFile, e2eSlackSecret, peer.GetAPIURL())
		p := start(t, writeConfig(t, sc, extra), freeAddr(t))

		// Leo emailed before (through the trusted crm channel).
		if code, _ := p.post(t, "crm", map[string]any{"external_id": "leo-mail-1", "sender": map[string]string{"email": "leo@example.com", "name": "Leo"},
			"text": "hello by email", "occurred_at": "2026-01-01T09:00:00Z"}); code != 202 {
			t.Fatalf("crm post: %d", code)
		}
		waitFor(t, "the email on a timeline", 10*time.Second, func() bool {
			c, code := p.find(t, "email:leo@example.com")
			return code == 200 && len(p.timeline(t, c.ID)) == 1
		})

		// Now he writes in Slack: signed, retried by Slack three times.
		body := slackMessage("Ev0E2E1", "1767261600.000100", "", "the dashboard <@U0E2EBOT1> is empty")
		for retry := 0; retry <= 3; retry++ {
			if code := slackEvent(t, p.base, body, "", retry); code != 200 {
				t.Fatalf("event (retry %d): %d", retry, code)
			}
		}
		var c customer
		waitFor(t, "the Slack message on Leo's timeline", 10*time.Second, func() bool {
			var code int
			c, code = p.find(t, "slack:"+e2eSlackTeam+":U0E2ELEO1")
			return code == 200 && len(p.timeline(t, c.ID)) == 2
		})
		byEmail, _ := p.find(t, "email:leo@example.com")
		if byEmail.ID != c.ID {
			t.Fatalf("slack identity on %s, email on %s", c.ID, byEmail.ID)
		}
		es := p.timeline(t, c.ID)
		if got := strings.Join(texts(es), "|"); got != "hello by email|the dashboard @U0E2EBOT1 is empty" {
			t.Fatalf("timeline = %s", got)
		}

		// Bad signature: 401, nothing stored.
		if code := slackEvent(t, p.base, slackMessage("Ev0E2EX", "1767261700.000100", "", "forged"), "v0="+strings.Repeat("0", 64), 0); code != 401 {
			t.Fatalf("forged event: %d", code)
		}

		// The agent answers: chat.postMessage in the message's thread, escaped.
		var sent struct {
			ID string `json:"id"`
		}
		if code := call(t, "POST", p.base+"/api/v1/conversations/"+es[1].ConversationID+"/messages", agentToken,
			map[string]any{"text": "Looking at it <!channel>"}, &sent); code != 202 {
			t.Fatalf("reply: %d", code)
		}
		waitFor(t, "the reply posted to Slack and marked sent", 10*time.Second, func() bool {
			for _, e := range p.timeline(t, c.ID) {
				if e.ID == sent.ID {
					return e.Status == "sent"
				}
			}
			return false
		})
		posts := peer.posted()
		if len(posts) != 1 || posts[0].Get("channel") != "C0E2ESUPP" || posts[0].Get("thread_ts") != "1767261600.000100" ||
			posts[0].Get("text") != "Looking at it &lt;!channel&gt;" {
			t.Fatalf("posts = %v", posts)
		}
		if n := len(p.timeline(t, c.ID)); n != 3 {
			t.Fatalf("%d entries after the forged event and the reply, want 3", n)
		}

		// A reply with a file: uploaded to Slack and shared in the same
		// thread, the text as its comment.
		pdf := bytes.Repeat([]byte("%PDF dashboard export "), 2000)
		if code := call(t, "POST", p.base+"/api/v1/conversations/"+es[1].ConversationID+"/messages", agentToken,
			map[string]any{"text": "The export, attached.", "attachments": []any{map[string]any{"name": "dashboard.pdf", "content_type": "application/pdf",
				"data": base64.StdEncoding.EncodeToString(pdf)}}}, &sent); code != 202 {
			t.Fatalf("reply with a file: %d", code)
		}
		waitFor(t, "the file shared in Slack and the reply marked sent", 10*time.Second, func() bool {
			for _, e := range p.timeline(t, c.ID) {
				if e.ID == sent.ID {
					return e.Status == "sent"
				}
			}
			return false
		})
		peer.mu.Lock()
		names, data, shares := peer.fileNames, peer.fileData, append([]url.Values(nil), peer.shares...)
		peer.mu.Unlock()
		if len(names) != 1 || names["F0E2E0001"] != "dashboard.pdf" || !bytes.Equal(data["F0E2E0001"], pdf) {
			t.Fatalf("uploaded files %v (%d bytes)", names, len(data["F0E2E0001"]))
		}
		if len(shares) != 1 || shares[0].Get("channel_id") != "C0E2ESUPP" || shares[0].Get("thread_ts") != "1767261600.000100" ||
			shares[0].Get("initial_comment") != "The export, attached." || !strings.Contains(shares[0].Get("files"), "F0E2E0001") {
			t.Fatalf("shares = %v", shares)
		}
		if n := len(peer.posted()); n != 1 {
			t.Fatalf("%d chat.postMessage calls, want only the first reply's", n)
		}

		// `switchboard channels test` asks Slack who the token is.
		out, err := exec.Command(binary(t), "channels", "test", "slack-support", "--url", p.base, "--token", adminToken).CombinedOutput()
		if err != nil || !strings.Contains(string(out), e2eSlackTeam) || !strings.Contains(string(out), "U0E2EBOT1") || strings.Contains(string(out), e2eSlackToken) {
			t.Fatalf("channels test: %v\n%s", err, out)
		}
		// Switched off, the webhook does not exist.
		if out, err := exec.Command(binary(t), "channels", "phase", "slack-support", "off", "--url", p.base, "--token", adminToken).CombinedOutput(); err != nil {
			t.Fatalf("phase off: %v\n%s", err, out)
		}
		if code := slackEvent(t, p.base, slackMessage("Ev0E2E2", "1767261800.000100", "", "while off"), "", 0); code != 404 {
			t.Fatalf("event while off: %d", code)
		}
	})
}
