package inbox_test

import (
	"bytes"
	"encoding/json"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// keyHub: a trusted api channel crm, an untrusted one partner, an agent,
// an admin, and keys: crm-sync (ingest on crm, rotated: two tokens),
// partner-sync (ingest on partner), reader (read), hooks (webhooks).
func keyHub(t *testing.T) (*inbox.Server, store.Store) {
	t.Helper()
	st := hubtest.Embedded(t)
	dir := directory.New(st, []directory.Channel{
		{Name: "crm", Type: "api", Phase: store.PhaseLive, Trusted: true},
		{Name: "partner", Type: "api", Phase: store.PhaseLive}}, store.SystemClock, nil)
	srv := inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: router.NewIngest(st, dir, "FI", store.SystemClock, nil),
		Credentials: []inbox.Credential{
			{Principal: inbox.Principal{Name: "alice", Role: "agent", Teams: []string{"support"}}, TokenSHA256: inbox.HashToken("alice-tok")},
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-tok")}},
		APIKeys: []inbox.APIKey{
			{Name: "crm-sync", TokenSHA256: []string{inbox.HashToken("crm-old"), inbox.HashToken("crm-new")}, Channels: []string{"crm"}, Scopes: []string{inbox.ScopeIngest}},
			{Name: "partner-sync", TokenSHA256: []string{inbox.HashToken("partner-tok")}, Channels: []string{"partner"}, Scopes: []string{inbox.ScopeIngest}},
			{Name: "reader", TokenSHA256: []string{inbox.HashToken("read-tok")}, Scopes: []string{inbox.ScopeRead}},
			{Name: "hooks", TokenSHA256: []string{inbox.HashToken("hooks-tok")}, Scopes: []string{inbox.ScopeWebhooks}},
		}})
	return srv, st
}

func keyCall(t *testing.T, srv *inbox.Server, method, path, token string, body any) (int, map[string]any) {
	t.Helper()
	var rd *bytes.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	} else {
		rd = bytes.NewReader(nil)
	}
	req := httptest.NewRequest(method, path, rd)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var out map[string]any
	_ = json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out
}

// TestAPIKeysOnTrustedChannel: an agent's token is refused (403) on a
// trusted api channel; a key scoped to it is accepted, with either of its
// two rotated tokens; a key for another channel is refused; an admin may
// post (set-up, the quick start); an agent may still post to an untrusted
// channel. Every accepted post records who posted it (posted_by).
func TestAPIKeysOnTrustedChannel(t *testing.T) {
	srv, st := keyHub(t)
	msg := func(id string) map[string]any {
		return map[string]any{"external_id": id, "sender": map[string]string{"email": "ada@example.com"}, "text": "hello"}
	}
	for _, c := range []struct {
		name, channel, token string
		want                 int
		postedBy             string
	}{
		{"agent on trusted", "crm", "alice-tok", 403, ""},
		{"scoped key", "crm", "crm-old", 202, "key:crm-sync"},
		{"rotated key, new token", "crm", "crm-new", 202, "key:crm-sync"},
		{"key for another channel", "crm", "partner-tok", 403, ""},
		{"read key", "crm", "read-tok", 403, ""},
		{"admin on trusted", "crm", "root-tok", 202, "root"},
		{"agent on untrusted", "partner", "alice-tok", 202, "alice"},
		{"crm key on partner", "partner", "crm-new", 403, ""},
		{"partner key", "partner", "partner-tok", 202, "key:partner-sync"},
		{"unknown token", "crm", "nope", 401, ""},
	} {
		t.Run(c.name, func(t *testing.T) {
			before := queueLen(t, st)
			code, body := keyCall(t, srv, "POST", "/api/v1/channels/"+c.channel+"/messages", c.token, msg(c.name))
			if code != c.want {
				t.Fatalf("POST as %s: %d %v, want %d", c.token, code, body, c.want)
			}
			if c.want != 202 {
				if n := queueLen(t, st); n != before {
					t.Fatalf("refused post queued a message (%d -> %d)", before, n)
				}
				return
			}
			ds, err := st.Read(t.Context(), store.QueueIngest, "t-"+c.token+c.name, 100, 0)
			if err != nil {
				t.Fatal(err)
			}
			found := false
			for _, d := range ds {
				var m struct {
					ProviderID string `json:"provider_id"`
					PostedBy   string `json:"posted_by"`
				}
				if err := json.Unmarshal(d.Payload, &m); err != nil {
					t.Fatal(err)
				}
				if m.ProviderID == c.name {
					found = true
					if m.PostedBy != c.postedBy {
						t.Errorf("posted_by %q, want %q", m.PostedBy, c.postedBy)
					}
				}
			}
			if !found {
				t.Fatalf("message %q not queued", c.name)
			}
		})
	}
}

func queueLen(t *testing.T, st store.Store) int64 {
	t.Helper()
	return hubtest.Queued(t, st)
}

// TestAPIKeyScopes: a key reaches only what its scopes name: read gives
// customers and timelines, webhooks the webhook admin API, and nothing
// else (no inbox, no conversations, no agent or admin routes).
func TestAPIKeyScopes(t *testing.T) {
	srv, _ := keyHub(t)
	for _, c := range []struct {
		method, path, token string
		want                int
	}{
		{"GET", "/api/v1/customers?identity=email:nobody@example.com", "read-tok", 404},
		{"GET", "/api/v1/customers/c1/timeline", "read-tok", 404},
		{"GET", "/api/v1/inbox", "read-tok", 403},
		{"GET", "/api/v1/conversations", "read-tok", 403},
		{"GET", "/api/v1/session", "read-tok", 403},
		{"POST", "/api/v1/events/tickets", "read-tok", 403},
		{"GET", "/api/v1/audit", "read-tok", 403},
		{"GET", "/api/v1/webhooks", "read-tok", 403},
		{"GET", "/api/v1/webhooks", "hooks-tok", 200},
		{"GET", "/api/v1/customers?identity=email:nobody@example.com", "hooks-tok", 403},
		{"GET", "/api/v1/channels", "crm-new", 403},
		{"GET", "/api/v1/audit", "crm-new", 403},
		{"GET", "/api/v1/queues/ingest", "crm-new", 403},
	} {
		if code, body := keyCall(t, srv, c.method, c.path, c.token, nil); code != c.want {
			t.Errorf("%s %s as %s: %d %v, want %d", c.method, c.path, c.token, code, body, c.want)
		}
	}
}
