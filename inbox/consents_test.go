package inbox_test

import (
	"archive/zip"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// consentHub is a hub below HTTP with an email and an SMS channel, a
// customer who wrote on both, a controllable clock, and senders that
// record what they were asked to send.
type consentHub struct {
	t        *testing.T
	st       store.Store
	srv      *inbox.Server
	in       *router.Ingest
	rt       *router.Router
	out      *router.Outbound
	customer string
	now      atomic.Int64 // unix nanos of the clock

	mu   sync.Mutex
	sent []connectors.Outgoing
}

type recordingSender struct{ h *consentHub }

func (s recordingSender) Send(_ context.Context, o connectors.Outgoing) (connectors.SendResult, error) {
	s.h.mu.Lock()
	defer s.h.mu.Unlock()
	s.h.sent = append(s.h.sent, o)
	return connectors.SendResult{ProviderID: "prov-" + o.EntryID, Status: connectors.StatusSent}, nil
}

const consentPublicURL = "https://hub.example"

func newConsentHub(t *testing.T, st store.Store) *consentHub {
	t.Helper()
	h := &consentHub{t: t, st: st}
	h.now.Store(time.Now().UTC().UnixNano())
	clock := func() time.Time { return time.Unix(0, h.now.Load()).UTC() }
	dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive},
		{Name: "text", Type: "sms", Phase: store.PhaseLive}}, clock, nil)
	h.rt = router.New(st, dir, router.Options{Clock: clock, Routing: router.Routing{Teams: []string{"support"}, Agents: []router.Agent{{Name: "alice", Teams: []string{"support"}}}}})
	h.in = router.NewIngest(st, dir, "FI", clock, nil)
	h.out = router.NewOutbound(st, dir, clock, nil, nil, h.rt.Conversations())
	h.out.SetSender("mail", recordingSender{h})
	h.out.SetSender("text", recordingSender{h})
	h.srv = inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: h.in, Outbound: h.out, Clock: clock, PublicURL: consentPublicURL,
		Credentials: []inbox.Credential{{Principal: inbox.Principal{Name: "alice", Role: "agent", Teams: []string{"support"}}, TokenSHA256: inbox.HashToken("tok")},
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-tok")}}})
	h.receive("mail", "m1", connectors.Identity{Type: connectors.Email, Value: "ann@customer.example", Verified: true}, "Where is my order #4411?", nil)
	b, err := st.LookupIdentity(context.Background(), connectors.Email, "ann@customer.example")
	if err != nil {
		t.Fatal(err)
	}
	h.customer = b.CustomerID
	// Her phone, on the same customer: she texts from it after an agent
	// added it (a verified binding to her record).
	if _, _, err := st.BindIdentity(context.Background(), store.Binding{Type: connectors.Phone, Value: "+358401234567", CustomerID: h.customer, Verified: true, CreatedAt: clock()}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.UpdateCustomer(context.Background(), h.customer, func(c *store.Customer) error {
		c.Identities = append(c.Identities, connectors.Identity{Type: connectors.Phone, Value: "+358401234567", Verified: true})
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return h
}

// receive processes an inbound message as the channel would hand it over.
func (h *consentHub) receive(channel, id string, from connectors.Identity, text string, c *connectors.ConsentChange) {
	h.t.Helper()
	m, err := h.in.Prepare(connectors.Message{Channel: channel, ProviderID: id, Text: text, Identities: []connectors.Identity{from},
		Consent: c, OccurredAt: time.Unix(0, h.now.Load()).UTC()})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.rt.Process(context.Background(), m); err != nil {
		h.t.Fatal(err)
	}
}

func (h *consentHub) do(method, path, token, body string, hdr ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	req := httptest.NewRequest(method, path, r)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" && strings.HasPrefix(path, "/api/") {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	return rec
}

// outbound posts an agent-initiated message and returns the status and error code.
func (h *consentHub) outbound(channel, purpose string) (int, string) {
	h.t.Helper()
	b, _ := json.Marshal(map[string]string{"channel": channel, "text": "Our spring sale starts today", "purpose": purpose})
	rec := h.do("POST", "/api/v1/customers/"+h.customer+"/messages", "tok", string(b))
	var out struct {
		Error string `json:"error"`
	}
	json.Unmarshal(rec.Body.Bytes(), &out)
	return rec.Code, out.Error
}

func (h *consentHub) wantOutbound(what, channel, purpose string, code int) {
	h.t.Helper()
	got, errCode := h.outbound(channel, purpose)
	switch {
	case got != code:
		h.t.Fatalf("%s: outbound %s on %s answered %d (%s), want %d", what, purpose, channel, got, errCode, code)
	case code == 422 && errCode != "consent_required":
		h.t.Fatalf("%s: refusal error %q, want consent_required", what, errCode)
	}
}

func (h *consentHub) putConsent(channel, purpose string, granted bool, source string) *httptest.ResponseRecorder {
	h.t.Helper()
	b, _ := json.Marshal(map[string]any{"channel": channel, "purpose": purpose, "granted": granted, "source": source})
	return h.do("PUT", "/api/v1/customers/"+h.customer+"/consents", "tok", string(b))
}

// dispatch runs the outbound workers until every queued message was handed
// to a sender, and returns what was sent.
func (h *consentHub) dispatch(n int) []connectors.Outgoing {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { h.out.Run(ctx, 1, "test"); close(done) }()
	defer func() { cancel(); <-done }()
	deadline := time.Now().Add(15 * time.Second)
	for {
		h.mu.Lock()
		sent := append([]connectors.Outgoing(nil), h.sent...)
		h.mu.Unlock()
		if len(sent) >= n {
			return sent
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%d messages sent, want %d", len(sent), n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (h *consentHub) auditText() string {
	h.t.Helper()
	recs, err := h.st.ListAudit(context.Background(), 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	b, _ := json.Marshal(recs)
	return string(b)
}

// TestMarketingNeedsOptIn: an agent's marketing message is refused with
// consent_required until the customer's opt-in is recorded (an agent
// records it from a phone call), and goes after; feedback (opt_out) goes
// until the customer says no. Every decision is kept in the history.
func TestMarketingNeedsOptIn(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newConsentHub(t, st)
		h.wantOutbound("without an opt-in", "mail", "marketing", 422)
		h.wantOutbound("feedback without an opt-out", "mail", "feedback", 201)
		if code, e := h.outbound("mail", "gossip"); code != 422 || e != "invalid" {
			t.Fatalf("an unknown purpose: %d %s, want 422 invalid", code, e)
		}

		if rec := h.putConsent("*", "marketing", true, "phone"); rec.Code != 200 {
			t.Fatalf("PUT consents: %d %s", rec.Code, rec.Body)
		}
		h.wantOutbound("after the opt-in", "mail", "marketing", 201)
		h.wantOutbound("after the opt-in, on SMS", "text", "marketing", 201)

		h.now.Add(int64(time.Minute))
		if rec := h.putConsent("*", "feedback", false, "phone"); rec.Code != 200 {
			t.Fatalf("PUT consents: %d %s", rec.Code, rec.Body)
		}
		h.wantOutbound("after the feedback opt-out", "mail", "feedback", 422)

		var view struct {
			Purposes []struct {
				Name    string `json:"name"`
				Basis   string `json:"basis"`
				Granted bool   `json:"granted"`
			} `json:"purposes"`
			History []store.Consent `json:"history"`
		}
		rec := h.do("GET", "/api/v1/customers/"+h.customer+"/consents", "tok", "")
		if err := json.Unmarshal(rec.Body.Bytes(), &view); err != nil || rec.Code != 200 {
			t.Fatalf("GET consents: %d %s", rec.Code, rec.Body)
		}
		state := map[string]string{}
		for _, p := range view.Purposes {
			state[p.Name] = p.Basis + "/" + map[bool]string{true: "granted", false: "not"}[p.Granted]
		}
		if state["service"] != "none/granted" || state["marketing"] != "opt_in/granted" || state["feedback"] != "opt_out/not" {
			t.Fatalf("purposes = %v", state)
		}
		if len(view.History) != 2 || view.History[0].Purpose != "marketing" || view.History[0].RecordedBy != "alice" || view.History[0].Source != "phone" ||
			view.History[0].Text == "" || view.History[1].Purpose != "feedback" || view.History[1].Granted {
			t.Fatalf("history = %+v", view.History)
		}
		// Every step is audited, without the message text.
		a := h.auditText()
		for _, want := range []string{"consent.granted", "consent.withdrawn", "outbound.started", "outbound.refused"} {
			if !strings.Contains(a, want) {
				t.Errorf("audit lacks %s: %s", want, a)
			}
		}
		if strings.Contains(a, "spring sale") || strings.Contains(a, "order #4411") {
			t.Errorf("audit holds message content: %s", a)
		}
		// The two marketing messages go, with their purpose, and mail for
		// a purpose other than service carries the one-click link; the
		// feedback message queued before the opt-out does not go.
		sent := h.dispatch(2)
		for _, o := range sent {
			if o.Purpose != "marketing" {
				t.Errorf("sent %+v, want marketing only", o)
			}
			if o.Channel == "mail" && !strings.HasPrefix(o.Unsubscribe, consentPublicURL+"/unsubscribe/") {
				t.Errorf("marketing mail without an unsubscribe link: %+v", o)
			}
		}
	})
}

// TestSMSStopAndStart: STOP (and the Finnish LOPETA) stops every purpose
// on that channel, replies included; START gives messages back.
func TestSMSStopAndStart(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newConsentHub(t, st)
		h.putConsent("*", "marketing", true, "web_form")
		h.wantOutbound("opted in", "text", "marketing", 201)
		phone := connectors.Identity{Type: connectors.Phone, Value: "+358401234567", Verified: true}
		h.now.Add(int64(time.Second))
		h.receive("text", "SM1", phone, "LOPETA", &connectors.ConsentChange{Purpose: connectors.PurposeMessages, Granted: false, Text: "LOPETA"})
		h.wantOutbound("after LOPETA", "text", "marketing", 422)
		h.wantOutbound("feedback after LOPETA", "text", "feedback", 422)
		h.wantOutbound("marketing by mail after LOPETA", "mail", "marketing", 201)
		h.now.Add(int64(time.Second))
		h.receive("text", "SM2", phone, "START", &connectors.ConsentChange{Purpose: connectors.PurposeMessages, Granted: true, Text: "START"})
		h.wantOutbound("after START", "text", "marketing", 201)
		h.now.Add(int64(time.Second))
		h.receive("text", "SM3", phone, "STOP", &connectors.ConsentChange{Purpose: connectors.PurposeMessages, Granted: false, Text: "STOP"})
		h.wantOutbound("after STOP", "text", "marketing", 422)
		hist, err := st.ConsentHistory(context.Background(), h.customer)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 4 || hist[1].Source != "channel_message" || hist[1].MessageID == "" || hist[3].Granted {
			t.Fatalf("history = %+v", hist)
		}
	})
}

// TestOneClickUnsubscribe: the List-Unsubscribe URL of a marketing mail
// revokes marketing on that channel when POSTed (RFC 8058); a GET (a link
// scanner) changes nothing; a tampered token is 404.
func TestOneClickUnsubscribe(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newConsentHub(t, st)
		h.putConsent("*", "marketing", true, "phone")
		h.wantOutbound("opted in", "mail", "marketing", 201)
		sent := h.dispatch(1)
		u, err := url.Parse(sent[0].Unsubscribe)
		if err != nil || sent[0].Unsubscribe == "" {
			t.Fatalf("unsubscribe URL %q: %v", sent[0].Unsubscribe, err)
		}
		if rec := h.do("GET", u.Path, "", ""); rec.Code != 200 || !strings.Contains(rec.Body.String(), "<form method=\"post\"") {
			t.Fatalf("GET unsubscribe: %d %s", rec.Code, rec.Body)
		}
		h.wantOutbound("after a GET of the link", "mail", "marketing", 201)
		tampered := u.Path[:len(u.Path)-2] + "xx"
		if rec := h.do("POST", tampered, "", "List-Unsubscribe=One-Click", "Content-Type", "application/x-www-form-urlencoded"); rec.Code != 404 {
			t.Fatalf("POST a tampered token: %d", rec.Code)
		}
		h.now.Add(int64(time.Second))
		if rec := h.do("POST", u.Path, "", "List-Unsubscribe=One-Click", "Content-Type", "application/x-www-form-urlencoded"); rec.Code != 200 {
			t.Fatalf("one-click POST: %d %s", rec.Code, rec.Body)
		}
		h.wantOutbound("after the one-click unsubscribe", "mail", "marketing", 422)
		h.wantOutbound("on SMS after unsubscribing mail", "text", "marketing", 201)
		hist, _ := st.ConsentHistory(context.Background(), h.customer)
		if last := hist[len(hist)-1]; last.Source != "unsubscribe_link" || last.Channel != "mail" || last.Granted || last.RecordedBy != "customer" {
			t.Fatalf("last decision = %+v", last)
		}
	})
}

