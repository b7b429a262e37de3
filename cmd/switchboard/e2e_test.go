package main_test

// End-to-end tests: they build the real binary, start it on a real store
// (the embedded one in a temp dir, or a real Redis), and talk to it only
// through its public surface: HTTP, the CLI and signals.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/testenv"
)

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

func binary(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := os.MkdirTemp("", "switchboard-bin")
		if err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "switchboard")
		args := []string{"build", "-o", binPath}
		if testing.CoverMode() == "" && raceEnabled {
			args = append(args, "-race")
		}
		out, err := exec.Command("go", append(args, ".")...).CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return binPath
}

const adminToken = "admin-secret-token"
const agentToken = "agent-secret-token"

// storeConfig is the YAML store section of one backend.
type storeConfig func(t *testing.T) string

func embeddedStore(t *testing.T) string {
	return fmt.Sprintf("store:\n  embedded:\n    path: %s\n", filepath.Join(t.TempDir(), "data"))
}

func redisStore(t *testing.T) string {
	_, prefix := testenv.Redis(t) // skips (or fails in CI) without Redis; cleans the prefix after
	return fmt.Sprintf("store:\n  blobs_path: %s\n  redis:\n    addrs: [%s]\n    prefix: %s\n", filepath.Join(t.TempDir(), "blobs"), testenv.RedisAddr(), prefix)
}

func eachStore(t *testing.T, f func(t *testing.T, sc string)) {
	t.Run("embedded", func(t *testing.T) { f(t, embeddedStore(t)) })
	t.Run("redis", func(t *testing.T) { f(t, redisStore(t)) })
}

func freeAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// writeConfig writes a switchboard.yaml for the given store section.
func writeConfig(t *testing.T, storeSection, extra string) string {
	t.Helper()
	dir := t.TempDir()
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte(adminToken+"\n"), 0o600)
	cfg := storeSection + fmt.Sprintf(`identity:
  default_region: FI
router:
  workers: 4
  claim_after: 2s
log:
  level: warn
teams:
  - name: support
agents:
  - name: root
    role: admin
    token_file: %s
    teams: [support]
  - name: alice
    role: agent
    token: %s
    teams: [support]
channels:
  - name: crm
    type: api
    phase: live
    trusted: true
  - name: partner
    type: api
    phase: live
  - name: dormant
    type: api
    phase: "off"
`, filepath.Join(dir, "admin.token"), agentToken) + extra
	p := filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(p, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

type proc struct {
	t      *testing.T
	cmd    *exec.Cmd
	base   string
	logs   *bytes.Buffer
	mu     *sync.Mutex
	exited chan struct{} // closed when the process has ended
}

// start runs `switchboard serve` and waits until /readyz answers.
func start(t *testing.T, cfgPath, addr string) *proc {
	t.Helper()
	cmd := exec.Command(binary(t), "serve", "--config", cfgPath)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_HTTP_ADDR="+addr)
	p := &proc{t: t, cmd: cmd, base: "http://" + addr, logs: &bytes.Buffer{}, mu: &sync.Mutex{}, exited: make(chan struct{})}
	cmd.Stderr = lockedWriter{p.mu, p.logs}
	cmd.Stdout = cmd.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() { p.kill() })
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get(p.base + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return p
			}
		}
		select {
		case <-p.exited:
			p.mu.Lock()
			defer p.mu.Unlock()
			t.Fatalf("hub exited before it was ready (%v); logs:\n%s", cmd.ProcessState, p.logs.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	t.Fatalf("hub did not become ready; logs:\n%s", p.logs.String())
	return nil
}

// kill sends SIGKILL and waits for the process to end.
func (p *proc) kill() {
	select {
	case <-p.exited:
	default:
		p.cmd.Process.Kill()
		<-p.exited
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  io.Writer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// call does one API request and decodes the JSON answer into out (if non-nil).
func call(t *testing.T, method, url, token string, body any, out any) int {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		j, _ := json.Marshal(b)
		rd = bytes.NewReader(j)
	}
	req, _ := http.NewRequest(method, url, rd)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if out != nil && len(b) > 0 {
		if err := json.Unmarshal(b, out); err != nil {
			t.Fatalf("%s %s: %d %s: %v", method, url, resp.StatusCode, b, err)
		}
	}
	return resp.StatusCode
}

type customer struct {
	ID         string `json:"id"`
	Name       string `json:"name"`
	Identities []struct {
		Type, Value string
		Verified    bool
	} `json:"identities"`
	MergedFrom []string `json:"merged_from"`
}

type entry struct {
	ID, ConversationID, Channel, Direction, Text, Status string
	CustomerID                                           string `json:"customer_id"`
	OccurredAt                                           time.Time
}

func (p *proc) post(t *testing.T, channel string, msg map[string]any) (int, string) {
	t.Helper()
	var out struct{ ID, Message string }
	code := call(t, "POST", p.base+"/api/v1/channels/"+channel+"/messages", adminToken, msg, &out)
	return code, out.ID
}

func (p *proc) find(t *testing.T, identity string) (customer, int) {
	t.Helper()
	var c customer
	code := call(t, "GET", p.base+"/api/v1/customers?identity="+url.QueryEscape(identity), adminToken, nil, &c)
	return c, code
}

// timeline returns every entry of a customer, oldest first, following cursors.
func (p *proc) timeline(t *testing.T, id string) []entry {
	t.Helper()
	var all []entry
	cursor := ""
	for {
		var page struct {
			Entries []struct {
				ID             string    `json:"id"`
				ConversationID string    `json:"conversation_id"`
				Channel        string    `json:"channel"`
				Direction      string    `json:"direction"`
				Text           string    `json:"text"`
				Status         string    `json:"status"`
				CustomerID     string    `json:"customer_id"`
				OccurredAt     time.Time `json:"occurred_at"`
			} `json:"entries"`
			Next string `json:"next"`
		}
		if code := call(t, "GET", p.base+"/api/v1/customers/"+id+"/timeline?limit=200&before="+cursor, adminToken, nil, &page); code != 200 {
			t.Fatalf("timeline %s: %d", id, code)
		}
		for _, e := range page.Entries {
			all = append(all, entry{ID: e.ID, ConversationID: e.ConversationID, Channel: e.Channel, Direction: e.Direction, Text: e.Text, Status: e.Status, CustomerID: e.CustomerID, OccurredAt: e.OccurredAt})
		}
		if page.Next == "" {
			break
		}
		cursor = page.Next
	}
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	return all
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func texts(es []entry) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.Text)
	}
	return out
}

