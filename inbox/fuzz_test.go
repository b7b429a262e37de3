package inbox_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// fuzzHub is a whole inbox over a real embedded store, built once per fuzz
// target (every input of a worker goes to the same hub): an api channel, an
// email and an SMS conversation, an agent with a password, an admin token.
type fuzzHub struct {
	srv               *inbox.Server
	st                store.Store
	mail, sms         string // conversation ids
	mailCust, smsCust string // their customers
}

const (
	fuzzAgentPW   = "fuzz-password-1"
	fuzzAgentTok  = "agent-tok"
	fuzzAdminTok  = "admin-tok"
	fuzzAPIChan   = "crm"
	fuzzMailChan  = "mail"
	fuzzTextChan  = "text"
	fuzzOtherCust = "nobody-such"
)

func newFuzzHub(tb testing.TB) *fuzzHub {
	tb.Helper()
	st, err := embedded.Open(tb.TempDir(), embedded.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	bl, err := blobs.Open(tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	hash, err := bcrypt.GenerateFromPassword([]byte(fuzzAgentPW), bcrypt.MinCost)
	if err != nil {
		tb.Fatal(err)
	}
	dir := directory.New(st, []directory.Channel{{Name: fuzzAPIChan, Type: "api", Phase: store.PhaseLive},
		{Name: fuzzMailChan, Type: "email", Phase: store.PhaseLive}, {Name: fuzzTextChan, Type: "sms", Phase: store.PhaseLive}},
		store.SystemClock, nil)
	rt := router.New(st, dir, router.Options{Routing: router.Routing{Teams: []string{"support"},
		Agents: []router.Agent{{Name: "alice", Teams: []string{"support"}}}}})
	in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
	out := withSenders(router.NewOutbound(st, dir, store.SystemClock, nil, nil, nil), dir)
	h := &fuzzHub{st: st, srv: inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: in, Outbound: out, Blobs: bl,
		Resolver: identity.NewResolver(st, store.SystemClock, nil, nil), Teams: []string{"support"},
		Logger: slog.New(slog.DiscardHandler), Clock: store.SystemClock,
		Credentials: []inbox.Credential{
			{Principal: inbox.Principal{Name: "alice", Role: "agent", Teams: []string{"support"}}, PasswordHash: string(hash),
				TokenSHA256: inbox.HashToken(fuzzAgentTok)},
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken(fuzzAdminTok)},
		}})}
	conv := func(channel string, id connectors.Identity) string {
		m, err := in.Prepare(connectors.Message{Channel: channel, ProviderID: "p-" + channel, Text: "hello",
			Identities: []connectors.Identity{id}, OccurredAt: time.Now().UTC()})
		if err != nil {
			tb.Fatal(err)
		}
		if err := rt.Process(context.Background(), m); err != nil {
			tb.Fatal(err)
		}
		e, err := st.GetEntry(context.Background(), m.ID)
		if err != nil {
			tb.Fatal(err)
		}
		return e.ConversationID
	}
	h.mail = conv(fuzzMailChan, connectors.Identity{Type: connectors.Email, Value: "ann@customer.example", Verified: true})
	h.sms = conv(fuzzTextChan, connectors.Identity{Type: connectors.Phone, Value: "+358401234567", Verified: true})
	for id, cust := range map[string]*string{h.mail: &h.mailCust, h.sms: &h.smsCust} {
		c, err := st.GetConversation(context.Background(), id)
		if err != nil {
			tb.Fatal(err)
		}
		*cust = c.CustomerID
	}
	return h
}

func (h *fuzzHub) do(method, path, body string, hdr ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	return rec
}

// checkAnswer fails t unless rec is a 2xx or a 4xx, and a JSON document
// when it has a body.
func checkAnswer(t *testing.T, what string, rec *httptest.ResponseRecorder) {
	t.Helper()
	if rec.Code < 200 || rec.Code >= 500 || (rec.Code >= 300 && rec.Code < 400) {
		t.Fatalf("%s answered %d: %s", what, rec.Code, rec.Body)
	}
	if rec.Body.Len() > 0 && !json.Valid(rec.Body.Bytes()) {
		t.Fatalf("%s answered %d with a body that is not JSON: %q", what, rec.Code, rec.Body)
	}
}

