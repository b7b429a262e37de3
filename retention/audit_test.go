package retention_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/retention"
	"github.com/switchboard-hub/switchboard/store"
)

// TestSweepAuditRetention: audit records older than audit.retention go
// with the sweep, newer ones stay; a dry run removes none; the sweep's own
// record says how many went.
func TestSweepAuditRetention(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		clock := store.NewFakeClock(now)
		for _, age := range []time.Duration{400 * 24 * time.Hour, 40 * 24 * time.Hour, 20 * 24 * time.Hour, time.Hour} {
			if err := st.AppendAudit(ctx, store.AuditRecord{At: now.Add(-age), Actor: "alice", Action: "conversation.update", Target: "v1"}); err != nil {
				t.Fatal(err)
			}
		}
		sw := retention.New(retention.Options{Store: st, Clock: clock.Now, AuditRetention: 30 * 24 * time.Hour})
		if rep, err := sw.Sweep(ctx, true); err != nil || rep.AuditRecords != 0 {
			t.Fatalf("dry run: %+v, %v", rep, err)
		}
		rep, err := sw.SweepReport(ctx, false, "admin")
		if err != nil || rep.AuditRecords != 2 {
			t.Fatalf("sweep: %+v, %v; want 2 audit records removed", rep, err)
		}
		p, err := st.QueryAudit(ctx, store.AuditQuery{Action: "conversation.update"})
		if err != nil || len(p.Records) != 2 {
			t.Fatalf("records left: %+v, %v; want the two newer ones", p.Records, err)
		}
		p, err = st.QueryAudit(ctx, store.AuditQuery{Action: "retention.sweep"})
		if err != nil || len(p.Records) != 1 {
			t.Fatalf("sweep record: %+v, %v", p.Records, err)
		}
	})
}
