package inbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
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
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-tok")}},
		// crm is trusted: a system posts with an API key scoped to it.
		APIKeys: []inbox.APIKey{{Name: "crm-sync", TokenSHA256: []string{inbox.HashToken("sync-tok")}, Channels: []string{"crm"}, Scopes: []string{inbox.ScopeIngest}}}})
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

// TestAPIChannelRecordsWhoPosted: whoever posted (here the API key
// crm-sync) is on the entry (posted_by, through the ingest queue) and in
// the audit log.
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
	if e.PostedBy != "key:crm-sync" {
		t.Errorf("entry posted_by %q, want key:crm-sync", e.PostedBy)
	}
	var tl struct {
		Entries []map[string]any `json:"entries"`
	}
	h.get(t, "/api/v1/customers/"+e.CustomerID+"/timeline", &tl)
	if len(tl.Entries) != 1 || tl.Entries[0]["posted_by"] != "key:crm-sync" {
		t.Errorf("timeline entries %v, want one with posted_by key:crm-sync", tl.Entries)
	}
	as, err := h.st.ListAudit(context.Background(), 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 1 || as[0].Actor != "key:crm-sync" || as[0].Action != "channel.message" || as[0].Target != "crm" || as[0].Detail != id {
		t.Errorf("audit %+v, want one channel.message record by crm-sync on crm naming %s", as, id)
	}
}

// TestAPIChannelRefusesBadInput: malformed ids, names and times get a
// clear 400 naming the field, and nothing is queued.
func TestAPIChannelRefusesBadInput(t *testing.T) {
	h := newAPIHub(t)
	sender := `"sender":{"email":"ada@example.com"}`
	long := strings.Repeat("x", connectors.MaxIDBytes+1)
	for _, c := range []struct {
		name string
		body string
		want string
	}{
		{"external_id over 512 bytes", `{"external_id":"` + long + `",` + sender + `}`, "external_id is 513 bytes, the limit is 512"},
		{"thread_id of 100 KB", `{"external_id":"e1","thread_id":"` + strings.Repeat("t", 100<<10) + `",` + sender + `}`, "thread_id is 102400 bytes"},
		{"invalid UTF-8 in external_id", "{\"external_id\":\"k-\xff\"," + sender + "}", "not valid UTF-8 (byte 18)"},
		{"invalid UTF-8 in the text", "{\"external_id\":\"e2\",\"text\":\"caf\xe9\"," + sender + "}", "not valid UTF-8"},
		{"lone surrogate escape in external_id", `{"external_id":"k-\ud800",` + sender + `}`, "external_id contains U+FFFD"},
		{"NUL in external_id", `{"external_id":"e\u0000",` + sender + `}`, "external_id has the control character U+0000"},
		{"line break in thread_id", `{"external_id":"e3","thread_id":"t\n1",` + sender + `}`, "thread_id has the control character U+000A"},
		{"escape sequence in sender.name", `{"external_id":"e4","sender":{"email":"ada@example.com","name":"Ada\u001b[31m"}}`, "sender.name has the control character U+001B"},
		{"NUL in sender.email", `{"external_id":"e5","sender":{"email":"ada@example.com\u0000"}}`, "sender.email has the control character U+0000"},
		{"line break in subject", `{"external_id":"e6","subject":"hi\r\nBcc: x",` + sender + `}`, "subject has the control character U+000D"},
		{"occurred_at before 2000", `{"external_id":"e7","occurred_at":"1999-12-31T23:59:59Z",` + sender + `}`, "occurred_at 1999-12-31T23:59:59Z is before 2000-01-01T00:00:00Z"},
		{"every problem at once", `{"external_id":"` + long + `","thread_id":"a\u0000"}`, "external_id is 513 bytes, the limit is 512; thread_id has the control character U+0000 at byte 1; sender needs at least one identity"},
	} {
		code, body := h.postRaw(t, "sync-tok", []byte(c.body))
		if code != http.StatusBadRequest || body["error"] != "bad_input" || !strings.Contains(fmt.Sprint(body["message"]), c.want) {
			t.Errorf("%s: %d %v; want 400 bad_input saying %q", c.name, code, body, c.want)
		}
	}
	if n := h.queued(t); n != 0 {
		t.Fatalf("%d messages queued by refused requests", n)
	}
	// The limits are inclusive.
	code, body := h.postRaw(t, "sync-tok", []byte(`{"external_id":"`+long[1:]+`","thread_id":"`+long[1:]+`","text":"tab\tand\nlines are text",`+sender+`}`))
	if code != http.StatusAccepted {
		t.Fatalf("ids of exactly 512 bytes: %d %v", code, body)
	}
}

// Two external_ids that differ only in bytes JSON decoding would replace
// are both refused, not merged into one id (the second message was lost
// as a duplicate of the first).
func TestAPIChannelIDsDifferingInInvalidBytesAreNotMerged(t *testing.T) {
	h := newAPIHub(t)
	for _, pair := range [][2]string{
		{"order-\xff", "order-\xfe"},           // invalid bytes
		{`order-\ud800`, `order-\udbff`},       // lone surrogate escapes
		{"order-\xed\xa0\x80", `order-\ud800`}, // an encoded surrogate, and its escape
	} {
		for _, id := range pair {
			code, body := h.postRaw(t, "sync-tok", []byte(`{"external_id":"`+id+`","sender":{"email":"ada@example.com"},"text":"x"}`))
			if code != http.StatusBadRequest {
				t.Errorf("external_id %q: %d %v, want 400", id, code, body)
			}
		}
	}
	if n := h.queued(t); n != 0 {
		t.Fatalf("%d messages queued", n)
	}
}

// A message dated far in the future (year 9999) is taken as sent now: it
// used to sort above everything after it and freeze the conversation's
// preview on itself.
func TestAPIChannelFutureTimeIsNow(t *testing.T) {
	h := newAPIHub(t)
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	h.clock = &now
	code, body := h.post(t, "sync-tok", map[string]any{"external_id": "f1", "thread_id": "t", "sender": map[string]string{"email": "ada@example.com"},
		"text": "from the far future", "occurred_at": "9999-12-31T23:59:59Z"})
	if code != http.StatusAccepted {
		t.Fatalf("post: %d %v", code, body)
	}
	h.drain(t)
	first, err := h.st.GetEntry(context.Background(), body["id"].(string))
	if err != nil {
		t.Fatal(err)
	}
	if !first.OccurredAt.Equal(now) {
		t.Fatalf("occurred_at %v, want now (%v)", first.OccurredAt, now)
	}
	later := now.Add(time.Minute)
	h.clock = &later
	if code, body := h.post(t, "sync-tok", map[string]any{"external_id": "f2", "thread_id": "t", "sender": map[string]string{"email": "ada@example.com"},
		"text": "a minute later"}); code != http.StatusAccepted {
		t.Fatalf("second post: %d %v", code, body)
	}
	h.drain(t)
	c, err := h.st.GetConversation(context.Background(), first.ConversationID)
	if err != nil {
		t.Fatal(err)
	}
	if c.Preview != "a minute later" || !c.LastActivity.Equal(later) {
		t.Fatalf("conversation preview %q at %v, want the later message at %v", c.Preview, c.LastActivity, later)
	}
}