// FuzzAPIChannel posts arbitrary bodies to the api channel: the answer is
// 2xx or 4xx (never 5xx, never a panic), and a 202 means the message is in
// the ingest queue under the id the answer names.
func FuzzAPIChannel(f *testing.F) {
	for _, s := range []string{
		`{"external_id":"crm-1","sender":{"email":"kate@example.com","name":"Kate"},"text":"hello"}`,
		`{"external_id":"crm-2","sender":{"phone":"+358401234567"},"text":"hi","thread_id":"T-9","subject":"Order 9","occurred_at":"2025-03-01T10:00:00Z"}`,
		`{"external_id":"crm-3","sender":{"email":"x@example.com","phone":"040 1234567"},"text":"both"}`,
		`{"external_id":"crm-4","sender":{"email":"x@example.com"},"text":"far","occurred_at":"9999-12-31T23:59:59Z"}`,
		`{"external_id":"crm-5","sender":{"email":"x@example.com"},"text":"past","occurred_at":"0001-01-01T00:00:00Z"}`,
		`{"external_id":"\u0000\u001f","sender":{"email":"\u212Aate@example.com"},"text":"\ud800"}`,
		`{"external_id":"crm-6","sender":{"email":"not an address"},"text":"x"}`,
		`{"external_id":"crm-7","sender":{},"text":"x"}`,
		`{"external_id":"crm-8","sender":{"email":"a@b.c"},"unknown":1}`,
		`{"external_id":"crm-9","sender":{"email":"a@b.c"}}{}`,
		`[]`, `null`, ``, `{`,
	} {
		f.Add(s)
	}
	h := newFuzzHub(f)
	f.Fuzz(func(t *testing.T, body string) {
		ctx := context.Background()
		before, err := h.st.QueueStats(ctx, store.QueueIngest)
		if err != nil {
			t.Fatal(err)
		}
		rec := h.do("POST", "/api/v1/channels/"+fuzzAPIChan+"/messages", body, "Authorization", "Bearer "+fuzzAgentTok)
		checkAnswer(t, "the api channel", rec)
		after, err := h.st.QueueStats(ctx, store.QueueIngest)
		if err != nil {
			t.Fatal(err)
		}
		if rec.Code != http.StatusAccepted {
			if after.Length != before.Length {
				t.Fatalf("answered %d but the ingest queue went from %d to %d", rec.Code, before.Length, after.Length)
			}
			return
		}
		var out struct{ ID, Status string }
		if json.Unmarshal(rec.Body.Bytes(), &out) != nil || out.ID == "" || out.Status != "accepted" {
			t.Fatalf("202 with %s", rec.Body)
		}
		if after.Length != before.Length+1 {
			t.Fatalf("202 but the ingest queue went from %d to %d", before.Length, after.Length)
		}
		// Drain it, so the next input starts from the same state.
		drainIngest(t, h.st, out.ID)
	})
}

// drainIngest takes every message off the ingest queue and fails t unless
// one of them is the message id (a valid message).
func drainIngest(t *testing.T, st store.Store, id string) {
	t.Helper()
	ctx := context.Background()
	found := false
	for {
		items, err := st.Read(ctx, store.QueueIngest, "fuzz", 10, 0)
		if err != nil {
			t.Fatal(err)
		}
		if len(items) == 0 {
			break
		}
		for _, it := range items {
			var m connectors.Message
			if err := json.Unmarshal(it.Payload, &m); err != nil {
				t.Fatalf("queued payload is not a message: %v", err)
			}
			if m.ID == id {
				found = true
				if err := m.Validate(router.MaxTextBytes); err != nil {
					t.Fatalf("queued message is invalid: %v (%+v)", err, m)
				}
			}
			if err := st.Ack(ctx, store.QueueIngest, it.ID); err != nil {
				t.Fatal(err)
			}
		}
	}
	if !found {
		t.Fatalf("message %s is not on the ingest queue", id)
	}
}

