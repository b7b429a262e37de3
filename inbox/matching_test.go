package inbox_test

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// matchHub is the inbox over a real store with a router, for issue 22's
// cases end to end: messages are prepared and routed as the ingest worker
// does, every check goes through the API.
type matchHub struct {
	t   *testing.T
	st  store.Store
	srv *inbox.Server
	in  *router.Ingest
	rt  *router.Router
}

var matchSeq atomic.Int64

const (
	matchAgentTok = "match-agent"
	matchAdminTok = "match-admin"
)

func newMatchHub(t *testing.T, st store.Store) *matchHub {
	dir := directory.New(st, []directory.Channel{{Name: "form", Type: "api", Phase: store.PhaseLive},
		{Name: "crm", Type: "api", Phase: store.PhaseLive},
		{Name: "crm-se", Type: "api", Phase: store.PhaseLive, Trusted: true, DefaultRegion: "SE"}}, store.SystemClock, nil)
	in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
	rt := router.New(st, dir, router.Options{Routing: router.Routing{Teams: []string{"support"},
		Agents: []router.Agent{{Name: "alice", Teams: []string{"support"}}}}})
	srv := inbox.New(inbox.Options{Store: st, Directory: dir, Resolver: identity.NewResolver(st, store.SystemClock, nil, nil),
		Teams: []string{"support"}, Logger: slog.New(slog.DiscardHandler), DefaultRegion: "FI", Ingest: in,
		Credentials: []inbox.Credential{
			{Principal: inbox.Principal{Name: "alice", Role: "agent", Teams: []string{"support"}}, TokenSHA256: inbox.HashToken(matchAgentTok)},
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken(matchAdminTok)},
		}})
	return &matchHub{t: t, st: st, srv: srv, in: in, rt: rt}
}

// send routes a message on channel carrying keys ("type:value", claimed
// when prefixed "~") and returns its id.
func (h *matchHub) send(channel string, keys ...string) string {
	h.t.Helper()
	m := connectors.Message{Channel: channel, ProviderID: fmt.Sprintf("p%d", matchSeq.Add(1)), Text: "hello " + strings.Join(keys, " ")}
	for _, k := range keys {
		id, err := connectors.ParseKey(strings.TrimPrefix(k, "~"))
		if err != nil {
			h.t.Fatal(err)
		}
		id.Verified = !strings.HasPrefix(k, "~")
		m.Identities = append(m.Identities, id)
	}
	m, err := h.in.Prepare(m)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.rt.Process(context.Background(), m); err != nil {
		h.t.Fatal(err)
	}
	return m.ID
}

