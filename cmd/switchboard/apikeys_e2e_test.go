package main_test

import (
	"crypto/sha256"
	"encoding/hex"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// Scoped API keys and the audit log end to end, through the binary: a
// config with api_keys passes `config check`; on the trusted channel crm
// an agent's token gets 403, the key scoped to it is accepted with either
// of its two tokens (a rotation: one by token, one by token_sha256), a key
// for another channel gets 403; the entry records posted_by key:crm-sync;
// `switchboard audit` lists the posts with the key as actor, filtered, and
// the keys' configuration change.
func TestAPIKeysAndAuditCLI(t *testing.T) {
	sum := sha256.Sum256([]byte("crm-key-new"))
	cfg := writeConfig(t, embeddedStore(t), `api_keys:
  - {name: crm-sync, token: crm-key-old, channels: [crm], scopes: [ingest]}
  - {name: crm-sync, token_sha256: `+hex.EncodeToString(sum[:])+`, channels: [crm], scopes: [ingest]}
  - {name: partner-sync, token: partner-key, channels: [partner], scopes: [ingest, read]}
`)
	if out, err := exec.Command(binary(t), "config", "check", cfg).CombinedOutput(); err != nil {
		t.Fatalf("config check: %v\n%s", err, out)
	}
	p := start(t, cfg, freeAddr(t))
	msg := func(id, email string) map[string]any {
		return map[string]any{"external_id": id, "sender": map[string]string{"email": email}, "text": "hello"}
	}
	for _, c := range []struct {
		token, channel string
		want           int
	}{
		{agentToken, "crm", 403},
		{"crm-key-old", "crm", 202},
		{"crm-key-new", "crm", 202},
		{"partner-key", "crm", 403},
		{"partner-key", "partner", 202},
		{"crm-key-new", "partner", 403},
	} {
		var out map[string]any
		if code := call(t, "POST", p.base+"/api/v1/channels/"+c.channel+"/messages", c.token, msg(c.token+"-"+c.channel, "keys@example.com"), &out); code != c.want {
			t.Errorf("POST %s as %s: %d %v, want %d", c.channel, c.token, code, out, c.want)
		}
	}
	var cust customer
	waitFor(t, "the posts on a timeline", 15*time.Second, func() bool {
		var code int
		cust, code = p.find(t, "email:keys@example.com")
		return code == 200 && len(p.timeline(t, cust.ID)) == 2 // partner's identities are claimed: another customer
	})
	var tl struct {
		Entries []map[string]any `json:"entries"`
	}
	call(t, "GET", p.base+"/api/v1/customers/"+cust.ID+"/timeline", "partner-key", nil, &tl) // a read key reads timelines
	by := map[string]int{}
	for _, e := range tl.Entries {
		s, _ := e["posted_by"].(string)
		by[s]++
	}
	if by["key:crm-sync"] != 2 || len(by) != 1 {
		t.Errorf("posted_by on the timeline: %v", by)
	}
	if code := call(t, "GET", p.base+"/api/v1/conversations", "partner-key", nil, nil); code != 403 {
		t.Errorf("a key listing conversations: %d, want 403", code)
	}
	out, err := exec.Command(binary(t), "audit", "--since", "1h", "--action", "channel.message", "--actor", "key:crm-sync", "--url", p.base, "--token", adminToken).CombinedOutput()
	if err != nil {
		t.Fatalf("switchboard audit: %v\n%s", err, out)
	}
	lines := strings.Split(strings.TrimSpace(string(out)), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "AT") || !strings.Contains(lines[1], "key:crm-sync") || !strings.Contains(lines[1], "channel.message") {
		t.Errorf("switchboard audit: %q, want a header and the two posts of key:crm-sync", lines)
	}
	out, err = exec.Command(binary(t), "audit", "--json", "--actor", "key:partner-sync", "--url", p.base, "--token", adminToken).CombinedOutput()
	if err != nil || strings.Count(string(out), `"actor":"key:partner-sync"`) != 1 {
		t.Errorf("switchboard audit --json: %v\n%s", err, out)
	}
	// The keys themselves: their change (here: first configured) is
	// audited at start, by "config", without tokens or digests.
	out, err = exec.Command(binary(t), "audit", "--action", "api_key", "--url", p.base, "--token", adminToken).CombinedOutput()
	if err != nil || !strings.Contains(string(out), "crm-sync(scopes ingest; channels crm; 2 token(s))") || !strings.Contains(string(out), "config") ||
		strings.Contains(string(out), hex.EncodeToString(sum[:])) || strings.Contains(string(out), "crm-key-old") {
		t.Errorf("switchboard audit --action api_key: %v\n%s", err, out)
	}
	if out, err := exec.Command(binary(t), "audit", "--since", "yesterday", "--url", p.base, "--token", adminToken).CombinedOutput(); err == nil {
		t.Errorf("audit --since yesterday: no error\n%s", out)
	}
}
