package inbox_test

import (
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
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// auditHub is a hub below HTTP with customers, conversations and
// suggestions made by the real router, over a store whose audit log can
// be taken down (auditOutage, session_test.go).
type auditHub struct {
	t   *testing.T
	st  *auditOutage
	srv *inbox.Server
	in  *router.Ingest
	rt  *router.Router
}

func newAuditHub(t *testing.T) *auditHub {
	t.Helper()
	st := &auditOutage{Store: hubtest.Embedded(t)}
	dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive},
		{Name: "text", Type: "sms", Phase: store.PhaseLive}, {Name: "crm", Type: "api", Phase: store.PhaseLive}}, store.SystemClock, nil)
	rt := router.New(st, dir, router.Options{Routing: router.Routing{Teams: []string{"support"}, Agents: []router.Agent{{Name: "alice", Teams: []string{"support"}}}}})
	in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
	out := withSenders(router.NewOutbound(st, dir, store.SystemClock, nil, nil, rt.Conversations()), dir)
	srv := inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: in, Outbound: out, Resolver: rt.Resolver(), Conversations: rt.Conversations(),
		Teams: []string{"support"},
		Credentials: []inbox.Credential{
			{Principal: inbox.Principal{Name: "alice", Role: "agent", Teams: []string{"support"}}, TokenSHA256: inbox.HashToken("alice-tok"), PasswordHash: bcryptHash(t, alicePW)},
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-tok")}}})
	return &auditHub{t: t, st: st, srv: srv, in: in, rt: rt}
}

// message processes one inbound message and returns its entry.
func (h *auditHub) message(channel, pid string, ids ...connectors.Identity) store.Entry {
	h.t.Helper()
	m, err := h.in.Prepare(connectors.Message{Channel: channel, ProviderID: pid, Text: "hello " + pid, Identities: ids, OccurredAt: time.Now().UTC()})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.rt.Process(context.Background(), m); err != nil {
		h.t.Fatal(err)
	}
	e, err := h.st.GetEntry(context.Background(), m.ID)
	if err != nil {
		h.t.Fatal(err)
	}
	return e
}

func (h *auditHub) call(method, path, token, body string, hdr ...string) *httptest.ResponseRecorder {
	h.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	return rec
}