// call sends a request as the agent (or the admin) and decodes the answer
// into out, failing unless the status is want.
func (h *matchHub) call(admin bool, method, path, body string, want int, out any) {
	h.t.Helper()
	req := httptest.NewRequest(method, path, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	tok := matchAgentTok
	if admin {
		tok = matchAdminTok
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	rec := httptest.NewRecorder()
	h.srv.ServeHTTP(rec, req)
	if rec.Code != want {
		h.t.Fatalf("%s %s: %d %s, want %d", method, path, rec.Code, rec.Body, want)
	}
	if out != nil {
		if err := json.Unmarshal(rec.Body.Bytes(), out); err != nil {
			h.t.Fatalf("%s %s: %v in %s", method, path, err, rec.Body)
		}
	}
}

type customerOut struct {
	ID         string                `json:"id"`
	Identities []connectors.Identity `json:"identities"`
	ClaimedBy  []string              `json:"claimed_by"`
}

func (h *matchHub) lookup(key string, want int) customerOut {
	h.t.Helper()
	var c customerOut
	h.call(false, "GET", "/api/v1/customers?identity="+url.QueryEscape(key), "", want, &c)
	return c
}

func (h *matchHub) customer(id string) customerOut {
	h.t.Helper()
	var c customerOut
	h.call(false, "GET", "/api/v1/customers/"+id, "", 200, &c)
	return c
}

func (h *matchHub) timeline(id string) []store.Entry {
	h.t.Helper()
	var out struct{ Entries []store.Entry }
	h.call(false, "GET", "/api/v1/customers/"+id+"/timeline", "", 200, &out)
	return out.Entries
}

func (h *matchHub) suggestions(query string) []store.Merge {
	h.t.Helper()
	var out struct{ Suggestions []store.Merge }
	h.call(false, "GET", "/api/v1/suggestions"+query, "", 200, &out)
	return out.Suggestions
}

func keysOf(ids []connectors.Identity) []string {
	var out []string
	for _, id := range ids {
		k := id.Key()
		if !id.Verified {
			k = "~" + k
		}
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

func uniqKeys(n int64) (email, phone string) {
	return fmt.Sprintf("email:m%d@example.com", n), fmt.Sprintf("phone:+35844%07d", n)
}

// Issue 22, first case, through the API: a form's claimed address, then a
// verified message from it: a suggestion with the evidence in words and
// parts, and the lookup names the claimer.
func TestAPIVerifiedAfterClaimIsSuggested(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newMatchHub(t, st)
		email, _ := uniqKeys(matchSeq.Add(1))
		h.send("form", "~"+email)
		x := h.lookup(email, 200)
		verified := h.send("crm", email)
		y := h.lookup(email, 200)
		if y.ID == x.ID || !slices.Equal(y.ClaimedBy, []string{x.ID}) {
			t.Fatalf("lookup after the verified message: %+v, want another customer than %s, claimed by it", y, x.ID)
		}
		sg := h.suggestions("?kind=" + identity.EvidenceVerifiedOfClaim + "&channel=crm")
		i := slices.IndexFunc(sg, func(m store.Merge) bool { return m.Winner == y.ID && m.Loser == x.ID })
		if i < 0 {
			t.Fatalf("no suggestion %s ← %s in %+v", y.ID, x.ID, sg)
		}
		s := sg[i]
		if s.Identity != email || s.MessageID != verified || !strings.Contains(s.Evidence, email) || !strings.Contains(s.Evidence, verified) {
			t.Fatalf("suggestion evidence %+v, want %s from message %s, in words", s, email, verified)
		}
		if got := h.suggestions("?channel=form"); slices.ContainsFunc(got, func(m store.Merge) bool { return m.ID == s.ID }) {
			t.Fatal("filter channel=form lists a suggestion raised on crm")
		}
		if got := h.suggestions("?kind=" + identity.EvidenceClaimOfVerified); slices.ContainsFunc(got, func(m store.Merge) bool { return m.ID == s.ID }) {
			t.Fatal("filter by another kind lists the suggestion")
		}
		if got := h.suggestions("?older_than=1h"); slices.ContainsFunc(got, func(m store.Merge) bool { return m.ID == s.ID }) {
			t.Fatal("older_than=1h lists a suggestion raised just now")
		}
		if got := h.suggestions("?since=" + url.QueryEscape(time.Now().Add(-time.Hour).Format(time.RFC3339))); !slices.ContainsFunc(got, func(m store.Merge) bool { return m.ID == s.ID }) {
			t.Fatal("since an hour ago does not list a suggestion raised just now")
		}
		h.call(false, "GET", "/api/v1/suggestions?older_than=soon", "", 400, nil)

		// Reject: remembered, the same evidence does not bring it back.
		h.call(false, "POST", "/api/v1/suggestions/"+s.ID+"/reject", "", 200, nil)
		h.send("crm", email)
		h.send("form", "~"+email)
		if got := h.suggestions(""); slices.ContainsFunc(got, func(m store.Merge) bool { return m.ID == s.ID }) {
			t.Fatal("a rejected suggestion is back on the same evidence")
		}
	})
}

// Issue 22, second case, through the API: merge, then unmerge; each
// identity and entry is on exactly one of the two again, and while merged
// the entries carry the merged customer's id.
func TestAPIUnmergeIsExact(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newMatchHub(t, st)
		email, phone := uniqKeys(matchSeq.Add(1))
		ma := h.send("crm", phone)
		a := h.lookup(phone, 200)
		mb := h.send("crm", email)
		b := h.lookup(email, 200)
		var merged struct {
			CustomerID string `json:"customer_id"`
			Merge      store.Merge
		}
		h.call(false, "POST", "/api/v1/customers/"+a.ID+"/merge", `{"other":"`+b.ID+`"}`, 200, &merged)
		h.send("crm", phone) // a message while merged joins the merged customer
		for _, e := range h.timeline(b.ID) {
			if e.CustomerID != merged.CustomerID {
				t.Fatalf("merged timeline: entry %s carries customer %s, want %s", e.ID, e.CustomerID, merged.CustomerID)
			}
		}
		h.call(false, "POST", "/api/v1/merges/"+merged.Merge.ID+"/undo", "", 200, nil)
		for _, c := range []struct{ id, key, entry string }{{a.ID, phone, ma}, {b.ID, email, mb}} {
			got := h.customer(c.id)
			if k := keysOf(got.Identities); !slices.Equal(k, []string{c.key}) {
				t.Fatalf("after unmerge %s lists %v, want only %s", c.id, k, c.key)
			}
			if l := h.lookup(c.key, 200); l.ID != c.id {
				t.Fatalf("after unmerge %s finds %s, want %s", c.key, l.ID, c.id)
			}
			es := h.timeline(c.id)
			if !slices.ContainsFunc(es, func(e store.Entry) bool { return e.ID == c.entry && e.CustomerID == c.id }) {
				t.Fatalf("after unmerge %s's timeline lacks %s: %v", c.id, c.entry, es)
			}
		}
		if n := len(h.timeline(b.ID)); n != 1 {
			t.Fatalf("after unmerge %s has %d entries, want 1", b.ID, n)
		}
	})
}