// exportText is the text of an export: the JSON form, or every file of
// the zip form.
func exportText(t *testing.T, rec *httptest.ResponseRecorder) string {
	t.Helper()
	if !strings.HasPrefix(rec.Header().Get("Content-Type"), "application/zip") {
		return rec.Body.String()
	}
	z, err := zip.NewReader(bytes.NewReader(rec.Body.Bytes()), int64(rec.Body.Len()))
	if err != nil {
		t.Fatalf("export zip: %v", err)
	}
	var sb strings.Builder
	for _, f := range z.File {
		r, err := f.Open()
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(r)
		r.Close()
		sb.Write(b)
	}
	return sb.String()
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([0-9a-f]+)"`)

// TestSelfServicePage: an access link opens the customer's page (English
// or Finnish by Accept-Language) showing identities, consents and
// messages; withdrawing marketing there refuses the next marketing
// message; an erasure request lands in the admin queue and its approval
// erases the customer; bad, revoked and expired links are 404 alike.
func TestSelfServicePage(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newConsentHub(t, st)
		h.putConsent("*", "marketing", true, "phone")
		rec := h.do("POST", "/api/v1/customers/"+h.customer+"/access-links", "tok", "")
		var link struct {
			ID        string    `json:"id"`
			URL       string    `json:"url"`
			ExpiresAt time.Time `json:"expires_at"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &link); err != nil || rec.Code != 201 || !strings.HasPrefix(link.URL, consentPublicURL+"/me/") {
			t.Fatalf("access link: %d %s", rec.Code, rec.Body)
		}
		if d := link.ExpiresAt.Sub(time.Unix(0, h.now.Load())); d != 7*24*time.Hour {
			t.Fatalf("link valid for %s, want 7 days", d)
		}
		path := strings.TrimPrefix(link.URL, consentPublicURL)

		en := h.do("GET", path, "", "", "Accept-Language", "en-GB,en;q=0.9")
		fi := h.do("GET", path, "", "", "Accept-Language", "fi-FI,fi;q=0.9,en;q=0.5")
		for _, c := range []struct {
			rec  *httptest.ResponseRecorder
			want []string
		}{{en, []string{`lang="en"`, "Your consents", "Marketing", "Withdraw", "ann@customer.example", "358401234567", "Where is my order #4411?", "Ask for erasure"}},
			{fi, []string{`lang="fi"`, "Suostumuksesi", "Markkinointi", "Peruuta", "ann@customer.example", "Where is my order #4411?", "Pyydä poistamista"}}} {
			if c.rec.Code != 200 {
				t.Fatalf("GET /me: %d %s", c.rec.Code, c.rec.Body)
			}
			for _, w := range c.want {
				if !strings.Contains(c.rec.Body.String(), w) {
					t.Errorf("page lacks %q", w)
				}
			}
			if strings.Contains(c.rec.Body.String(), "<script") {
				t.Errorf("page has a script")
			}
		}
		m := csrfRe.FindStringSubmatch(en.Body.String())
		if m == nil {
			t.Fatalf("no CSRF token on the page")
		}
		form := func(p, body string) int {
			return h.do("POST", path+p, "", body, "Content-Type", "application/x-www-form-urlencoded").Code
		}
		if code := form("/consents", "purpose=marketing&granted=false&csrf=00"+m[1][2:]); code != 403 {
			t.Fatalf("withdrawal with a wrong CSRF token: %d", code)
		}
		h.wantOutbound("before the withdrawal", "mail", "marketing", 201)
		h.now.Add(int64(time.Second))
		if code := form("/consents", "purpose=marketing&granted=false&csrf="+m[1]); code != 303 {
			t.Fatalf("withdrawal: %d", code)
		}
		h.wantOutbound("after withdrawing on the page", "mail", "marketing", 422)
		if page := h.do("GET", path, "", ""); !strings.Contains(page.Body.String(), "Give consent") {
			t.Fatalf("page after withdrawal does not offer to give consent again")
		}

		if rec := h.do("GET", path+"/export", "", ""); rec.Code != 200 || !strings.Contains(exportText(t, rec), "Where is my order #4411?") {
			t.Fatalf("export: %d %s", rec.Code, rec.Header().Get("Content-Type"))
		}

		// Bad tokens: all 404, the same page.
		other := h.do("POST", "/api/v1/customers/"+h.customer+"/access-links", "tok", "")
		var l2 struct {
			ID, URL string
		}
		json.Unmarshal(other.Body.Bytes(), &l2)
		if rec := h.do("DELETE", "/api/v1/access-links/"+l2.ID, "tok", ""); rec.Code != 200 {
			t.Fatalf("revoke: %d", rec.Code)
		}
		revoked := h.do("GET", strings.TrimPrefix(l2.URL, consentPublicURL), "", "")
		tampered := h.do("GET", path[:len(path)-3]+"abc", "", "")
		garbage := h.do("GET", "/me/nothing-at-all", "", "")
		for name, r := range map[string]*httptest.ResponseRecorder{"revoked": revoked, "tampered": tampered, "garbage": garbage} {
			if r.Code != 404 || r.Body.String() != garbage.Body.String() {
				t.Errorf("%s link: %d %s", name, r.Code, r.Body)
			}
		}

		// Erasure request, then approval by an admin.
		if code := form("/erasure", "csrf="+m[1]); code != 303 {
			t.Fatalf("erasure request: %d", code)
		}
		form("/erasure", "csrf="+m[1]) // a second press adds nothing
		if page := h.do("GET", path, "", ""); !strings.Contains(page.Body.String(), "We have received your request") {
			t.Fatalf("page does not say the request was received")
		}
		if rec := h.do("GET", "/api/v1/erasure-requests", "tok", ""); rec.Code != 403 {
			t.Fatalf("an agent read the erasure queue: %d", rec.Code)
		}
		var q struct {
			Requests []store.ErasureRequest `json:"requests"`
		}
		rec = h.do("GET", "/api/v1/erasure-requests?status=requested", "root-tok", "")
		if json.Unmarshal(rec.Body.Bytes(), &q); len(q.Requests) != 1 || q.Requests[0].CustomerID != h.customer {
			t.Fatalf("erasure queue: %d %s", rec.Code, rec.Body)
		}
		if rec := h.do("POST", "/api/v1/erasure-requests/"+q.Requests[0].ID+"/approve", "root-tok", ""); rec.Code != 200 {
			t.Fatalf("approve: %d %s", rec.Code, rec.Body)
		}
		if rec := h.do("POST", "/api/v1/erasure-requests/"+q.Requests[0].ID+"/decline", "root-tok", ""); rec.Code != 409 {
			t.Fatalf("decline after approval: %d", rec.Code)
		}
		if _, err := st.GetCustomer(context.Background(), h.customer); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("customer after the approved erasure: %v", err)
		}
		if hist, _ := st.ConsentHistory(context.Background(), h.customer); len(hist) != 0 {
			t.Fatalf("consent history after erasure: %+v", hist)
		}
		if r := h.do("GET", path, "", ""); r.Code != 404 {
			t.Fatalf("page of an erased customer: %d", r.Code)
		}
		a := h.auditText()
		for _, want := range []string{"access_link.created", "access_link.revoked", "self_service.viewed", "erasure_request.created", "erasure_request.approved", "customer.exported"} {
			if !strings.Contains(a, want) {
				t.Errorf("audit lacks %s", want)
			}
		}
		if strings.Contains(a, "order #4411") {
			t.Errorf("audit holds message content")
		}
	})
}

// TestSelfServiceLinkExpires: a link works for 7 days, then answers 404.
func TestSelfServiceLinkExpires(t *testing.T) {
	h := newConsentHub(t, hubtest.Embedded(t))
	rec := h.do("POST", "/api/v1/customers/"+h.customer+"/access-links", "tok", "")
	var link struct{ URL string }
	json.Unmarshal(rec.Body.Bytes(), &link)
	path := strings.TrimPrefix(link.URL, consentPublicURL)
	h.now.Add(int64(7*24*time.Hour - time.Minute))
	if r := h.do("GET", path, "", ""); r.Code != 200 {
		t.Fatalf("a link a minute before it expires: %d", r.Code)
	}
	h.now.Add(int64(2 * time.Minute))
	if r := h.do("GET", path, "", ""); r.Code != 404 {
		t.Fatalf("an expired link: %d", r.Code)
	}
}

// TestAccessLinkSentAndRateLimited: send_via sends the link to the
// customer as a service message (no unsubscribe link); links per customer
// and page requests per address are limited.
func TestAccessLinkSentAndRateLimited(t *testing.T) {
	h := newConsentHub(t, hubtest.Embedded(t))
	rec := h.do("POST", "/api/v1/customers/"+h.customer+"/access-links", "tok", `{"send_via":"mail"}`)
	var link struct{ URL string }
	if err := json.Unmarshal(rec.Body.Bytes(), &link); err != nil || rec.Code != 201 {
		t.Fatalf("access link: %d %s", rec.Code, rec.Body)
	}
	sent := h.dispatch(1)
	if o := sent[0]; !strings.Contains(o.Text, link.URL) || o.To.Value != "ann@customer.example" || o.Purpose != "service" || o.Unsubscribe != "" {
		t.Fatalf("sent %+v, want the link to ann as a service message", o)
	}
	codes := map[int]int{}
	for i := 0; i < 10; i++ {
		codes[h.do("POST", "/api/v1/customers/"+h.customer+"/access-links", "tok", "").Code]++
	}
	if codes[201] != 9 || codes[429] != 1 {
		t.Fatalf("ten more links: %v, want 9 created and 1 refused (10 per hour)", codes)
	}
	h.now.Add(int64(time.Hour))
	if c := h.do("POST", "/api/v1/customers/"+h.customer+"/access-links", "tok", "").Code; c != 201 {
		t.Fatalf("a link an hour later: %d", c)
	}
	codes = map[int]int{}
	for i := 0; i < 70; i++ {
		codes[h.do("GET", "/me/not-a-token", "", "").Code]++
	}
	if codes[404] != 60 || codes[429] != 10 {
		t.Fatalf("70 page requests from one address: %v, want 60 answered and 10 refused", codes)
	}
}
