package directory_test

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

var errAudit = errors.New("audit log unavailable")

// auditStore fails AppendAudit while fail is set.
type auditStore struct {
	store.Store
	fail atomic.Bool
}

func (s *auditStore) AppendAudit(ctx context.Context, r store.AuditRecord) error {
	if s.fail.Load() {
		return errAudit
	}
	return s.Store.AppendAudit(ctx, r)
}

var channels = []directory.Channel{
	{Name: "mail", Type: "email", Phase: store.PhaseShadow, PilotTeam: "pilots"},
	{Name: "text", Type: "sms", Phase: store.PhaseLive},
}

func newStore(t *testing.T) *auditStore {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &auditStore{Store: st}
}

func phase(t *testing.T, d *directory.Directory, name string) string {
	t.Helper()
	c, ok := d.Get(name)
	if !ok {
		t.Fatalf("channel %s unknown", name)
	}
	return c.Phase
}

// DESIGN invariant 8: a phase set on one replica reaches another on its
// next refresh, and is audited.
func TestSetPhaseReachesEveryReplica(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	a := directory.New(st, channels, store.SystemClock, nil)
	b := directory.New(st, channels, store.SystemClock, nil)

	c, err := a.SetPhase(ctx, "mail", store.PhasePilot, "admin")
	if err != nil || c.Phase != store.PhasePilot || c.UpdatedBy != "admin" {
		t.Fatalf("SetPhase: %+v, %v", c, err)
	}
	if got := phase(t, b, "mail"); got != store.PhaseShadow {
		t.Fatalf("replica b before refresh: %s, want the configured shadow", got)
	}
	if err := b.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got := phase(t, b, "mail"); got != store.PhasePilot {
		t.Fatalf("replica b after refresh: %s, want pilot", got)
	}
	as, err := st.ListAudit(ctx, 10)
	if err != nil || len(as) != 1 || as[0].Action != "channel.phase" || as[0].Target != "mail" || as[0].Detail != "shadow -> pilot" {
		t.Fatalf("audit %+v (%v), want one channel.phase mail shadow -> pilot", as, err)
	}
	if got := len(b.List()); got != 2 {
		t.Fatalf("List: %d channels, want 2", got)
	}
}

func TestSetPhaseRefusesBadInput(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	d := directory.New(st, channels, store.SystemClock, nil)
	for _, tc := range []struct {
		name, channel, phase string
		want                 error
	}{
		{"unknown phase", "mail", "lve", directory.ErrBadPhase},
		{"pilot without a pilot team", "text", store.PhasePilot, directory.ErrBadPhase},
		{"unknown channel", "fax", store.PhaseLive, store.ErrNotFound},
	} {
		if _, err := d.SetPhase(ctx, tc.channel, tc.phase, "admin"); !errors.Is(err, tc.want) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.want)
		}
	}
	if got := phase(t, d, "text"); got != store.PhaseLive {
		t.Fatalf("refused changes changed text to %s", got)
	}
	if as, _ := st.ListAudit(ctx, 10); len(as) != 0 {
		t.Fatalf("refused changes were audited: %+v", as)
	}
}

// A failed audit changes nothing and is returned (the API answers 5xx);
// the admin's retry changes the phase and audits it.
func TestSetPhaseAuditFailureChangesNothing(t *testing.T) {
	ctx := context.Background()
	st := newStore(t)
	d := directory.New(st, channels, store.SystemClock, nil)

	st.fail.Store(true)
	if _, err := d.SetPhase(ctx, "text", store.PhaseOff, "admin"); !errors.Is(err, errAudit) {
		t.Fatalf("SetPhase with the audit log down: err %v, want %v", err, errAudit)
	}
	other := directory.New(st, channels, store.SystemClock, nil)
	if err := other.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if got, stored := phase(t, d, "text"), phase(t, other, "text"); got != store.PhaseLive || stored != store.PhaseLive {
		t.Fatalf("unaudited change took effect: here %s, stored %s, want live", got, stored)
	}

	st.fail.Store(false)
	if c, err := d.SetPhase(ctx, "text", store.PhaseOff, "admin"); err != nil || c.Phase != store.PhaseOff {
		t.Fatalf("retried SetPhase: %+v, %v", c, err)
	}
	if as, _ := st.ListAudit(ctx, 10); len(as) != 1 || as[0].Detail != "live -> off" {
		t.Fatalf("audit after retry %+v, want one live -> off", as)
	}
}

func TestAudienceFollowsPhase(t *testing.T) {
	for _, tc := range []struct {
		c    directory.Channel
		want string
	}{
		{directory.Channel{Phase: store.PhaseOff}, store.AudienceShadow},
		{directory.Channel{Phase: store.PhaseShadow}, store.AudienceShadow},
		{directory.Channel{Phase: store.PhasePilot, PilotTeam: "pilots"}, store.TeamAudience("pilots")},
		{directory.Channel{Phase: store.PhaseLive}, store.AudienceAll},
	} {
		if got := tc.c.Audience(); got != tc.want {
			t.Errorf("phase %s: audience %q, want %q", tc.c.Phase, got, tc.want)
		}
	}
	for p, want := range map[string]bool{"off": true, "shadow": true, "pilot": true, "live": true, "lve": false, "": false} {
		if directory.ValidPhase(p) != want {
			t.Errorf("ValidPhase(%q) = %v", p, !want)
		}
	}
}

// DESIGN invariant 8 for sending: off and shadow send for nobody, pilot
// for its team and admins only, live for everyone.
func TestMaySendFollowsPhase(t *testing.T) {
	pilot := directory.Channel{Name: "mail", Phase: store.PhasePilot, PilotTeam: "pilots"}
	for _, tc := range []struct {
		name  string
		c     directory.Channel
		teams []string
		admin bool
		want  bool
	}{
		{"live, any agent", directory.Channel{Phase: store.PhaseLive}, nil, false, true},
		{"pilot, the pilot team", pilot, []string{"support", "pilots"}, false, true},
		{"pilot, another team", pilot, []string{"support"}, false, false},
		{"pilot, no team", pilot, nil, false, false},
		{"pilot, an admin", pilot, nil, true, true},
		{"pilot without a pilot team, an agent of team \"\"", directory.Channel{Phase: store.PhasePilot}, []string{""}, false, false},
		{"shadow, an agent", directory.Channel{Phase: store.PhaseShadow, PilotTeam: "pilots"}, []string{"pilots"}, false, false},
		{"shadow, an admin", directory.Channel{Phase: store.PhaseShadow}, nil, true, false},
		{"off, an admin", directory.Channel{Phase: store.PhaseOff}, nil, true, false},
		{"unknown phase, an admin", directory.Channel{Phase: "lve"}, nil, true, false},
	} {
		err := tc.c.MaySend(tc.teams, tc.admin)
		if (err == nil) != tc.want {
			t.Errorf("%s: MaySend = %v, want allowed=%v", tc.name, err, tc.want)
		}
		if err != nil && !errors.Is(err, directory.ErrMayNotSend) {
			t.Errorf("%s: error %v does not wrap ErrMayNotSend", tc.name, err)
		}
	}
}