// Issue 22, third case, through the API: an agent adds identities (claimed,
// verified with a reason), moves one and removes one; each audited and on
// the timeline, with a suggestion where it creates a conflict.
func TestAPIAgentCorrectsIdentities(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newMatchHub(t, st)
		n := matchSeq.Add(1)
		email, phone := uniqKeys(n)
		other, _ := uniqKeys(matchSeq.Add(1))
		h.send("crm", email)
		a := h.lookup(email, 200)
		h.send("form", "~"+other)
		x := h.lookup(other, 200)
		h.send("crm", fmt.Sprintf("email:b%d@example.com", n))
		b := h.lookup(fmt.Sprintf("email:b%d@example.com", n), 200)

		p, _ := connectors.ParseKey(phone)
		h.call(false, "POST", "/api/v1/customers/"+a.ID+"/identities", `{"type":"phone","value":"`+p.Value+`","verified":true}`, 422, nil)
		var c identity.Correction
		h.call(false, "POST", "/api/v1/customers/"+a.ID+"/identities", `{"type":"phone","value":"044 `+p.Value[6:]+`","verified":true,"reason":"checked on the phone"}`, 200, &c)
		if c.Identity.Key() != phone || !c.Identity.Verified {
			t.Fatalf("added %+v, want %s verified (read in FI)", c.Identity, phone)
		}
		if got := h.lookup(phone, 200); got.ID != a.ID {
			t.Fatalf("lookup of the added phone finds %s, want %s", got.ID, a.ID)
		}
		// Verified here while x claims it: a suggestion.
		o, _ := connectors.ParseKey(other)
		h.call(false, "POST", "/api/v1/customers/"+a.ID+"/identities", `{"type":"email","value":"`+o.Value+`","verified":true,"reason":"customer confirmed"}`, 200, &c)
		if len(c.SuggestionIDs) != 1 {
			t.Fatalf("verified an address %s claims: %+v, want one suggestion", x.ID, c)
		}
		sg := h.suggestions("?kind=" + identity.EvidenceVerifiedOfClaim)
		if !slices.ContainsFunc(sg, func(m store.Merge) bool {
			return m.ID == c.SuggestionIDs[0] && m.Loser == x.ID && strings.Contains(m.Evidence, "customer confirmed")
		}) {
			t.Fatalf("suggestion %s with the agent's reason not listed: %+v", c.SuggestionIDs[0], sg)
		}
		// Claimed on b while verified for a: kept claimed, a suggestion.
		h.call(false, "POST", "/api/v1/customers/"+b.ID+"/identities", `{"type":"email","value":"`+o.Value+`","verified":true,"reason":"said so"}`, 200, &c)
		if c.Identity.Verified || c.Conflict == "" || len(c.SuggestionIDs) != 1 {
			t.Fatalf("verified elsewhere: %+v, want kept claimed with a conflict and a suggestion", c)
		}

		// Move the phone to b.
		h.call(false, "POST", "/api/v1/customers/"+a.ID+"/identities/"+url.PathEscape(phone)+"/move", `{"to":"`+b.ID+`"}`, 200, &c)
		if got := h.lookup(phone, 200); got.ID != b.ID {
			t.Fatalf("moved phone found on %s, want %s", got.ID, b.ID)
		}
		if slices.Contains(keysOf(h.customer(a.ID).Identities), phone) || !slices.Contains(keysOf(h.customer(b.ID).Identities), phone) {
			t.Fatalf("after the move: a %v, b %v", keysOf(h.customer(a.ID).Identities), keysOf(h.customer(b.ID).Identities))
		}
		// Remove it.
		h.call(false, "DELETE", "/api/v1/customers/"+b.ID+"/identities/"+url.PathEscape(phone)+"?reason=wrong+number", "", 200, nil)
		h.lookup(phone, 404)
		h.call(false, "DELETE", "/api/v1/customers/"+b.ID+"/identities/"+url.PathEscape(phone), "", 404, nil)

		var audit struct{ Audit []store.AuditRecord }
		h.call(true, "GET", "/api/v1/audit?limit=100", "", 200, &audit)
		var actions []string
		for _, r := range audit.Audit {
			if strings.HasPrefix(r.Action, "customer.identity.") {
				actions = append(actions, r.Action)
				if strings.Contains(r.Detail, p.Value) || strings.Contains(r.Target, p.Value) {
					t.Fatalf("audit record %+v keeps the identity's value", r)
				}
			}
		}
		slices.Sort(actions)
		if want := []string{"customer.identity.add", "customer.identity.add", "customer.identity.add", "customer.identity.move", "customer.identity.remove"}; !slices.Equal(actions, want) {
			t.Fatalf("identity audit records %v, want %v", actions, want)
		}
		var events []string
		for _, e := range h.timeline(b.ID) {
			if e.Kind == store.KindEvent {
				events = append(events, e.Text)
			}
		}
		if len(events) != 3 || !strings.Contains(strings.Join(events, "\n"), "removed phone …") || !strings.Contains(strings.Join(events, "\n"), "wrong number") {
			t.Fatalf("events on b's timeline: %q, want the add, the move here and the removal (masked, with the reason)", events)
		}
		if strings.Contains(strings.Join(events, "\n"), "removed "+phone) {
			t.Fatal("the removal event names the removed number")
		}
	})
}

