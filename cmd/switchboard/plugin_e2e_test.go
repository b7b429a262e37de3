package main_test

// Channel plugins through the real binary: the example Telegram plugin is
// built and launched by the hub against a fake Bot API (telegramtest: the
// API's documented JSON on loopback, since no network is available here);
// SIGKILL of the plugin mid-stream; refused plugins; malformed messages;
// `switchboard plugins list` and `switchboard plugins test`.

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/plugins/examples/telegram/telegramtest"
)

var (
	pluginBuildMu sync.Mutex
	pluginBuilt   = map[string]string{}
)

// pluginBinary builds a plugin package (once per package and ldflags).
func pluginBinary(t *testing.T, pkg, ldflags string) string {
	t.Helper()
	pluginBuildMu.Lock()
	defer pluginBuildMu.Unlock()
	key := pkg + " " + ldflags
	if p, ok := pluginBuilt[key]; ok {
		return p
	}
	dir, err := os.MkdirTemp("", "switchboard-plugin")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, filepath.Base(pkg))
	if b, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", out, pkg).CombinedOutput(); err != nil {
		t.Fatalf("go build %s: %v\n%s", pkg, err, b)
	}
	pluginBuilt[key] = out
	return out
}

const (
	telegramPkg   = "github.com/switchboard-hub/switchboard/plugins/examples/telegram"
	testPluginPkg = "github.com/switchboard-hub/switchboard/plugins/internal/testplugin"
	e2eBotToken   = "5551234:e2e-bot-token"
)

func fileSHA(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}

func (p *proc) plugins(t *testing.T) map[string]inbox.PluginStatus {
	t.Helper()
	var out struct {
		Plugins []inbox.PluginStatus `json:"plugins"`
	}
	if code := call(t, "GET", p.base+"/api/v1/plugins", adminToken, nil, &out); code != 200 {
		t.Fatalf("GET /api/v1/plugins: %d", code)
	}
	m := map[string]inbox.PluginStatus{}
	for _, r := range out.Plugins {
		m[r.Plugin] = r
	}
	return m
}

func (p *proc) logText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.logs.String()
}

func telegramConfig(t *testing.T, api *telegramtest.Server) string {
	bin := pluginBinary(t, telegramPkg, "")
	return fmt.Sprintf(`plugins:
  - name: telegram-bot
    path: %s
    sha256: %s
    settings: {bot_token: "%s", api_base_url: "%s", poll_timeout: "1"}
`, bin, fileSHA(t, bin), e2eBotToken, api.URL) + `  - name: spare
    path: /nonexistent/spare-plugin
`
}

const telegramChannel = `  - name: tg
    type: plugin
    phase: live
    plugin: {name: telegram-bot}
`

func TestPluginTelegramEndToEnd(t *testing.T) {
	api := telegramtest.New(e2eBotToken)
	defer api.Close()
	p := start(t, writeConfig(t, embeddedStore(t), telegramChannel+telegramConfig(t, api)), freeAddr(t))
	// Telegram is run-once (one getUpdates consumer): this replica took the
	// channel's lease in the store and receives.
	waitFor(t, "the plugin running", 30*time.Second, func() bool {
		r := p.plugins(t)["telegram-bot"]
		return r.State == "running" && r.Receiving
	})

	ann := telegramtest.User{ID: 777001, FirstName: "Ann", LastName: "Lee", Username: "annlee"}
	api.UserSays(ann, "Hello from Telegram")
	var es []entry
	waitFor(t, "the message on a timeline", 20*time.Second, func() bool {
		c, code := p.find(t, "telegram:777001")
		if code != 200 {
			return false
		}
		es = p.timeline(t, c.ID)
		return len(es) == 1
	})
	if e := es[0]; e.Channel != "tg" || e.Direction != "in" || e.Text != "Hello from Telegram" {
		t.Fatalf("entry = %+v", e)
	}
	c, _ := p.find(t, "telegram:777001")
	if c.Name != "Ann Lee" || len(c.Identities) != 1 || !c.Identities[0].Verified {
		t.Fatalf("customer = %+v", c)
	}
	waitFor(t, "the update confirmed to Telegram", 10*time.Second, func() bool { return api.Pending() == 0 })

	// The agent's reply goes out through the plugin, as a reply in the chat.
	var r struct{ ID, Status string }
	if code := call(t, "POST", p.base+"/api/v1/conversations/"+es[0].ConversationID+"/messages", agentToken, map[string]string{"text": "Hi Ann, how can I help?"}, &r); code != 202 {
		t.Fatalf("reply: %d %+v", code, r)
	}
	waitFor(t, "the reply at Telegram", 20*time.Second, func() bool { return len(api.Sent()) == 1 })
	if s := api.Sent()[0]; s.ChatID != 777001 || s.Text != "Hi Ann, how can I help?" || s.ReplyToMessageID != 1 {
		t.Fatalf("sent = %+v", s)
	}
	waitFor(t, "the reply marked sent", 10*time.Second, func() bool {
		for _, e := range p.timeline(t, c.ID) {
			if e.ID == r.ID {
				return e.Status == "sent"
			}
		}
		return false
	})

	// The CLI shows the plugin and the unused one; the channel test calls getMe.
	out, err := exec.Command(binary(t), "plugins", "list", "--url", p.base, "--token", adminToken).CombinedOutput()
	if err != nil || !regexpLine(string(out), `telegram-bot\s+tg\s+running\s+1\.0\.0\s+\d+\s+0\s+yes\s`) || !regexpLine(string(out), `spare\s+-\s+unused`) {
		t.Fatalf("plugins list: %v\n%s", err, out)
	}
	out, err = exec.Command(binary(t), "channels", "test", "tg", "--url", p.base, "--token", adminToken).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "@switchboard_test_bot") {
		t.Fatalf("channels test: %v\n%s", err, out)
	}
	// Errors from the Bot API reach the hub's log without the token (it is
	// part of every URL): drop the plugin's connections until a failed
	// getUpdates was logged.
	waitFor(t, "a failed getUpdates in the log", 20*time.Second, func() bool {
		api.CloseClientConnections()
		return strings.Contains(p.logText(), "getUpdates failed")
	})
	if logs := p.logText(); strings.Contains(logs, e2eBotToken) || !strings.Contains(logs, `"plugin":"telegram-bot"`) {
		t.Fatalf("the bot token appears in the hub's log, or the plugin's lines lack its name:\n%s", logs)
	}
}

