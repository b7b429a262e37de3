package inbox_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/store"
)

// outboxOutage fails writes to the webhook outbox while down is set.
type outboxOutage struct {
	store.Store
	down atomic.Bool
}

func (o *outboxOutage) PutWebhookEvents(ctx context.Context, evs []store.WebhookEvent) error {
	if o.down.Load() {
		return errors.New("outbox unreachable")
	}
	return o.Store.PutWebhookEvents(ctx, evs)
}

// TestPhaseEventSurvivesACrash: a phase change whose channel.phase_changed
// could not be recorded after the change (a crash in between) is recorded
// by the sweeper, once.
func TestPhaseEventSurvivesACrash(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, base store.Store) {
		ctx := context.Background()
		st := &outboxOutage{Store: base}
		dir := directory.New(st, []directory.Channel{{Name: "text", Type: "sms", Phase: store.PhaseLive}}, store.SystemClock, nil)
		srv := inbox.New(inbox.Options{Store: st, Directory: dir, Logger: slog.New(slog.DiscardHandler),
			Credentials: []inbox.Credential{{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-tok")}}})
		h := &auditHub{t: t, srv: srv}
		if rec := h.call("POST", "/api/v1/webhooks", "root-tok", `{"name":"ops","url":"https://ops.example/hook","events":["channel.phase_changed"]}`); rec.Code != 201 {
			t.Fatalf("create webhook: %d %s", rec.Code, rec.Body)
		}
		since := time.Now().Add(-time.Minute)
		st.down.Store(true)
		if rec := h.call("PUT", "/api/v1/channels/text/phase", "root-tok", `{"phase":"shadow"}`); rec.Code != 200 {
			t.Fatalf("phase: %d %s", rec.Code, rec.Body)
		}
		st.down.Store(false)
		pending := func() []store.WebhookEvent {
			evs, err := st.PendingWebhookEvents(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			return evs
		}
		if evs := pending(); len(evs) != 0 {
			t.Fatalf("events with the outbox down: %+v", evs)
		}
		for range 2 {
			if _, err := srv.SweepPendingEvents(ctx, since); err != nil {
				t.Fatal(err)
			}
		}
		evs := pending()
		if len(evs) != 1 || evs[0].Type != "channel.phase_changed" {
			t.Fatalf("after the sweeps: %+v, want one channel.phase_changed", evs)
		}
		if string(evs[0].Data) == "" || !strings.Contains(string(evs[0].Data), `"phase":"shadow"`) || !strings.Contains(string(evs[0].Data), `"type":"sms"`) {
			t.Errorf("event data %s", evs[0].Data)
		}
	})
}
