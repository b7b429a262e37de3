package webform_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/httptest"
	"net/textproto"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/webform"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs"
	"github.com/switchboard-hub/switchboard/store/embedded"
	"github.com/switchboard-hub/switchboard/timeline"
)

// The tests below run the channel in front of the hub's real pipeline
// below HTTP: the embedded store, the router's ingest and identity
// resolution, the blob directory. Only time is faked (an injected clock),
// so token ages and rate-limit windows are tested without sleeping.

const secret = "form-signing-secret-0123456789"

// baseSettings is a contact form as a site owner would configure it.
const baseSettings = `
fields:
  - {name: name, type: text, label: Your name, max_length: 80}
  - {name: email, type: email, label: Email}
  - {name: phone, type: phone}
  - {name: topic, type: select, options: [Billing, Support], required: true}
  - {name: message, type: textarea, required: true, max_length: 2000}
  - {name: newsletter, type: checkbox}
  - {name: attachment, type: file}
consent: {field: newsletter, purpose: marketing, text: "Send me the monthly newsletter", version: "2026-01"}
thank_you_url: https://www.example.com/thanks
allowed_origins: ["https://www.example.com"]
secret: ` + secret + `
min_fill_time: 3s
token_ttl: 2h
rate_limit: {per_ip: 100, per_channel: 1000, window: 10m}
uploads: {max_file_bytes: 1024, max_total_bytes: 1536, allowed_types: [image/png, text/plain]}
`

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

type hub struct {
	t     *testing.T
	st    store.Store
	dir   *directory.Directory
	rt    *router.Router
	in    *router.Ingest
	blobs *blobs.Dir
	ch    *webform.Channel
	mux   *http.ServeMux
	clock *clock
	// remote is the client address requests come from (RemoteAddr).
	remote string
}