func TestPluginSIGKILLMidStreamLosesAndDuplicatesNothing(t *testing.T) {
	api := telegramtest.New(e2eBotToken)
	defer api.Close()
	p := start(t, writeConfig(t, embeddedStore(t), telegramChannel+telegramConfig(t, api)), freeAddr(t))
	waitFor(t, "the plugin running", 30*time.Second, func() bool { return p.plugins(t)["telegram-bot"].State == "running" })
	pid := p.plugins(t)["telegram-bot"].PID

	// The api channel keeps serving throughout.
	stop := make(chan struct{})
	var apiPosts, apiFailures atomic.Int64
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(20 * time.Millisecond):
			}
			body := fmt.Sprintf(`{"external_id":"keep-%d","sender":{"email":"steady@example.com"},"text":"api %d"}`, i, i)
			req, _ := http.NewRequest("POST", p.base+"/api/v1/channels/crm/messages", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+adminToken)
			req.Header.Set("Content-Type", "application/json")
			resp, err := http.DefaultClient.Do(req)
			apiPosts.Add(1)
			if err != nil || resp.StatusCode != 202 {
				apiFailures.Add(1)
			}
			if resp != nil {
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}
	}()

	// Customers keep writing while the plugin is killed.
	const n = 300
	bob := telegramtest.User{ID: 888002, FirstName: "Bob"}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range n {
			api.UserSays(bob, fmt.Sprintf("msg %03d", i))
			time.Sleep(3 * time.Millisecond)
		}
	}()
	waitFor(t, "some updates taken", 20*time.Second, func() bool { return api.Polls() >= 5 })
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill plugin %d: %v", pid, err)
	}
	waitFor(t, "the plugin restarted", 30*time.Second, func() bool {
		r := p.plugins(t)["telegram-bot"]
		return r.Restarts >= 1 && r.State == "running" && r.PID != pid
	})
	var c customer
	waitFor(t, "every message on the timeline", 60*time.Second, func() bool {
		var code int
		c, code = p.find(t, "telegram:888002")
		return code == 200 && len(p.timeline(t, c.ID)) >= n
	})
	close(stop)
	wg.Wait()
	waitFor(t, "everything confirmed to Telegram", 20*time.Second, func() bool { return api.Pending() == 0 })
	// Confirmed means acknowledged, so durable in the ingest queue: once
	// the queue is empty every copy (a duplicate too) reached the timeline.
	waitFor(t, "the ingest queue drained", 20*time.Second, func() bool {
		var q struct{ Length int }
		return call(t, "GET", p.base+"/api/v1/queues/ingest", adminToken, nil, &q) == 200 && q.Length == 0
	})
	// The kill interrupted something: updates the dead process had taken
	// but not confirmed were served again to the new one.
	if n := api.Reserved(); n < 1 {
		t.Errorf("no update was served twice: the kill did not interrupt a delivery")
	}
	es := p.timeline(t, c.ID)
	seen := map[string]int{}
	for _, e := range es {
		seen[e.Text]++
	}
	for i := range n {
		if k := fmt.Sprintf("msg %03d", i); seen[k] != 1 {
			t.Errorf("%q is on the timeline %d times", k, seen[k])
		}
	}
	if len(es) != n {
		t.Errorf("%d entries, want %d", len(es), n)
	}
	r := p.plugins(t)["telegram-bot"]
	if !strings.Contains(r.LastError, "exited") {
		t.Errorf("last error = %q", r.LastError)
	}
	if f := apiFailures.Load(); f != 0 || apiPosts.Load() < 10 {
		t.Fatalf("api channel: %d of %d posts failed while the plugin was down", f, apiPosts.Load())
	}
	t.Logf("%d messages, plugin restarted %d time(s), %d api posts all accepted", n, r.Restarts, apiPosts.Load())
}