func TestEndToEndOneCustomerAcrossIdentities(t *testing.T) {
	eachStore(t, func(t *testing.T, sc string) {
		p := start(t, writeConfig(t, sc, ""), freeAddr(t))
		at := func(sec int) string { return time.Date(2026, 11, 1, 9, 0, sec, 0, time.UTC).Format(time.RFC3339) }
		// One after the other, as a person writes over time: each message is
		// on a timeline before the next one arrives.
		for i, m := range []map[string]any{
			{"external_id": "e1", "sender": map[string]string{"email": "Mia@Example.com", "name": "Mia"}, "text": "hello by email", "occurred_at": at(1)},
			{"external_id": "e2", "sender": map[string]string{"phone": "+358 40 765 4321"}, "text": "hello by phone", "occurred_at": at(2)},
			{"external_id": "e3", "sender": map[string]string{"email": "mia@example.com", "phone": "040 7654321"}, "text": "both", "occurred_at": at(3)},
		} {
			if code, id := p.post(t, "crm", m); code != 202 || id == "" {
				t.Fatalf("post: %d %q", code, id)
			}
			key := []string{"email:mia@example.com", "phone:+358407654321", "phone:+358407654321"}[i]
			want := []int{1, 1, 3}[i]
			waitFor(t, fmt.Sprintf("message %d on a timeline", i+1), 10*time.Second, func() bool {
				c, code := p.find(t, key)
				return code == 200 && len(p.timeline(t, c.ID)) == want
			})
		}
		var c customer
		waitFor(t, "three entries on one timeline", 10*time.Second, func() bool {
			var code int
			c, code = p.find(t, "email:mia@example.com")
			return code == 200 && len(p.timeline(t, c.ID)) == 3
		})
		byPhone, _ := p.find(t, "phone:+358407654321")
		if byPhone.ID != c.ID {
			t.Fatalf("phone resolves to %s, email to %s", byPhone.ID, c.ID)
		}
		if got := texts(p.timeline(t, c.ID)); strings.Join(got, "|") != "hello by email|hello by phone|both" {
			t.Fatalf("timeline order: %q", got)
		}
		if len(c.Identities) != 2 || !c.Identities[0].Verified || c.Name != "Mia" {
			t.Fatalf("customer = %+v", c)
		}

		// A claimed identity that belongs to Mia: a new customer and a suggestion.
		if code, _ := p.post(t, "partner", map[string]any{"external_id": "x1", "sender": map[string]string{"email": "mia@example.com"}, "text": "I am Mia, honest"}); code != 202 {
			t.Fatalf("partner post: %d", code)
		}
		var sugg struct {
			Suggestions []struct{ ID, Winner, Loser, Evidence string } `json:"suggestions"`
		}
		waitFor(t, "a merge suggestion", 10*time.Second, func() bool {
			call(t, "GET", p.base+"/api/v1/suggestions", agentToken, nil, &sugg)
			return len(sugg.Suggestions) == 1
		})
		if sugg.Suggestions[0].Winner != c.ID || sugg.Suggestions[0].Loser == c.ID || !strings.Contains(sugg.Suggestions[0].Evidence, "mia@example.com") {
			t.Fatalf("suggestion = %+v", sugg.Suggestions[0])
		}
		if n := len(p.timeline(t, c.ID)); n != 3 {
			t.Fatalf("claimed message reached Mia's timeline (%d entries)", n)
		}

		// Unmerge (through the CLI) restores email and phone as two customers.
		var merges struct {
			Merges []struct{ ID, Kind, Status string } `json:"merges"`
		}
		call(t, "GET", p.base+"/api/v1/customers/"+c.ID+"/merges", adminToken, nil, &merges)
		mergeID := ""
		for _, m := range merges.Merges {
			if m.Kind == "merge" && m.Status == "applied" {
				mergeID = m.ID
			}
		}
		if mergeID == "" {
			t.Fatalf("no applied merge among %+v", merges.Merges)
		}
		out, err := exec.Command(binary(t), "customers", "unmerge", mergeID, "--url", p.base, "--token", adminToken).CombinedOutput()
		if err != nil {
			t.Fatalf("customers unmerge: %v\n%s", err, out)
		}
		a, _ := p.find(t, "email:mia@example.com")
		b, _ := p.find(t, "phone:+358407654321")
		if a.ID == b.ID {
			t.Fatal("still one customer after unmerge")
		}
		if got := texts(p.timeline(t, b.ID)); strings.Join(got, "|") != "hello by phone" {
			t.Fatalf("phone customer after unmerge: %q", got)
		}
		// And the CLI finds customers.
		out, err = exec.Command(binary(t), "customers", "find", "email:mia@example.com", "--url", p.base, "--token", adminToken).CombinedOutput()
		if err != nil || !strings.Contains(string(out), a.ID) {
			t.Fatalf("customers find: %v\n%s", err, out)
		}
	})
}