// jsonRoutes are the inbox routes that read a JSON body, {conv} a
// conversation, {cust} a customer of the fuzz hub ({other} in a body is
// another); the token is the caller's.
var jsonRoutes = []struct{ method, path, token string }{
	{"POST", "/api/v1/conversations/{mail}/messages", fuzzAgentTok},
	{"POST", "/api/v1/conversations/{sms}/messages", fuzzAgentTok},
	{"POST", "/api/v1/conversations/{mail}/notes", fuzzAgentTok},
	{"PATCH", "/api/v1/conversations/{mail}", fuzzAgentTok},
	{"POST", "/api/v1/conversations/{mail}/presence", fuzzAgentTok},
	{"POST", "/api/v1/customers/{cust}/merge", fuzzAgentTok},
	{"PUT", "/api/v1/channels/" + fuzzTextChan + "/phase", fuzzAdminTok},
	{"POST", "/api/v1/session", ""},
}

// FuzzJSONBodies posts arbitrary bodies to every other inbox route that
// reads JSON (replies with attachments, notes, conversation changes,
// presence, merges, channel phases, sign-in): the answer is 2xx or 4xx
// with a JSON body, never 5xx or a panic.
func FuzzJSONBodies(f *testing.F) {
	att := func(name, ct, data string) string {
		b, _ := json.Marshal(map[string]string{"name": name, "content_type": ct, "data": base64.StdEncoding.EncodeToString([]byte(data))})
		return string(b)
	}
	for _, s := range []struct {
		route uint8
		body  string
	}{
		{0, `{"text":"Thanks, it is fixed."}`},
		{0, `{"text":"Invoice attached.","attachments":[` + att("invoice.pdf", "application/pdf", "%PDF-1.4 x") + `]}`},
		{0, `{"attachments":[` + att("notes.txt", "", "plain words") + `,` + att("a/b", "text/plain", "x") + `]}`},
		{0, `{"attachments":[{"name":"x.bin","content_type":"text/plain; charset=\"","data":"AAAA"}]}`},
		{0, `{"attachments":[{"name":"x.bin","data":"not base64!"}]}`},
		{0, `{"text":"via sms","channel":"text"}`},
		{0, `{"text":"via nothing","channel":"nope"}`},
		{1, `{"text":"sms with a file","attachments":[` + att("a.png", "image/png", "\x89PNG") + `]}`},
		{2, `{"text":"internal note"}`},
		{3, `{"status":"closed"}`},
		{3, `{"status":"snoozed","snoozed_until":"2030-01-01T00:00:00Z"}`},
		{3, `{"status":"snoozed","snoozed_until":"9999-12-31T23:59:59Z"}`},
		{3, `{"assignee":"alice","team":"support"}`},
		{3, `{"assignee":"mallory"}`},
		{3, `{"status":"open","assignee":"","team":""}`},
		{4, `{"state":"typing"}`},
		{4, `{"state":"dancing"}`},
		{5, `{"other":"{other}","evidence":"same person"}`},
		{5, `{"other":"` + fuzzOtherCust + `"}`},
		{5, `{"other":""}`},
		{6, `{"phase":"shadow"}`},
		{6, `{"phase":"pilot"}`},
		{6, `{"phase":"bogus"}`},
		{7, `{"name":"alice","password":"` + fuzzAgentPW + `"}`},
		{7, `{"name":"alice","password":"wrong"}`},
		{7, `{"name":"","password":""}`},
		{7, `{"name":"\u0000","password":"\ud800"}`},
		{0, `{"text":1}`}, {3, `[]`}, {5, `null`}, {2, ``}, {4, `{"state":"viewing"}{}`},
	} {
		f.Add(s.route, s.body)
	}
	h := newFuzzHub(f)
	f.Fuzz(func(t *testing.T, route uint8, body string) {
		r := jsonRoutes[int(route)%len(jsonRoutes)]
		path := strings.NewReplacer("{mail}", h.mail, "{sms}", h.sms, "{cust}", h.mailCust).Replace(r.path)
		body = strings.ReplaceAll(body, "{other}", h.smsCust)
		var hdr []string
		if r.token != "" {
			hdr = []string{"Authorization", "Bearer " + r.token}
		}
		rec := h.do(r.method, path, body, hdr...)
		checkAnswer(t, r.method+" "+r.path, rec)
	})
}

