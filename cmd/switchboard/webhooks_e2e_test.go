package main_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/switchboard-hub/switchboard/webhooks"
)

// hookReceiver verifies every request with the Standard Webhooks Go
// library and answers code (settable).
type hookReceiver struct {
	mu      sync.Mutex
	hook    *standardwebhooks.Webhook
	code    int
	tries   map[string]int    // webhook-id → requests
	ok      map[string]string // webhook-id → type, answered 2xx
	data    map[string]map[string]any
	invalid []string
}

func newHookReceiver(t *testing.T, secret string) (*hookReceiver, *httptest.Server) {
	h, err := standardwebhooks.NewWebhook(secret)
	if err != nil {
		t.Fatal(err)
	}
	rc := &hookReceiver{hook: h, code: 200, tries: map[string]int{}, ok: map[string]string{}, data: map[string]map[string]any{}}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var body struct {
			Type string         `json:"type"`
			Data map[string]any `json:"data"`
		}
		rc.mu.Lock()
		defer rc.mu.Unlock()
		if err := rc.hook.Verify(b, r.Header); err != nil || json.Unmarshal(b, &body) != nil {
			rc.invalid = append(rc.invalid, fmt.Sprintf("%v: %s", err, b))
			w.WriteHeader(400)
			return
		}
		id := r.Header.Get("webhook-id")
		rc.tries[id]++
		if rc.code < 300 {
			rc.ok[id] = body.Type
			rc.data[id] = body.Data
		}
		w.WriteHeader(rc.code)
	}))
	t.Cleanup(srv.Close)
	return rc, srv
}

func (rc *hookReceiver) setCode(c int) { rc.mu.Lock(); rc.code = c; rc.mu.Unlock() }

