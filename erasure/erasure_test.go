package erasure_test

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/erasure"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs"
	"github.com/switchboard-hub/switchboard/store/embedded"
	"github.com/switchboard-hub/switchboard/timeline"
)

var errAudit = errors.New("audit log unavailable")

// auditStore fails AppendAudit while fail is set, and counts the
// conversations deleted.
type auditStore struct {
	store.Store
	fail    atomic.Bool
	deletes atomic.Int32
}

func (s *auditStore) DeleteConversation(ctx context.Context, id string) error {
	s.deletes.Add(1)
	return s.Store.DeleteConversation(ctx, id)
}

func (s *auditStore) AppendAudit(ctx context.Context, r store.AuditRecord) error {
	if s.fail.Load() {
		return errAudit
	}
	return s.Store.AppendAudit(ctx, r)
}

// person is two customers merged into one (a verified email and phone),
// each with an entry, the email one with an attachment, a conversation
// assigned to alice (counted in her load), a consent and a quarantined
// message from the phone.
type person struct {
	st       *auditStore
	blobs    *blobs.Dir
	ids      []string // customer ids, winner first
	sum      string   // the attachment's blob
	conv     store.Conversation
	convs    *timeline.Service
	mergeID  string
	messages []connectors.Message
}

func newPerson(t *testing.T) *person {
	ctx := context.Background()
	raw, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { raw.Close() })
	bl, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	p := &person{st: &auditStore{Store: raw}, blobs: bl}
	res := identity.NewResolver(p.st, store.SystemClock, nil, nil)
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	email := connectors.Identity{Type: "email", Value: "erin@example.com", Verified: true}
	phone := connectors.Identity{Type: "phone", Value: "+358409998877", Verified: true}
	for i, id := range []connectors.Identity{email, phone} {
		m := connectors.Message{ID: "api:m" + id.Type, Channel: "api", Identities: []connectors.Identity{id}, ReceivedAt: t0.Add(time.Duration(i) * time.Second)}
		r, err := res.Resolve(ctx, m)
		if err != nil {
			t.Fatal(err)
		}
		p.ids = append(p.ids, r.Customer)
		p.messages = append(p.messages, m)
	}
	_, merge, err := res.Merge(ctx, p.ids[0], p.ids[1], "alice", "same person: erin@example.com", "")
	if err != nil {
		t.Fatal(err)
	}
	p.mergeID = merge.ID
	if p.sum, _, err = bl.Put(ctx, strings.NewReader("my secret order 4711"), 1<<20); err != nil {
		t.Fatal(err)
	}
	if _, _, err = p.st.OpenConversation(ctx, store.Conversation{ID: "v_erin", CustomerID: p.ids[0], Channel: "api", ThreadKey: "api:t",
		Status: store.StatusOpen, CreatedAt: t0, LastActivity: t0}); err != nil {
		t.Fatal(err)
	}
	p.convs = timeline.NewService(p.st, timeline.Options{})
	if p.conv, err = p.convs.Assign(ctx, "v_erin", "alice", "alice"); err != nil {
		t.Fatal(err)
	}
	if n, err := timeline.AgentLoad(ctx, p.st, "alice"); err != nil || n != 1 {
		t.Fatalf("alice's load after the assignment: %d (%v), want 1", n, err)
	}
	for i, c := range p.ids {
		e := store.Entry{ID: p.messages[i].ID, CustomerID: c, Channel: "api", Kind: "message", Text: "private " + c, OccurredAt: t0, CreatedAt: t0}
		if i == 0 {
			e.ConversationID = p.conv.ID
			e.Attachments = []connectors.Attachment{{Name: "order.txt", SHA256: p.sum, Size: 20}}
		}
		if _, _, err := p.st.AppendEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if err := p.st.PutConsent(ctx, store.Consent{CustomerID: p.ids[1], Channel: "api", Purpose: "marketing", Granted: true, At: t0}); err != nil {
		t.Fatal(err)
	}
	q, _ := json.Marshal(connectors.Message{Channel: "form", Identities: []connectors.Identity{phone}, Text: "spam?"})
	if err := p.st.PutQuarantine(ctx, store.QuarantineItem{ID: "q1", Channel: "form", Payload: q, At: t0}); err != nil {
		t.Fatal(err)
	}
	return p
}