func TestPluginRefusedButHubStarts(t *testing.T) {
	good := pluginBinary(t, testPluginPkg, "")
	cfg := fmt.Sprintf(`  - name: badsum
    type: plugin
    phase: live
    plugin: {name: badsum}
  - name: oldproto
    type: plugin
    phase: live
    plugin: {name: oldproto}
  - name: chatty
    type: plugin
    phase: live
    plugin: {name: chatty}
plugins:
  - name: badsum
    path: %s
    sha256: %s
    settings: {state_dir: %s}
  - name: oldproto
    path: %s
    settings: {state_dir: %s}
  - name: chatty
    path: %s
    settings: {state_dir: %s}
`, good, strings.Repeat("0", 64), t.TempDir(),
		pluginBinary(t, testPluginPkg, "-X main.variant=wrongversion"), t.TempDir(),
		pluginBinary(t, testPluginPkg, "-X main.variant=garbage"), t.TempDir())
	p := start(t, writeConfig(t, embeddedStore(t), cfg), freeAddr(t))
	want := map[string]string{
		"badsum":   "checksum mismatch: the binary's SHA-256 is " + fileSHA(t, good) + " but the configuration says 0000",
		"oldproto": "wrong plugin protocol version: this hub speaks version 1",
		"chatty":   "it wrote to stdout before the handshake",
	}
	waitFor(t, "three refusals", 30*time.Second, func() bool {
		ps := p.plugins(t)
		for name := range want {
			if ps[name].State != "failed" {
				return false
			}
		}
		return true
	})
	ps := p.plugins(t)
	for name, w := range want {
		if !strings.Contains(ps[name].LastError, w) {
			t.Errorf("%s: last error %q lacks %q", name, ps[name].LastError, w)
		}
		if !strings.Contains(p.logText(), w) {
			t.Errorf("%s: the hub's log lacks %q", name, w)
		}
	}
	// The CLI shows why (the LAST ERROR column).
	out, err := exec.Command(binary(t), "plugins", "list", "--url", p.base, "--token", adminToken).CombinedOutput()
	if err != nil || !regexpLine(string(out), `badsum\s+badsum\s+failed\s.*plugin refused: badsum .*checksum mismatch`) {
		t.Fatalf("plugins list: %v\n%s", err, out)
	}
	// The hub serves its other channels.
	if code, _ := p.post(t, "crm", map[string]any{"external_id": "x1", "sender": map[string]string{"email": "still@example.com"}, "text": "still here"}); code != 202 {
		t.Fatalf("api channel: %d", code)
	}
	waitFor(t, "the api message on a timeline", 10*time.Second, func() bool {
		c, code := p.find(t, "email:still@example.com")
		return code == 200 && len(p.timeline(t, c.ID)) == 1
	})
	// A refused plugin's webhooks answer 503, not a crash.
	resp, err := http.Post(p.base+"/webhooks/plugin/badsum/raw?kind=ok", "text/plain", nil)
	if err != nil || resp.StatusCode != 503 {
		t.Fatalf("webhook of a refused plugin: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
}

func TestPluginMalformedMessagesThroughTheHub(t *testing.T) {
	cfg := fmt.Sprintf(`  - name: kit
    type: plugin
    phase: live
    plugin: {name: testplugin}
plugins:
  - name: testplugin
    path: %s
    settings: {state_dir: %s}
`, pluginBinary(t, testPluginPkg, ""), t.TempDir())
	p := start(t, writeConfig(t, embeddedStore(t), cfg), freeAddr(t))
	waitFor(t, "the plugin running", 30*time.Second, func() bool { return p.plugins(t)["testplugin"].State == "running" })
	for kind, want := range map[string]string{
		"noidentity": "invalid message: no sender identity",
		"huge":       "message too large",
		"badutf8":    "invalid message: text is not valid UTF-8",
		"undeclared": `identity kind "phone" is not one the plugin declared`,
		"badflag":    "invalid message: flags[0] is not valid UTF-8",
		"badpurpose": "invalid message: consent purpose is not valid UTF-8",
	} {
		resp, err := http.Post(p.base+"/webhooks/plugin/kit/raw?kind="+kind, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		// Webhook errors are JSON (issue 14): quotes in the message are escaped.
		if resp.StatusCode != 422 || !strings.Contains(string(b), strings.ReplaceAll(want, `"`, `\"`)) {
			t.Errorf("%s: %d %s, want 422 with %q", kind, resp.StatusCode, b, want)
		}
	}
	var q struct{ Length int }
	call(t, "GET", p.base+"/api/v1/queues/ingest", adminToken, nil, &q)
	if _, code := p.find(t, "testkit:kit-user"); code != 404 || q.Length != 0 {
		t.Fatalf("a malformed message was stored (customer %d, queue %d)", code, q.Length)
	}
	resp, err := http.Post(p.base+"/webhooks/plugin/kit/raw?kind=ok", "text/plain", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("a good message: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	waitFor(t, "the good message on a timeline", 10*time.Second, func() bool {
		c, code := p.find(t, "testkit:kit-user")
		return code == 200 && len(p.timeline(t, c.ID)) == 1
	})
	// Switched off, the plugin stops and its webhooks are gone.
	if code := call(t, "PUT", p.base+"/api/v1/channels/kit/phase", adminToken, map[string]string{"phase": "off"}, nil); code != 200 {
		t.Fatalf("phase off: %d", code)
	}
	waitFor(t, "the plugin stopped", 20*time.Second, func() bool { return p.plugins(t)["testplugin"].State == "stopped" })
	resp, _ = http.Post(p.base+"/webhooks/plugin/kit/raw?kind=ok", "text/plain", nil)
	if resp.StatusCode != 404 {
		t.Fatalf("webhook of an off channel: %d", resp.StatusCode)
	}
	resp.Body.Close()
}

func TestPluginsTestCLI(t *testing.T) {
	out, err := exec.Command(binary(t), "plugins", "test", pluginBinary(t, testPluginPkg, ""), "--set", "state_dir="+t.TempDir(), "--to", "testkit:kit-user").CombinedOutput()
	if err != nil || strings.Count(string(out), "PASS ") != 8 {
		t.Fatalf("plugins test: %v\n%s", err, out)
	}
	if !strings.Contains(string(out), "8 checks: 8 passed, 0 skipped, 0 failed") {
		t.Fatalf("plugins test summary:\n%s", out)
	}
	// Without --to the send check is skipped: not a pass (exit 1) unless
	// skips are allowed.
	out, err = exec.Command(binary(t), "plugins", "test", pluginBinary(t, testPluginPkg, ""), "--set", "state_dir="+t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "8 checks: 7 passed, 1 skipped, 0 failed") || !strings.Contains(string(out), "1 check(s) skipped, none failed") {
		t.Fatalf("plugins test with a skipped check: %v\n%s", err, out)
	}
	out, err = exec.Command(binary(t), "plugins", "test", "--allow-skip", pluginBinary(t, testPluginPkg, ""), "--set", "state_dir="+t.TempDir()).CombinedOutput()
	if err != nil {
		t.Fatalf("plugins test --allow-skip: %v\n%s", err, out)
	}
	out, err = exec.Command(binary(t), "plugins", "test", pluginBinary(t, testPluginPkg, "-X main.variant=wrongversion"), "--set", "state_dir="+t.TempDir()).CombinedOutput()
	if err == nil || !strings.Contains(string(out), "FAIL handshake: plugin refused") || !strings.Contains(string(out), "wrong plugin protocol version") {
		t.Fatalf("plugins test of a wrong version: %v\n%s", err, out)
	}
}

// A setting given both as NAME and NAME_file is a configuration error
// (which one won used to depend on map order).
func TestPluginSettingAndItsFileIsAnError(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "token")
	os.WriteFile(secret, []byte("from-file\n"), 0o600)
	cfg := writeConfig(t, embeddedStore(t), fmt.Sprintf(`  - name: kit
    type: plugin
    phase: live
    plugin: {name: testplugin}
plugins:
  - name: testplugin
    path: /nonexistent/testplugin
    settings: {token: inline, token_file: %s}
`, secret))
	cmd := exec.Command(binary(t), "serve", "--config", cfg)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_HTTP_ADDR="+freeAddr(t))
	done := make(chan []byte, 1)
	var out []byte
	go func() { b, _ := cmd.CombinedOutput(); done <- b }()
	select {
	case out = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("the hub started with both token and token_file set:\n%s", <-done)
	}
	if cmd.ProcessState.Success() || !strings.Contains(string(out), "plugins[testplugin].settings: set either token or token_file, not both") {
		t.Fatalf("%v\n%s", cmd.ProcessState, out)
	}
}

func regexpLine(s, pattern string) bool { return regexp.MustCompile(`(?m)` + pattern).MatchString(s) }