// FuzzSessionCookie presents arbitrary session cookies: a cookie is
// accepted only when it is the one the hub minted (its payload and
// signature decode to the minted ones), whatever the fuzzer builds around
// or out of the minted cookie's parts (MINTED, PAYLOAD and SIG in the input
// stand for them).
func FuzzSessionCookie(f *testing.F) {
	for _, s := range []string{
		"MINTED", "PAYLOAD.SIG", "PAYLOAD.", ".SIG", "SIG.PAYLOAD", "MINTED.SIG", "PAYLOADx.SIG", "PAYLOAD.SIGx",
		"eyJuIjoiYWxpY2UiLCJlIjowLCJ4Ijo5OTk5OTk5OTk5OSwicyI6IngiLCJjIjoieCJ9.AAAA",
		"e30.", "", ".", "..", "a.b.c", "!!!.???",
	} {
		f.Add(s)
	}
	h := newFuzzHub(f)
	rec := h.do("POST", "/api/v1/session", `{"name":"alice","password":"`+fuzzAgentPW+`"}`)
	if rec.Code != 200 {
		f.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	var minted *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == inbox.SessionCookie {
			minted = c
		}
	}
	if minted == nil {
		f.Fatal("no session cookie")
	}
	p64, s64, _ := strings.Cut(minted.Value, ".")
	enc := base64.RawURLEncoding
	wantPayload, _ := enc.DecodeString(p64)
	wantSig, _ := enc.DecodeString(s64)
	if rec := h.do("GET", "/api/v1/session", "", "Cookie", inbox.SessionCookie+"="+minted.Value); rec.Code != 200 {
		f.Fatalf("the minted cookie is refused: %d", rec.Code)
	}
	expand := strings.NewReplacer("MINTED", minted.Value, "PAYLOAD", p64, "SIG", s64)
	f.Fuzz(func(t *testing.T, value string) {
		value = expand.Replace(value)
		rec := h.do("GET", "/api/v1/session", "", "Cookie", inbox.SessionCookie+"="+value)
		switch rec.Code {
		case 401:
			return
		case 200:
		default:
			t.Fatalf("cookie %q answered %d: %s", value, rec.Code, rec.Body)
		}
		// Accepted: it must be the minted cookie, up to how base64 is written.
		v := value
		if c, err := (&http.Request{Header: http.Header{"Cookie": {inbox.SessionCookie + "=" + value}}}).Cookie(inbox.SessionCookie); err == nil {
			v = c.Value
		}
		gp64, gs64, _ := strings.Cut(v, ".")
		gotPayload, err1 := enc.DecodeString(gp64)
		gotSig, err2 := enc.DecodeString(gs64)
		if err1 != nil || err2 != nil || !bytes.Equal(gotPayload, wantPayload) || !bytes.Equal(gotSig, wantSig) {
			t.Fatalf("cookie %q was accepted but is not the one the hub minted (%q)", value, minted.Value)
		}
	})
}