func TestEndToEndDuplicatesAndBadInput(t *testing.T) {
	eachStore(t, func(t *testing.T, sc string) {
		p := start(t, writeConfig(t, sc, ""), freeAddr(t))
		// The same external id five times, concurrently: one entry.
		var wg sync.WaitGroup
		ids := make([]string, 5)
		for i := 0; i < 5; i++ {
			wg.Add(1)
			go func(i int) {
				defer wg.Done()
				_, ids[i] = p.post(t, "crm", map[string]any{"external_id": "dup-1", "sender": map[string]string{"email": "dup@example.com"}, "text": "once"})
			}(i)
		}
		wg.Wait()
		for _, id := range ids {
			if id == "" || id != ids[0] {
				t.Fatalf("ids of duplicate posts differ: %q", ids)
			}
		}
		var c customer
		waitFor(t, "the entry", 10*time.Second, func() bool {
			var code int
			c, code = p.find(t, "email:dup@example.com")
			return code == 200 && len(p.timeline(t, c.ID)) > 0
		})
		time.Sleep(500 * time.Millisecond) // let any duplicate processing finish
		if n := len(p.timeline(t, c.ID)); n != 1 {
			t.Fatalf("%d entries for one external id", n)
		}

		huge := []byte(`{"external_id":"big","sender":{"email":"big@example.com"},"text":"` + strings.Repeat("a", 10<<20) + `"}`)
		cases := []struct {
			name, channel, token string
			body                 any
			want                 int
		}{
			{"malformed JSON", "crm", adminToken, []byte(`{"external_id": "m1", "sender": {`), 400},
			{"unknown field", "crm", adminToken, []byte(`{"external_id":"u1","sender":{"email":"u@example.com"},"text":"x","colour":"red"}`), 400},
			{"missing identity", "crm", adminToken, map[string]any{"external_id": "m2", "text": "who am I"}, 422},
			{"missing external id", "crm", adminToken, map[string]any{"sender": map[string]string{"email": "n@example.com"}, "text": "x"}, 422},
			{"bad email", "crm", adminToken, map[string]any{"external_id": "m3", "sender": map[string]string{"email": "not an email"}, "text": "x"}, 422},
			{"bad timestamp", "crm", adminToken, map[string]any{"external_id": "m4", "sender": map[string]string{"email": "t@example.com"}, "occurred_at": "yesterday"}, 422},
			{"10 MB body", "crm", adminToken, huge, 413},
			{"unknown channel", "nope", adminToken, map[string]any{"external_id": "m5", "sender": map[string]string{"email": "u@example.com"}}, 404},
			{"channel off", "dormant", adminToken, map[string]any{"external_id": "m6", "sender": map[string]string{"email": "o@example.com"}}, 404},
			{"no token", "crm", "", map[string]any{"external_id": "m7", "sender": map[string]string{"email": "o@example.com"}}, 401},
			{"wrong token", "crm", "guess", map[string]any{"external_id": "m8", "sender": map[string]string{"email": "o@example.com"}}, 401},
		}
		for _, tc := range cases {
			var e struct{ Error, Message string }
			code := call(t, "POST", p.base+"/api/v1/channels/"+tc.channel+"/messages", tc.token, tc.body, &e)
			if code != tc.want || e.Error == "" || e.Message == "" {
				t.Errorf("%s: got %d %+v, want %d with a JSON error", tc.name, code, e, tc.want)
			}
		}
		// Nothing of that was stored.
		time.Sleep(300 * time.Millisecond)
		for _, id := range []string{"email:u@example.com", "email:n@example.com", "email:t@example.com", "email:big@example.com", "email:o@example.com"} {
			if _, code := p.find(t, id); code != 404 {
				t.Errorf("%s: bad input stored a customer (%d)", id, code)
			}
		}
		var qs struct{ Length, Dead int64 }
		call(t, "GET", p.base+"/api/v1/queues/ingest", adminToken, nil, &qs)
		if qs.Dead != 0 {
			t.Errorf("dead letters after bad input: %d", qs.Dead)
		}
		// Agents may not use admin routes.
		if code := call(t, "PUT", p.base+"/api/v1/channels/crm/phase", agentToken, map[string]string{"phase": "off"}, nil); code != 403 {
			t.Errorf("agent changing a phase: %d, want 403", code)
		}
		if code := call(t, "GET", p.base+"/api/v1/customers/"+c.ID, "", nil, nil); code != 401 {
			t.Errorf("no token reading a customer: %d, want 401", code)
		}
		// An admin turns the channel off at run time: the endpoint disappears.
		out, err := exec.Command(binary(t), "channels", "phase", "crm", "off", "--url", p.base, "--token", adminToken).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "off") {
			t.Fatalf("channels phase: %v %s", err, out)
		}
		if code, _ := p.post(t, "crm", map[string]any{"external_id": "after-off", "sender": map[string]string{"email": "z@example.com"}}); code != 404 {
			t.Fatalf("post to a channel switched off: %d", code)
		}
		var audit struct {
			Audit []struct{ Actor, Action, Target string } `json:"audit"`
		}
		call(t, "GET", p.base+"/api/v1/audit", adminToken, nil, &audit)
		if len(audit.Audit) == 0 || audit.Audit[0].Action != "channel.phase" || audit.Audit[0].Actor != "root" {
			t.Fatalf("audit log = %+v", audit.Audit)
		}
	})
}

