package inbox

import (
	"context"
	"errors"
	"strconv"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/webhooks"
)

// SweepPendingEvents records again channel.phase_changed for every phase
// change audited since from (the audit record is written before the
// change): what a crash between the change and recordPhase left behind.
// The event is derived from the channel's stored state and keyed as
// recordPhase keys it, so one recorded already is not sent twice; a change
// that did not happen left the state as it was, whose event (if any) was
// that earlier change's. It returns how many channels it looked at.
func (s *Server) SweepPendingEvents(ctx context.Context, from time.Time) (int, error) {
	if s.o.Webhooks == nil || s.o.Webhooks.Outbox == nil {
		return 0, nil
	}
	seen := map[string]bool{}
	q := store.AuditQuery{Action: "channel.phase", From: from, Limit: store.MaxAuditPage}
	for {
		page, err := s.o.Store.QueryAudit(ctx, q)
		if err != nil {
			return len(seen), err
		}
		for _, a := range page.Records {
			if seen[a.Target] {
				continue
			}
			seen[a.Target] = true
			st, err := s.o.Store.GetChannelState(ctx, a.Target)
			if errors.Is(err, store.ErrNotFound) {
				continue
			}
			if err != nil {
				return len(seen), err
			}
			typ := ""
			if c, ok := s.o.Directory.Get(a.Target); ok {
				typ = c.Type
			}
			data := map[string]any{"channel": st.Name, "type": typ, "phase": st.Phase, "by": st.UpdatedBy, "at": st.UpdatedAt}
			key := st.Name + "/" + st.Phase + "/" + strconv.FormatInt(st.UpdatedAt.UnixNano(), 10)
			if err := s.o.Webhooks.Outbox.Record(ctx, webhooks.ChannelPhaseChanged, key, "", data); err != nil {
				return len(seen), err
			}
		}
		if page.Next == "" {
			return len(seen), nil
		}
		q.Cursor = page.Next
	}
}

// RunPendingEvents sweeps every interval (SweepPendingEvents) until ctx
// ends, from a little before the previous sweep began, first over the last
// ten minutes. Every replica may run it: sweeps are idempotent.
func (s *Server) RunPendingEvents(ctx context.Context, interval time.Duration) {
	store.RunAuditSweeps(ctx, s.o.Clock, interval, func(ctx context.Context, from time.Time) error {
		_, err := s.SweepPendingEvents(ctx, from)
		return err
	}, func(err error) { s.o.Logger.Warn("pending phase events sweep", "err", err) })
}