// Bulk decisions are for admins; each decision is applied on its own.
func TestAPIBulkDecisions(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newMatchHub(t, st)
		var ids []string
		for i := 0; i < 3; i++ {
			email, _ := uniqKeys(matchSeq.Add(1))
			h.send("form", "~"+email)
			h.send("crm", email)
			y := h.lookup(email, 200)
			for _, s := range h.suggestions("") {
				if s.Winner == y.ID {
					ids = append(ids, s.ID)
				}
			}
		}
		if len(ids) != 3 {
			t.Fatalf("%d suggestions, want 3", len(ids))
		}
		body := fmt.Sprintf(`{"decisions":[{"id":%q,"decision":"accept"},{"id":%q,"decision":"reject"},{"id":%q,"decision":"reject"},{"id":"sg_nope","decision":"accept"}]}`, ids[0], ids[1], ids[1])
		h.call(false, "POST", "/api/v1/suggestions/decisions", body, 403, nil)
		var out struct {
			Results []struct{ ID, Status, Error string }
		}
		h.call(true, "POST", "/api/v1/suggestions/decisions", body, 200, &out)
		got := fmt.Sprint(out.Results)
		want := fmt.Sprint([]struct{ ID, Status, Error string }{{ids[0], store.MergeApplied, ""}, {ids[1], store.MergeRejected, ""}, {ids[1], store.MergeRejected, "already decided"}, {"sg_nope", "", "not found"}})
		if got != want {
			t.Fatalf("results %s, want %s", got, want)
		}
		left := h.suggestions("")
		if slices.ContainsFunc(left, func(m store.Merge) bool { return m.ID == ids[0] || m.ID == ids[1] }) || !slices.ContainsFunc(left, func(m store.Merge) bool { return m.ID == ids[2] }) {
			t.Fatalf("queue after the decisions: %+v, want only %s of the three", left, ids[2])
		}
		h.call(true, "POST", "/api/v1/suggestions/decisions", `{"decisions":[{"id":"x","decision":"maybe"}]}`, 422, nil)
	})
}