// TestWebhooksSurviveAKill: messages accepted while the receiver fails
// (503) are delivered after the hub is killed with SIGKILL and started
// again, each verified with the Standard Webhooks library and with the
// webhook-id its failed attempt had; an agent's resolve is reported too,
// and the admin API shows the delivery log.
func TestWebhooksSurviveAKill(t *testing.T) {
	eachStore(t, func(t *testing.T, sc string) {
		secret := webhooks.NewSecret()
		rc, srv := newHookReceiver(t, secret)
		rc.setCode(503)
		secretFile := filepath.Join(t.TempDir(), "hook.secret")
		if err := os.WriteFile(secretFile, []byte(secret+"\n"), 0o600); err != nil {
			t.Fatal(err)
		}
		cfg := writeConfig(t, sc, fmt.Sprintf(`webhooks:
  - name: crm-out
    url: %s/hook
    events: [message.received, conversation.opened, conversation.resolved]
    secret_file: %s
    allow_http: true
    allow_private_addresses: true
`, srv.URL, secretFile))
		addr := freeAddr(t)
		p := start(t, cfg, addr)
		const n = 5
		for i := range n {
			if code, _ := p.post(t, "crm", map[string]any{"external_id": fmt.Sprint("wh-", i), "text": fmt.Sprint("hello ", i),
				"sender": map[string]string{"email": fmt.Sprintf("hook%d@example.com", i%2)}}); code != 202 {
				t.Fatalf("post %d: %d", i, code)
			}
		}
		// Some attempts were made and refused (or not yet): kill now.
		waitFor(t, "a first attempt", 15*time.Second, func() bool {
			rc.mu.Lock()
			defer rc.mu.Unlock()
			return len(rc.tries) > 0
		})
		p.kill()
		rc.mu.Lock()
		failedIDs := map[string]bool{}
		for id := range rc.tries {
			failedIDs[id] = true
		}
		rc.mu.Unlock()
		rc.setCode(200)

		p = start(t, cfg, addr)
		// n messages, two customers' conversations opened.
		waitFor(t, "every event delivered after the restart", 30*time.Second, func() bool {
			rc.mu.Lock()
			defer rc.mu.Unlock()
			return len(rc.ok) >= n+2
		})
		rc.mu.Lock()
		types := map[string]int{}
		for id, typ := range rc.ok {
			types[typ]++
			delete(failedIDs, id)
		}
		invalid := rc.invalid
		rc.mu.Unlock()
		if len(invalid) > 0 {
			t.Fatalf("requests that did not verify: %v", invalid)
		}
		if types["message.received"] != n || types["conversation.opened"] != 2 {
			t.Fatalf("delivered %v, want %d message.received and 2 conversation.opened", types, n)
		}
		if len(failedIDs) > 0 {
			t.Fatalf("webhook-ids attempted before the kill and never delivered after it: %v", failedIDs)
		}

		// An agent resolves a conversation: conversation.resolved.
		c, _ := p.find(t, "email:hook0@example.com")
		es := p.timeline(t, c.ID)
		var conv map[string]any
		if code := call(t, "PATCH", p.base+"/api/v1/conversations/"+es[0].ConversationID, agentToken, map[string]string{"status": "resolved"}, &conv); code != 200 {
			t.Fatalf("resolve: %d", code)
		}
		waitFor(t, "conversation.resolved", 15*time.Second, func() bool {
			rc.mu.Lock()
			defer rc.mu.Unlock()
			for id, typ := range rc.ok {
				if typ == "conversation.resolved" && rc.data[id]["conversation_id"] == es[0].ConversationID && rc.data[id]["by"] == "alice" {
					return true
				}
			}
			return false
		})

		// The admin API: the endpoint and its log; agents are refused.
		var list struct {
			Webhooks []map[string]any `json:"webhooks"`
		}
		if code := call(t, "GET", p.base+"/api/v1/webhooks", adminToken, nil, &list); code != 200 || len(list.Webhooks) != 1 || list.Webhooks[0]["source"] != "config" {
			t.Fatalf("GET /api/v1/webhooks: %d %v", code, list)
		}
		if code := call(t, "GET", p.base+"/api/v1/webhooks", agentToken, nil, nil); code != 403 {
			t.Fatalf("an agent listed webhooks: %d", code)
		}
		var log struct {
			Deliveries []map[string]any `json:"deliveries"`
		}
		if code := call(t, "GET", p.base+"/api/v1/webhooks/crm-out/deliveries", adminToken, nil, &log); code != 200 || len(log.Deliveries) != n+3 {
			t.Fatalf("deliveries: %d, %d records, want %d", code, len(log.Deliveries), n+3)
		}
		var ping map[string]any
		if code := call(t, "POST", p.base+"/api/v1/webhooks/crm-out/ping", adminToken, nil, &ping); code != 200 || ping["code"] != float64(200) {
			t.Fatalf("ping: %d %v", code, ping)
		}
		// The CLI says the same.
		for _, args := range [][]string{{"list"}, {"deliveries", "crm-out"}, {"ping", "crm-out"}, {"replay", "crm-out"}} {
			cmd := exec.Command(binary(t), append(append([]string{"webhooks"}, args...), "--url", p.base, "--token", adminToken)...)
			out, err := cmd.CombinedOutput()
			want := map[string]string{"list": "crm-out", "deliveries": "delivered", "ping": "answered 200", "replay": "replayed 0"}[args[0]]
			if err != nil || !strings.Contains(string(out), want) {
				t.Fatalf("switchboard webhooks %v: %v\n%s\nwant %q in it", args, err, out, want)
			}
		}
		// An endpoint added through the API gets its secret once; a
		// loopback URL without allow_private_addresses is refused when sent.
		var created struct {
			Webhook map[string]any `json:"webhook"`
			Secret  string         `json:"secret"`
		}
		if code := call(t, "POST", p.base+"/api/v1/webhooks", adminToken, map[string]any{"name": "local", "url": srv.URL, "events": []string{"*"}, "allow_http": true}, &created); code != 201 || len(created.Secret) < 20 {
			t.Fatalf("POST /api/v1/webhooks: %d %+v", code, created)
		}
		if code := call(t, "POST", p.base+"/api/v1/webhooks/local/ping", adminToken, nil, &ping); code != 200 || ping["code"] != float64(0) {
			t.Fatalf("ping of a loopback URL without allow_private_addresses: %d %v, want refused", code, ping)
		}
		if code := call(t, "DELETE", p.base+"/api/v1/webhooks/crm-out", adminToken, nil, nil); code != 409 {
			t.Fatalf("deleting a configured endpoint: %d, want 409", code)
		}
		if code := call(t, "DELETE", p.base+"/api/v1/webhooks/local", adminToken, nil, nil); code != 204 {
			t.Fatalf("deleting an API endpoint: %d, want 204", code)
		}
	})
}
