package timeline_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/hubtest"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

func backends(t *testing.T, f func(t *testing.T, st store.Store)) { hubtest.Backends(t, f) }

// noAudit is a store whose audit log is down.
type noAudit struct{ store.Store }

func (noAudit) AppendAudit(context.Context, store.AuditRecord) error {
	return errors.New("audit log unreachable")
}

func open(t *testing.T, st store.Store) store.Conversation {
	t.Helper()
	c, _, err := st.OpenConversation(context.Background(), store.Conversation{ID: "v1", CustomerID: "c1", Channel: "crm",
		ThreadKey: "crm|t1", Status: store.StatusOpen, CreatedAt: time.Now(), LastActivity: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestUpdateAuditsOrSaysSo: an agent's change is audited once (a retry of
// the same change on the same version writes no second record); when the
// audit log fails, the change is not made (ErrAudit), nothing is announced
// and the conversation is as it was.
func TestUpdateAuditsOrSaysSo(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := open(t, st)
		if _, err := timeline.NewService(st, timeline.Options{}).Assign(ctx, c.ID, "alice", "bob"); err != nil {
			t.Fatal(err)
		}
		as, err := st.ListAudit(ctx, 10)
		if err != nil || len(as) != 1 || as[0].Actor != "bob" || as[0].Target != c.ID || as[0].Customer != "c1" || as[0].Detail != "status=open assignee=alice" {
			t.Fatalf("audit = %+v, %v", as, err)
		}

		svc := timeline.NewService(noAudit{st}, timeline.Options{})
		events, err := st.Subscribe(ctx, timeline.EventsTopic)
		if err != nil {
			t.Fatal(err)
		}
		got, err := svc.Resolve(ctx, c.ID, "bob")
		if !errors.Is(err, timeline.ErrAudit) {
			t.Fatalf("resolve with the audit log down: %+v, %v; want ErrAudit", got, err)
		}
		now, err := st.GetConversation(ctx, c.ID)
		if err != nil || now.Status != store.StatusOpen || now.Assignee != "alice" {
			t.Fatalf("conversation after a refused resolve: %+v, %v; want it open, alice's", now, err)
		}
		select {
		case b := <-events:
			t.Fatalf("a change that was not made was announced: %s", b)
		case <-time.After(200 * time.Millisecond):
		}
		if n, _ := timeline.AgentLoad(ctx, st, "alice"); n != 1 {
			t.Fatalf("alice's load after the refused resolve = %d, want 1", n)
		}
	})
}

// TestInvalidChangeChangesNothing: a snooze without a future time or an
// unknown status is refused before anything is written.
func TestInvalidChangeChangesNothing(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		c := open(t, st)
		svc := timeline.NewService(st, timeline.Options{})
		past, bogus := time.Now().Add(-time.Minute), "closed"
		for _, ch := range []timeline.Change{{Status: &bogus}, {SnoozedUntil: &past}} {
			if _, err := svc.Update(ctx, c.ID, ch, "bob"); !errors.Is(err, timeline.ErrInvalidChange) {
				t.Errorf("change %+v: err %v, want ErrInvalidChange", ch, err)
			}
		}
		if _, err := svc.Snooze(ctx, c.ID, past, "bob"); !errors.Is(err, timeline.ErrInvalidChange) {
			t.Errorf("snooze into the past: err %v", err)
		}
		got, _ := st.GetConversation(ctx, c.ID)
		as, _ := st.ListAudit(ctx, 10)
		if got.Status != store.StatusOpen || got.Version != c.Version || len(as) != 0 {
			t.Fatalf("after refused changes: %+v, audit %+v", got, as)
		}
	})
}