// drain routes every message waiting in the ingest queue.
func (h *matchHub) drain() {
	h.t.Helper()
	ctx := context.Background()
	for {
		items, err := h.st.Read(ctx, store.QueueIngest, "match", 10, 0)
		if err != nil {
			h.t.Fatal(err)
		}
		if len(items) == 0 {
			return
		}
		for _, it := range items {
			var m connectors.Message
			if err := json.Unmarshal(it.Payload, &m); err != nil {
				h.t.Fatal(err)
			}
			if err := h.rt.Process(ctx, m); err != nil {
				h.t.Fatal(err)
			}
			if err := h.st.Ack(ctx, store.QueueIngest, it.ID); err != nil {
				h.t.Fatal(err)
			}
		}
	}
}

// Issue 22, fourth case, through the api channel: a number without a
// country code is read in the channel's region, the entry says which rule
// read it, and an unreadable number is kept as claimed raw text.
func TestAPIChannelDefaultRegion(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newMatchHub(t, st)
		n := matchSeq.Add(1)
		post := func(channel, phone string) {
			h.call(true, "POST", "/api/v1/channels/"+channel+"/messages",
				fmt.Sprintf(`{"external_id":"r%d-%s","sender":{"phone":%q},"text":"hej"}`, n, channel, phone), 202, nil)
		}
		se := fmt.Sprintf("070 %03d %04d", n%1000, n%10000)
		post("crm-se", se)
		post("crm", "call me on my cell")
		h.drain()
		want := fmt.Sprintf("phone:+4670%03d%04d", n%1000, n%10000)
		c := h.lookup(want, 200)
		es := h.timeline(c.ID)
		if len(es) != 1 || !slices.Contains(es[0].Flags, "phone-region:SE (channels[crm-se].default_region)") {
			t.Fatalf("entry of %s: %+v, want the flag naming channels[crm-se].default_region", want, es)
		}
		raw := h.lookup("phone:call me on my cell", 200)
		if k := keysOf(raw.Identities); !slices.Equal(k, []string{"~phone:call me on my cell"}) {
			t.Fatalf("unreadable number kept as %v, want claimed raw text", k)
		}
		if es := h.timeline(raw.ID); len(es) != 1 || !slices.Contains(es[0].Flags, "phone-unreadable") {
			t.Fatalf("entry of the unreadable number: %+v", es)
		}
	})
}