// records returns every audit record through the API (all pages).
func (h *auditHub) records(query string) []store.AuditRecord {
	h.t.Helper()
	var all []store.AuditRecord
	cursor := ""
	for {
		q := "/api/v1/audit?limit=7&" + query
		if cursor != "" {
			q += "&cursor=" + cursor
		}
		rec := h.call("GET", q, "root-tok", "")
		if rec.Code != 200 {
			h.t.Fatalf("GET %s: %d %s", q, rec.Code, rec.Body)
		}
		var page struct {
			Audit []store.AuditRecord `json:"audit"`
			Next  string              `json:"next"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
			h.t.Fatal(err)
		}
		all = append(all, page.Audit...)
		if page.Next == "" {
			return all
		}
		cursor = page.Next
	}
}

func email(v string) connectors.Identity {
	return connectors.Identity{Type: connectors.Email, Value: v, Verified: true}
}

func phone(v string) connectors.Identity {
	return connectors.Identity{Type: connectors.Phone, Value: v, Verified: true}
}

// TestEveryActionAuditedOnce: each agent and admin action, done through
// HTTP, adds exactly one record of its action by its actor (a retry with
// the same Idempotency-Key adds none), no record holds message content;
// with the audit log down each action fails (503) and did not happen.
func TestEveryActionAuditedOnce(t *testing.T) {
	h := newAuditHub(t)
	ann := h.message("mail", "m-ann", email("ann@customer.example"))
	bob := h.message("mail", "m-bob", email("bob@customer.example"))
	cy := h.message("text", "t-cy", phone("+358401111111"))
	// Claims of ann's and bob's addresses by new customers: suggestions.
	h.message("text", "t-claim1", phone("+358402222222"), connectors.Identity{Type: connectors.Email, Value: "ann@customer.example"})
	h.message("text", "t-claim2", phone("+358403333333"), connectors.Identity{Type: connectors.Email, Value: "bob@customer.example"})
	var sugg struct {
		Suggestions []store.Merge `json:"suggestions"`
	}
	if rec := h.call("GET", "/api/v1/suggestions", "alice-tok", ""); rec.Code != 200 || json.Unmarshal(rec.Body.Bytes(), &sugg) != nil || len(sugg.Suggestions) != 2 {
		t.Fatalf("suggestions: %d %s", rec.Code, rec.Body)
	}
	conv := ann.ConversationID
	getConv := func() store.Conversation {
		c, err := h.st.GetConversation(context.Background(), conv)
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	entries := func() int {
		return len(hubtest.Timeline(t, h.st, "email:ann@customer.example"))
	}
	until := time.Now().Add(time.Hour).UTC().Format(time.RFC3339)
	var mergeID string

	type step struct {
		name, action, actor string
		do                  func() *httptest.ResponseRecorder
		want                int
		// unchanged says the action did not happen (with the log down).
		unchanged func() bool
	}
	steps := []step{
		{name: "sign-in", action: "session.login", actor: "alice", want: 200, do: func() *httptest.ResponseRecorder {
			return h.call("POST", "/api/v1/session", "", fmt.Sprintf(`{"name":"alice","password":%q}`, alicePW))
		}},
		{name: "assign", action: "conversation.update", actor: "alice", want: 200,
			do: func() *httptest.ResponseRecorder {
				return h.call("PATCH", "/api/v1/conversations/"+conv, "alice-tok", `{"assignee":"root"}`)
			},
			unchanged: func() bool { return getConv().Assignee != "root" }},
		{name: "status", action: "conversation.update", actor: "alice", want: 200,
			do: func() *httptest.ResponseRecorder {
				return h.call("PATCH", "/api/v1/conversations/"+conv, "alice-tok", `{"status":"pending"}`)
			},
			unchanged: func() bool { return getConv().Status != store.StatusPending }},
		{name: "snooze", action: "conversation.update", actor: "root", want: 200,
			do: func() *httptest.ResponseRecorder {
				return h.call("PATCH", "/api/v1/conversations/"+conv, "root-tok", `{"status":"snoozed","snoozed_until":"`+until+`"}`)
			},
			unchanged: func() bool { return getConv().Status != store.StatusSnoozed }},
		{name: "reply", action: "conversation.reply", actor: "alice", want: 202,
			do: func() *httptest.ResponseRecorder {
				return h.call("POST", "/api/v1/conversations/"+conv+"/messages", "alice-tok", `{"text":"SECRET-REPLY-TEXT"}`)
			},
			unchanged: func() bool { return entries() == 1 }},
		{name: "note", action: "conversation.note", actor: "alice", want: 201,
			do: func() *httptest.ResponseRecorder {
				return h.call("POST", "/api/v1/conversations/"+bob.ConversationID+"/notes", "alice-tok", `{"text":"SECRET-NOTE-TEXT"}`)
			},
			unchanged: func() bool { return len(hubtest.Timeline(t, h.st, "email:bob@customer.example")) == 1 }},
		{name: "consent", action: "consent.granted", actor: "alice", want: 200,
			do: func() *httptest.ResponseRecorder {
				return h.call("PUT", "/api/v1/customers/"+ann.CustomerID+"/consents", "alice-tok", `{"purpose":"marketing","granted":true,"source":"phone"}`)
			},
			unchanged: func() bool {
				cs, _ := h.st.ListConsents(context.Background(), ann.CustomerID)
				return len(cs) == 0
			}},
		{name: "merge", action: "customer.merge", actor: "alice", want: 200,
			do: func() *httptest.ResponseRecorder {
				rec := h.call("POST", "/api/v1/customers/"+bob.CustomerID+"/merge", "alice-tok", `{"other":"`+cy.CustomerID+`"}`)
				var out struct {
					Merge store.Merge `json:"merge"`
				}
				json.Unmarshal(rec.Body.Bytes(), &out)
				mergeID = out.Merge.ID
				return rec
			},
			unchanged: func() bool {
				c, _ := h.st.GetCustomer(context.Background(), cy.CustomerID)
				return c.MergedInto == ""
			}},
		{name: "unmerge", action: "customer.unmerge", actor: "root", want: 200,
			do: func() *httptest.ResponseRecorder {
				return h.call("POST", "/api/v1/merges/"+mergeID+"/undo", "root-tok", "")
			},
			unchanged: func() bool {
				c, _ := h.st.GetCustomer(context.Background(), cy.CustomerID)
				return c.MergedInto != ""
			}},
		{name: "suggestion accepted", action: "suggestion.accept", actor: "alice", want: 200,
			do: func() *httptest.ResponseRecorder {
				return h.call("POST", "/api/v1/suggestions/"+sugg.Suggestions[0].ID+"/accept", "alice-tok", "")
			},
			unchanged: func() bool {
				m, _ := h.st.GetMerge(context.Background(), sugg.Suggestions[0].ID)
				return m.Status == store.MergeProposed
			}},
		{name: "suggestion rejected", action: "suggestion.reject", actor: "alice", want: 200,
			do: func() *httptest.ResponseRecorder {
				return h.call("POST", "/api/v1/suggestions/"+sugg.Suggestions[1].ID+"/reject", "alice-tok", "")
			},
			unchanged: func() bool {
				m, _ := h.st.GetMerge(context.Background(), sugg.Suggestions[1].ID)
				return m.Status == store.MergeProposed
			}},
		{name: "export", action: "customer.export", actor: "root", want: 200,
			do: func() *httptest.ResponseRecorder {
				return h.call("GET", "/api/v1/customers/"+ann.CustomerID+"/export?format=json", "root-tok", "")
			}},
		{name: "dead-letter replay", action: "queue.replay", actor: "root", want: 200,
			do: func() *httptest.ResponseRecorder {
				return h.call("POST", "/api/v1/queues/ingest/dead/replay", "root-tok", "")
			}},
		{name: "quarantine release", action: "quarantine.release", actor: "root", want: 202,
			do: func() *httptest.ResponseRecorder {
				payload, _ := json.Marshal(connectors.Message{Channel: "crm", ProviderID: "q-1", Text: "held", Identities: []connectors.Identity{email("q@customer.example")}})
				if err := h.st.PutQuarantine(context.Background(), store.QuarantineItem{ID: "q1", Channel: "crm", Reason: "honeypot", Payload: payload}); err != nil {
					t.Fatal(err)
				}
				return h.call("POST", "/api/v1/quarantine/q1/release", "root-tok", "")
			},
			unchanged: func() bool {
				qs, _ := h.st.ListQuarantine(context.Background(), "", 10)
				return len(qs) == 1
			}},
		{name: "phase", action: "channel.phase", actor: "root", want: 200,
			do: func() *httptest.ResponseRecorder {
				return h.call("PUT", "/api/v1/channels/text/phase", "root-tok", `{"phase":"shadow","force":true}`)
			},
			unchanged: func() bool {
				c, _ := h.st.GetChannelState(context.Background(), "text")
				return c.Phase != store.PhaseShadow
			}},
		{name: "webhook created", action: "webhook.create", actor: "root", want: 201,
			do: func() *httptest.ResponseRecorder {
				return h.call("POST", "/api/v1/webhooks", "root-tok", `{"name":"crm-hook","url":"https://crm.example/hook?token=SECRET-Q","events":["*"]}`)
			},
			unchanged: func() bool { return h.call("GET", "/api/v1/webhooks/crm-hook", "root-tok", "").Code == 404 }},
		{name: "webhook updated", action: "webhook.update", actor: "root", want: 200,
			do: func() *httptest.ResponseRecorder {
				return h.call("PATCH", "/api/v1/webhooks/crm-hook", "root-tok", `{"enabled":false}`)
			},
			unchanged: func() bool {
				return strings.Contains(h.call("GET", "/api/v1/webhooks/crm-hook", "root-tok", "").Body.String(), `"enabled":true`)
			}},
		{name: "webhook deleted", action: "webhook.delete", actor: "root", want: 204,
			do: func() *httptest.ResponseRecorder {
				return h.call("DELETE", "/api/v1/webhooks/crm-hook", "root-tok", "")
			},
			unchanged: func() bool { return h.call("GET", "/api/v1/webhooks/crm-hook", "root-tok", "").Code == 200 }},
		{name: "erasure", action: "customer.erase", actor: "root", want: 200,
			do: func() *httptest.ResponseRecorder {
				return h.call("DELETE", "/api/v1/customers/"+cy.CustomerID, "root-tok", "")
			},
			unchanged: func() bool {
				_, err := h.st.GetCustomer(context.Background(), cy.CustomerID)
				return err == nil
			}},
	}
	count := func(action, actor string) int {
		n := 0
		for _, r := range h.records("action=" + action + "&actor=" + actor) {
			if r.Action == action && r.Actor == actor {
				n++
			}
		}
		return n
	}
	for _, s := range steps {
		before := count(s.action, s.actor)
		if s.unchanged != nil {
			h.st.down.Store(true)
			rec := s.do()
			h.st.down.Store(false)
			if rec.Code != http.StatusServiceUnavailable {
				t.Errorf("%s with the audit log down: %d %s, want 503", s.name, rec.Code, rec.Body)
			}
			if !s.unchanged() {
				t.Errorf("%s with the audit log down happened all the same", s.name)
			}
		}
		if rec := s.do(); rec.Code != s.want {
			t.Fatalf("%s: %d %s, want %d", s.name, rec.Code, rec.Body, s.want)
		}
		if got := count(s.action, s.actor) - before; got != 1 {
			t.Errorf("%s: %d new %s records by %s, want 1", s.name, got, s.action, s.actor)
		}
	}
	// Sign-out: with the log down it fails and the session stands.
	rec := h.call("POST", "/api/v1/session", "", fmt.Sprintf(`{"name":"alice","password":%q}`, alicePW))
	var info struct {
		CSRF string `json:"csrf_token"`
	}
	json.Unmarshal(rec.Body.Bytes(), &info)
	cookie := rec.Result().Cookies()[0]
	logout := func() *httptest.ResponseRecorder {
		req := httptest.NewRequest("DELETE", "/api/v1/session", nil)
		req.AddCookie(cookie)
		req.Header.Set(inbox.CSRFHeader, info.CSRF)
		out := httptest.NewRecorder()
		h.srv.ServeHTTP(out, req)
		return out
	}
	before := count("session.logout", "alice")
	h.st.down.Store(true)
	if rec := logout(); rec.Code != 503 {
		t.Errorf("sign-out with the audit log down: %d", rec.Code)
	}
	h.st.down.Store(false)
	if rec := logout(); rec.Code != 204 {
		t.Errorf("sign-out: %d %s", rec.Code, rec.Body)
	}
	if got := count("session.logout", "alice") - before; got != 1 {
		t.Errorf("sign-out: %d session.logout records, want 1", got)
	}

	// A retried action with the same Idempotency-Key is audited once.
	before = count("conversation.note", "alice")
	for range 2 {
		if rec := h.call("POST", "/api/v1/conversations/"+conv+"/notes", "alice-tok", `{"text":"once"}`, inbox.IdempotencyHeader, "note-42"); rec.Code != 201 {
			t.Fatalf("note: %d %s", rec.Code, rec.Body)
		}
	}
	if got := count("conversation.note", "alice") - before; got != 1 {
		t.Errorf("a note retried with one Idempotency-Key: %d records, want 1", got)
	}

	// No content anywhere in the log; filters by customer find the
	// conversation's records through its customer.
	all := h.records("")
	b, _ := json.Marshal(all)
	for _, secret := range []string{"SECRET-REPLY-TEXT", "SECRET-NOTE-TEXT", "SECRET-Q", "hello m-ann"} {
		if strings.Contains(string(b), secret) {
			t.Errorf("the audit log holds %q", secret)
		}
	}
	byCustomer := h.records("customer=" + ann.CustomerID + "&action=conversation")
	if len(byCustomer) < 4 {
		t.Errorf("records of customer %s's conversations: %+v, want the assign, status, snooze, reply and notes", ann.CustomerID, byCustomer)
	}
	if rec := h.call("GET", "/api/v1/audit?from=yesterday", "root-tok", ""); rec.Code != 400 {
		t.Errorf("from=yesterday: %d, want 400", rec.Code)
	}
	if rec := h.call("GET", "/api/v1/audit", "alice-tok", ""); rec.Code != 403 {
		t.Errorf("an agent reading the audit log: %d, want 403", rec.Code)
	}
}
