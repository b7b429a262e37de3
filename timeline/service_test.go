package timeline_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"strings"
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

// TestUpdateAuditsOrSaysSo: an agent's change is audited; when the audit
// log fails after the change was made, the change stands, is announced
// and the failure is logged at error level, not dropped.
func TestUpdateAuditsOrSaysSo(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx, cancel := context.WithCancel(context.Background())
		defer cancel()
		c := open(t, st)
		if _, err := timeline.NewService(st, timeline.Options{}).Assign(ctx, c.ID, "alice", "bob"); err != nil {
			t.Fatal(err)
		}
		as, err := st.ListAudit(ctx, 10)
		if err != nil || len(as) != 1 || as[0].Actor != "bob" || as[0].Target != c.ID || as[0].Detail != "status=open assignee=alice" {
			t.Fatalf("audit = %+v, %v", as, err)
		}

		var logs bytes.Buffer
		svc := timeline.NewService(noAudit{st}, timeline.Options{Logger: slog.New(slog.NewTextHandler(&logs, nil))})
		events, err := st.Subscribe(ctx, timeline.EventsTopic)
		if err != nil {
			t.Fatal(err)
		}
		got, err := svc.Resolve(ctx, c.ID, "bob")
		if err != nil || got.Status != store.StatusResolved {
			t.Fatalf("resolve with the audit log down: %+v, %v; want the change made", got, err)
		}
		if !strings.Contains(logs.String(), "level=ERROR") || !strings.Contains(logs.String(), "audit log unreachable") {
			t.Fatalf("the audit failure was not logged as an error: %q", logs.String())
		}
		select {
		case b := <-events:
			if !strings.Contains(string(b), `"status":"resolved"`) {
				t.Fatalf("event %s", b)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("the change was not announced")
		}
		if n, _ := timeline.AgentLoad(ctx, st, "alice"); n != 0 {
			t.Fatalf("alice's load after the resolve = %d, want 0", n)
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