// settings decodes YAML as the config loader would and applies edit.
func settings(t *testing.T, extra string) map[string]any {
	t.Helper()
	var m map[string]any
	if err := yaml.Unmarshal([]byte(baseSettings), &m); err != nil {
		t.Fatal(err)
	}
	if extra != "" {
		var e map[string]any
		if err := yaml.Unmarshal([]byte(extra), &e); err != nil {
			t.Fatal(err)
		}
		for k, v := range e {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
	}
	return m
}

func newHub(t *testing.T, extra string) *hub {
	t.Helper()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bl, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ck := &clock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
	chans := []directory.Channel{
		{Name: "contact", Type: "webform", Phase: store.PhaseLive},
		{Name: "crm", Type: "api", Phase: store.PhaseLive, Trusted: true},
	}
	dir := directory.New(st, chans, ck.Now, nil)
	rt := router.New(st, dir, router.Options{Clock: ck.Now, Routing: router.Routing{Teams: []string{"support"}, Agents: []router.Agent{{Name: "alice", Teams: []string{"support"}}}}})
	in := router.NewIngest(st, dir, "FI", ck.Now, nil)
	cfg := config.Channel{Name: "contact", Type: "webform", Phase: "live", Webform: settings(t, extra)}
	env := connectors.Env{Name: "contact", Sink: in, Blobs: bl, Clock: ck.Now, PublicURL: "https://hub.example.net", Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Counters: st}
	ch, err := webform.New(cfg, env)
	if err != nil {
		t.Fatal(err)
	}
	h := &hub{t: t, st: st, dir: dir, rt: rt, in: in, blobs: bl, ch: ch, mux: http.NewServeMux(), clock: ck, remote: "198.51.100.7:40000"}
	for _, r := range ch.Routes() {
		h.mux.Handle(r.Pattern, r.Handler)
	}
	return h
}

// do serves one request to the channel's routes.
func (h *hub) do(r *http.Request) *httptest.ResponseRecorder {
	h.t.Helper()
	r.RemoteAddr = h.remote
	w := httptest.NewRecorder()
	h.mux.ServeHTTP(w, r)
	return w
}

// token fetches a form token, as embed.js does when it shows the form.
func (h *hub) token() string {
	h.t.Helper()
	w := h.do(httptest.NewRequest("GET", "/forms/contact/token", nil))
	var out struct{ Token string }
	if w.Code != 200 || json.Unmarshal(w.Body.Bytes(), &out) != nil || out.Token == "" {
		h.t.Fatalf("token: %d %s", w.Code, w.Body)
	}
	return out.Token
}

// freshToken is a token issued long enough ago that a person could have filled the form.
func (h *hub) freshToken() string {
	tok := h.token()
	h.clock.Add(5 * time.Second)
	return tok
}

func (h *hub) postJSON(body map[string]any, hdr ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	b, _ := json.Marshal(body)
	r := httptest.NewRequest("POST", "/forms/contact", bytes.NewReader(b))
	r.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return h.do(r)
}

func (h *hub) postForm(vals url.Values, hdr ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	r := httptest.NewRequest("POST", "/forms/contact", strings.NewReader(vals.Encode()))
	r.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return h.do(r)
}

type part struct {
	name, filename, contentType string
	data                        []byte
}

func (h *hub) postMultipart(parts []part, hdr ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	for _, p := range parts {
		hd := textproto.MIMEHeader{}
		cd := `form-data; name="` + p.name + `"`
		if p.filename != "" {
			cd += `; filename="` + p.filename + `"`
		}
		hd.Set("Content-Disposition", cd)
		if p.contentType != "" {
			hd.Set("Content-Type", p.contentType)
		}
		w, _ := mw.CreatePart(hd)
		w.Write(p.data)
	}
	mw.Close()
	r := httptest.NewRequest("POST", "/forms/contact", &buf)
	r.Header.Set("Content-Type", mw.FormDataContentType())
	for i := 0; i+1 < len(hdr); i += 2 {
		r.Header.Set(hdr[i], hdr[i+1])
	}
	return h.do(r)
}

// drain processes everything in the ingest queue, as the router's workers would.
func (h *hub) drain() {
	h.t.Helper()
	ctx := context.Background()
	for {
		ds, err := h.st.Read(ctx, store.QueueIngest, "test", 100, 0)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(ds) == 0 {
			return
		}
		for _, d := range ds {
			var m connectors.Message
			if err := json.Unmarshal(d.Payload, &m); err != nil {
				h.t.Fatal(err)
			}
			if err := h.rt.Process(ctx, m); err != nil {
				h.t.Fatalf("process: %v", err)
			}
			h.st.Ack(ctx, store.QueueIngest, d.ID)
		}
	}
}

// queued is how many messages wait in the ingest queue.
func (h *hub) queued() int64 {
	h.t.Helper()
	s, err := h.st.QueueStats(context.Background(), store.QueueIngest)
	if err != nil {
		h.t.Fatal(err)
	}
	return s.Length
}

// customer finds who owns an identity ("email:x@y"), verified or claimed.
func (h *hub) customer(key string) (string, bool) {
	h.t.Helper()
	id, _ := connectors.ParseKey(key)
	id, _ = connectors.Normalize(id, "FI")
	ctx := context.Background()
	b, err := h.st.LookupIdentity(ctx, id.Type, id.Value)
	if err != nil {
		b, err = h.st.LookupClaim(ctx, id.Type, id.Value)
	}
	if err != nil {
		return "", false
	}
	return b.CustomerID, true
}

// entries returns a customer's timeline, oldest first.
func (h *hub) entries(customerID string) []store.Entry {
	h.t.Helper()
	ctx := context.Background()
	v, err := timeline.Load(ctx, h.st, customerID)
	if err != nil {
		h.t.Fatal(err)
	}
	es, _, err := timeline.Page(ctx, h.st, v, "", 100)
	if err != nil {
		h.t.Fatal(err)
	}
	for i, j := 0, len(es)-1; i < j; i, j = i+1, j-1 {
		es[i], es[j] = es[j], es[i]
	}
	return es
}

func (h *hub) stats() map[string]int64 {
	h.t.Helper()
	s, err := h.ch.Stats(context.Background())
	if err != nil {
		h.t.Fatal(err)
	}
	return s
}

func (h *hub) quarantine() []store.QuarantineItem {
	h.t.Helper()
	qs, err := h.st.ListQuarantine(context.Background(), "contact", 100)
	if err != nil {
		h.t.Fatal(err)
	}
	return qs
}

func decode(t *testing.T, w *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatalf("response %d is not JSON: %s", w.Code, w.Body)
	}
	return m
}

func readAll(t *testing.T, rc io.ReadCloser, err error) string {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	b, _ := io.ReadAll(rc)
	return string(b)
}