// gone checks DESIGN invariant 7 for p: nothing of the person is left but
// the audit record and the merge record's opaque ids.
func (p *person) gone(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	for _, id := range p.ids {
		if _, err := p.st.GetCustomer(ctx, id); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("customer %s: %v, want not found", id, err)
		}
		if es, err := p.st.PageEntries(ctx, id, "", 10); err != nil || len(es) != 0 {
			t.Errorf("customer %s still has %d entries (%v)", id, len(es), err)
		}
		if cs, _ := p.st.ListConsents(ctx, id); len(cs) != 0 {
			t.Errorf("customer %s still has consents %+v", id, cs)
		}
	}
	for _, k := range [][2]string{{"email", "erin@example.com"}, {"phone", "+358409998877"}} {
		if b, err := p.st.LookupIdentity(ctx, k[0], k[1]); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("identity %s:%s still bound to %s (%v)", k[0], k[1], b.CustomerID, err)
		}
	}
	if _, err := p.st.GetConversation(ctx, p.conv.ID); !errors.Is(err, store.ErrNotFound) {
		t.Errorf("conversation %s: %v, want not found", p.conv.ID, err)
	}
	if _, err := p.blobs.Get(ctx, p.sum); !errors.Is(err, connectors.ErrBlobNotFound) {
		t.Errorf("attachment blob: %v, want %v", err, connectors.ErrBlobNotFound)
	}
	if qs, _ := p.st.ListQuarantine(ctx, "", 10); len(qs) != 0 {
		t.Errorf("%d quarantined messages left", len(qs))
	}
	if m, err := p.st.GetMerge(ctx, p.mergeID); err != nil || strings.Contains(m.Evidence, "erin") {
		t.Errorf("merge record %+v (%v) still names the person", m, err)
	}
}

func (p *person) erasures(t *testing.T) []store.AuditRecord {
	t.Helper()
	all, err := p.st.ListAudit(context.Background(), 100)
	if err != nil {
		t.Fatal(err)
	}
	var out []store.AuditRecord
	for _, a := range all {
		if a.Action == "customer.erase" {
			out = append(out, a)
		}
	}
	return out
}

func TestEraseRemovesThePersonEverywhere(t *testing.T) {
	p := newPerson(t)
	ctx := context.Background()
	var released []string
	// Erasing by the merged-away customer erases the whole person; the
	// conversation service deletes the conversation, as the hub's does.
	rep, err := erasure.Erase(ctx, p.st, p.blobs, p.ids[1], "admin", store.SystemClock,
		func(ctx context.Context, c store.Conversation) error {
			released = append(released, c.ID+"@"+c.Assignee)
			return p.convs.Delete(ctx, c)
		})
	if err != nil {
		t.Fatal(err)
	}
	want := erasure.Report{Customers: p.ids, Identities: 2, Entries: 2, Attachments: 1, Conversations: 1, Quarantined: 1, MergesScrubbed: 1}
	if got, _ := json.Marshal(rep); string(got) != string(must(json.Marshal(want))) {
		t.Fatalf("report %s, want %s", got, must(json.Marshal(want)))
	}
	if len(released) != 1 || released[0] != "v_erin@alice" {
		t.Fatalf("deleted conversations handed back: %v, want [v_erin@alice]", released)
	}
	if n := p.st.deletes.Load(); n != 1 {
		t.Fatalf("conversation deleted %d times, want once", n)
	}
	if n, err := timeline.AgentLoad(ctx, p.st, "alice"); err != nil || n != 0 {
		t.Fatalf("alice's load after the erasure: %d (%v), want 0", n, err)
	}
	p.gone(t)
	if as := p.erasures(t); len(as) != 1 || as[0].Target != p.ids[0] || as[0].Actor != "admin" {
		t.Fatalf("erase audit records %+v, want one by admin for %s", as, p.ids[0])
	}
}

// A failed erase audit is returned (the API answers 5xx) while the
// customer records still exist, so running the erasure again finishes it
// and writes the record.
func TestEraseAuditFailureIsReturnedAndRetryable(t *testing.T) {
	ctx := context.Background()
	p := newPerson(t)
	p.st.fail.Store(true)
	if _, err := erasure.Erase(ctx, p.st, p.blobs, p.ids[0], "admin", store.SystemClock, p.convs.Delete); !errors.Is(err, errAudit) {
		t.Fatalf("erase with the audit log down: err %v, want %v", err, errAudit)
	}
	if _, err := p.st.GetCustomer(ctx, p.ids[0]); err != nil {
		t.Fatalf("after a failed audit the customer record must stay for the retry: %v", err)
	}

	p.st.fail.Store(false)
	if _, err := erasure.Erase(ctx, p.st, p.blobs, p.ids[0], "admin", store.SystemClock, p.convs.Delete); err != nil {
		t.Fatalf("retried erase: %v", err)
	}
	p.gone(t)
	if as := p.erasures(t); len(as) != 1 {
		t.Fatalf("%d erase audit records after the retry, want 1", len(as))
	}
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}