// FuzzParseArgon2id: a hash string either parses into parameters within
// the documented bounds, whose PHC string parses back to the same values,
// or is refused with an error; never a panic.
func FuzzParseArgon2id(f *testing.F) {
	for _, s := range []string{
		"$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$RdescudvJCsgt3ub+b+dWRWJTmaaJObG",
		"$argon2id$v=19$m=64,t=1,p=1$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA",
		"$argon2id$v=19$m=4294967295,t=1,p=1$c29tZXNhbHQ$c29tZWhhc2hzb21laGFzaA",
		"$argon2id$v=19$m=65536,t=3,p=256$c29tZXNhbHQ$c29tZWhhc2hzb21laGFzaA",
		"$argon2id$v=19$m=65536,t=3$c29tZXNhbHQ$c29tZWhhc2hzb21laGFzaA",
		"$argon2id$v=19$m=65536,t=3,p=4,x=1$c29tZXNhbHQ$c29tZWhhc2hzb21laGFzaA",
		"$argon2id$v=19$m=+65536,t=3,p=4$c29tZXNhbHQ$c29tZWhhc2hzb21laGFzaA",
		"$argon2i$v=19$m=65536,t=3,p=4$c29tZXNhbHQ$c29tZWhhc2hzb21laGFzaA",
		"$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHQ=$c29tZWhhc2hzb21laGFzaA==",
		"$2a$10$N9qo8uLOickgx2ZMRZoMyeIjZAgcfl7p92ldGxad68LJZdL17lhWy",
		"", "$$$$$", "$argon2id$v=19$$$",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := inbox.ParseArgon2id(s)
		if err != nil {
			if p.Memory != 0 || p.Salt != nil || p.Key != nil {
				t.Fatalf("error %v with parameters %+v", err, p)
			}
			return
		}
		if p.Memory < 8 || p.Memory > inbox.MaxArgon2idMemory || p.Time < 1 || p.Time > inbox.MaxArgon2idTime ||
			p.Threads < 1 || len(p.Salt) < 8 || len(p.Key) < 16 {
			t.Fatalf("%q parsed to parameters out of bounds: %+v", s, p)
		}
		enc := base64.RawStdEncoding
		again, err := inbox.ParseArgon2id("$argon2id$v=19$m=" + itoa(p.Memory) + ",t=" + itoa(p.Time) + ",p=" + itoa(uint32(p.Threads)) +
			"$" + enc.EncodeToString(p.Salt) + "$" + enc.EncodeToString(p.Key))
		if err != nil || again.Memory != p.Memory || again.Time != p.Time || again.Threads != p.Threads ||
			!bytes.Equal(again.Salt, p.Salt) || !bytes.Equal(again.Key, p.Key) {
			t.Fatalf("%q does not round-trip: %+v then %+v, %v", s, p, again, err)
		}
	})
}

func itoa(n uint32) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// FuzzParseTrustedProxies: http.trusted_proxies either parses into one
// masked prefix per entry, each containing the address it was written
// with, or is refused with an error naming nothing parsed.
func FuzzParseTrustedProxies(f *testing.F) {
	for _, s := range []string{
		"10.0.0.5", "192.168.0.0/24", "10.0.0.0/8,192.0.2.1", "::1", "2001:db8::/32", "::ffff:10.0.0.1",
		"::ffff:10.0.0.0/104", "fe80::1%eth0", "10.0.0.1/33", "proxy.example", " 10.0.0.1 ", "0.0.0.0/0", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list := strings.Split(s, ",")
		ps, err := inbox.ParseTrustedProxies(list)
		if err != nil {
			if ps != nil {
				t.Fatalf("error %v with prefixes %v", err, ps)
			}
			return
		}
		if len(ps) != len(list) {
			t.Fatalf("%q: %d entries, %d prefixes", s, len(list), len(ps))
		}
		for i, p := range ps {
			if !p.IsValid() || p != p.Masked() {
				t.Fatalf("%q: prefix %v is not valid and masked", list[i], p)
			}
			again, err := netip.ParsePrefix(p.String())
			if err != nil || again != p {
				t.Fatalf("%q: prefix %v does not round-trip: %v %v", list[i], p, again, err)
			}
			if a, err := netip.ParseAddr(strings.TrimSpace(list[i])); err == nil && a.Zone() == "" && !p.Contains(a.Unmap()) {
				t.Fatalf("%q: prefix %v does not contain the address", list[i], p)
			}
		}
	})
}
