package inbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// apiHub is the api channel in front of the real ingest queue and router,
// below HTTP: what a caller posts is processed by drain as a worker would.
type apiHub struct {
	srv   *inbox.Server
	st    store.Store
	rt    *router.Router
	clock *time.Time // the hub's clock; nil: the system clock
}

func newAPIHub(t *testing.T) *apiHub {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	h := &apiHub{st: st}
	now := func() time.Time {
		if h.clock != nil {
			return *h.clock
		}
		return time.Now()
	}
	dir := directory.New(st, []directory.Channel{{Name: "crm", Type: "api", Phase: store.PhaseLive, Trusted: true}}, now, nil)
	h.rt = router.New(st, dir, router.Options{Clock: now, Routing: router.Routing{Teams: []string{"support"}}})
	h.srv = inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: router.NewIngest(st, dir, "FI", now, nil), Clock: now,
		Credentials: []inbox.Credential{
			{Principal: inbox.Principal{Name: "crm-sync", Role: "agent", Teams: []string{"support"}}, TokenSHA256: inbox.HashToken("sync-tok")},
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-tok")}}})
	return h
}

// postRaw posts body as it is (bytes, not re-encoded) to the crm channel.
func (h *apiHub) postRaw(t *testing.T, token string, body []byte) (int, map[string]any) {
	t.Helper()
	req := httptest.NewRequest("POST", "/api/v1/channels/crm/messages", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer %d is not JSON: %q", rec.Code, rec.Body)
	}
	return rec.Code, out
}

func (h *apiHub) post(t *testing.T, token string, msg map[string]any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return h.postRaw(t, token, b)
}

// get calls a GET route as the admin and decodes its JSON answer into v.
func (h *apiHub) get(t *testing.T, path string, v any) {
	t.Helper()
	req := httptest.NewRequest("GET", path, nil)
	req.Header.Set("Authorization", "Bearer root-tok")
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	if rec.Code != 200 {
		t.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
	}
	if err := json.Unmarshal(rec.Body.Bytes(), v); err != nil {
		t.Fatal(err)
	}
}

// drain processes every queued message as a router worker would, and
// returns how many there were.
func (h *apiHub) drain(t *testing.T) int {
	t.Helper()
	ctx := context.Background()
	n := 0
	for {
		ds, err := h.st.Read(ctx, store.QueueIngest, "test", 100, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(ds) == 0 {
			return n
		}
		for _, d := range ds {
			var m connectors.Message
			if err := json.Unmarshal(d.Payload, &m); err != nil {
				t.Fatal(err)
			}
			if err := h.rt.Process(ctx, m); err != nil {
				t.Fatalf("process %s: %v", m.ID, err)
			}
			if err := h.st.Ack(ctx, store.QueueIngest, d.ID); err != nil {
				t.Fatal(err)
			}
			n++
		}
	}
}

func (h *apiHub) queued(t *testing.T) int64 {
	t.Helper()
	st, err := h.st.QueueStats(context.Background(), store.QueueIngest)
	if err != nil {
		t.Fatal(err)
	}
	return st.Length
}

// TestAPIChannelRecordsWhoPosted: any agent's token may post to a trusted
// api channel, so whoever posted is on the entry (posted_by, through the
// ingest queue) and in the audit log.
func TestAPIChannelRecordsWhoPosted(t *testing.T) {
	h := newAPIHub(t)
	code, body := h.post(t, "sync-tok", map[string]any{"external_id": "order-1", "sender": map[string]string{"email": "ada@example.com"}, "text": "Where is my order?"})
	if code != http.StatusAccepted {
		t.Fatalf("post: %d %v", code, body)
	}
	id := body["id"].(string)
	if n := h.drain(t); n != 1 {
		t.Fatalf("%d messages processed, want 1", n)
	}
	e, err := h.st.GetEntry(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	if e.PostedBy != "crm-sync" {
		t.Errorf("entry posted_by %q, want crm-sync", e.PostedBy)
	}
	var tl struct {
		Entries []map[string]any `json:"entries"`
	}
	h.get(t, "/api/v1/customers/"+e.CustomerID+"/timeline", &tl)
	if len(tl.Entries) != 1 || tl.Entries[0]["posted_by"] != "crm-sync" {
		t.Errorf("timeline entries %v, want one with posted_by crm-sync", tl.Entries)
	}
	as, err := h.st.ListAudit(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Actor != "crm-sync" || as[0].Action != "channel.message" || as[0].Target != "crm" || as[0].Detail != id {
		t.Errorf("audit %+v, want one channel.message record by crm-sync on crm naming %s", as, id)
	}
}