func TestEndToEndReplyNoteAndConversationActions(t *testing.T) {
	mock := twilioMockURL(t)
	addr := freeAddr(t)
	p := start(t, writeConfig(t, embeddedStore(t), smsChannelYAML("http://"+addr, mock)), addr)
	p.post(t, "crm", map[string]any{"external_id": "r1", "sender": map[string]string{"email": "rae@example.com", "phone": "+358401234599"}, "text": "help"})
	var convs struct {
		Conversations []struct{ ID, Status, Assignee, Team, Channel string } `json:"conversations"`
	}
	// A conversation is listed from when it is opened; its routing is
	// stored with its first message a moment later.
	waitFor(t, "the routed conversation", 10*time.Second, func() bool {
		call(t, "GET", p.base+"/api/v1/conversations?status=open", agentToken, nil, &convs)
		return len(convs.Conversations) == 1 && convs.Conversations[0].Team != ""
	})
	cv := convs.Conversations[0]
	if cv.Team != "support" || cv.Assignee == "" {
		t.Fatalf("conversation not routed: %+v", cv)
	}
	cust, _ := p.find(t, "email:rae@example.com")
	// The api channel only receives: a reply on it is refused before
	// anything is stored (422 channel_cannot_reply), and the conversation
	// stays open with nothing new on the timeline.
	var refused struct{ Error, Message string }
	if code := call(t, "POST", p.base+"/api/v1/conversations/"+cv.ID+"/messages", agentToken, map[string]string{"text": "on it"}, &refused); code != 422 ||
		refused.Error != "channel_cannot_reply" || !strings.Contains(refused.Message, "crm is an api channel") {
		t.Fatalf("reply on the api channel: %d %+v, want 422 channel_cannot_reply", code, refused)
	}
	var still struct{ Status string }
	if call(t, "GET", p.base+"/api/v1/conversations/"+cv.ID, agentToken, nil, &still); still.Status != "open" {
		t.Fatalf("a refused reply moved the conversation to %q", still.Status)
	}
	if es := p.timeline(t, cust.ID); len(es) != 1 {
		t.Fatalf("timeline after a refused reply: %+v", es)
	}
	// The same conversation answered by SMS (the Twilio mock).
	var e struct{ ID, Status, Direction, Channel string }
	if code := call(t, "POST", p.base+"/api/v1/conversations/"+cv.ID+"/messages", agentToken, map[string]string{"text": "on it", "channel": "sms"}, &e); code != 202 || e.Status != "queued" || e.Direction != "out" || e.Channel != "sms" {
		t.Fatalf("reply: %d %+v", code, e)
	}
	if code := call(t, "POST", p.base+"/api/v1/conversations/"+cv.ID+"/notes", agentToken, map[string]string{"text": "vip"}, &e); code != 201 {
		t.Fatalf("note: %d", code)
	}
	if code := call(t, "POST", p.base+"/api/v1/conversations/"+cv.ID+"/messages", agentToken, map[string]string{"text": "  ", "channel": "sms"}, nil); code != 422 {
		t.Fatalf("empty reply: %d", code)
	}
	var c struct{ Status string }
	if code := call(t, "PATCH", p.base+"/api/v1/conversations/"+cv.ID, agentToken, map[string]string{"status": "resolved"}, &c); code != 200 || c.Status != "resolved" {
		t.Fatalf("resolve: %d %+v", code, c)
	}
	es := p.timeline(t, cust.ID)
	if len(es) != 3 || es[1].Direction != "out" || es[2].Direction != "note" {
		t.Fatalf("timeline after reply and note: %+v", es)
	}
	// The reply reaches a final status, not left hanging.
	waitFor(t, "the reply's final status", 10*time.Second, func() bool {
		es = p.timeline(t, cust.ID)
		return es[1].Status == "sent"
	})
}
