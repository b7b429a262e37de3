package directory

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// Channel is a configured channel as the hub sees it at run time.
type Channel struct {
	Name      string `json:"name"`
	Type      string `json:"type"`
	Phase     string `json:"phase"` // current phase (configured, or changed at run time)
	PilotTeam string `json:"pilot_team,omitempty"`
	Team      string `json:"team,omitempty"`
	// Trusted: identities arriving on this channel are verified (api channel).
	Trusted   bool      `json:"trusted,omitempty"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at,omitempty"`
	// Readiness are the promotion criteria (channels[].readiness).
	Readiness Readiness `json:"-"`
	// DefaultRegion reads the channel's phone numbers written without a
	// country code (channels[].default_region; "" = identity.default_region).
	DefaultRegion string `json:"default_region,omitempty"`
}

// ValidPhase reports whether p is one of off, shadow, pilot, live.
func ValidPhase(p string) bool {
	switch p {
	case store.PhaseOff, store.PhaseShadow, store.PhasePilot, store.PhaseLive:
		return true
	}
	return false
}

// ErrBadPhase is returned by SetPhase for an unknown phase or a pilot phase
// without a pilot team.
var ErrBadPhase = errors.New("invalid phase")

// Directory is the run-time view of every configured channel. Phases
// changed at run time are stored, and every replica's Directory picks them
// up within its refresh interval (DESIGN invariant 8), without a restart.
type Directory struct {
	st     store.Store
	clock  store.Clock
	log    *slog.Logger
	mu     sync.RWMutex
	config map[string]Channel
	cur    map[string]Channel
}

// New starts from the configured channels; call Refresh (or Run) to apply
// phases stored by an admin.
func New(st store.Store, channels []Channel, clock store.Clock, log *slog.Logger) *Directory {
	d := &Directory{st: st, clock: clock, log: log, config: map[string]Channel{}, cur: map[string]Channel{}}
	for _, c := range channels {
		d.config[c.Name] = c
		d.cur[c.Name] = c
	}
	return d
}

// Get returns the channel with its current phase.
func (d *Directory) Get(name string) (Channel, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	c, ok := d.cur[name]
	return c, ok
}

// List returns every channel by name.
func (d *Directory) List() []Channel {
	d.mu.RLock()
	defer d.mu.RUnlock()
	out := make([]Channel, 0, len(d.cur))
	for _, c := range d.cur {
		out = append(out, c)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Refresh reloads run-time phases from the store.
func (d *Directory) Refresh(ctx context.Context) error {
	states, err := d.st.ListChannelStates(ctx)
	if err != nil {
		return err
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, s := range states {
		c, ok := d.config[s.Name]
		if !ok {
			continue // a channel removed from the config keeps its state for later
		}
		c.Phase, c.UpdatedBy, c.UpdatedAt = s.Phase, s.UpdatedBy, s.UpdatedAt
		if old := d.cur[s.Name]; old.Phase != c.Phase && d.log != nil {
			d.log.Info("channel phase changed", "channel", s.Name, "from", old.Phase, "to", c.Phase, "by", s.UpdatedBy)
		}
		d.cur[s.Name] = c
	}
	return nil
}

// Run refreshes every interval until ctx ends.
func (d *Directory) Run(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			if err := d.Refresh(ctx); err != nil && ctx.Err() == nil && d.log != nil {
				d.log.Warn("channel refresh failed", "err", err)
			}
		}
	}
}

// SetPhase changes a channel's phase at run time, records it in the audit
// log, and applies it locally at once (other replicas on their next refresh).
func (d *Directory) SetPhase(ctx context.Context, name, phase, by string) (Channel, error) {
	c, ok := d.Get(name)
	if !ok {
		return Channel{}, fmt.Errorf("channel %q: %w", name, store.ErrNotFound)
	}
	if !ValidPhase(phase) {
		return Channel{}, fmt.Errorf("%w: %q is not one of off, shadow, pilot, live", ErrBadPhase, phase)
	}
	if phase == store.PhasePilot && c.PilotTeam == "" {
		return Channel{}, fmt.Errorf("%w: channel %q has no pilot_team configured", ErrBadPhase, name)
	}
	// The audit goes first: when it fails nothing has changed, the API
	// answers 5xx and the admin retries; a change is never left unaudited.
	now := d.clock()
	if err := d.st.AppendAudit(ctx, store.AuditRecord{At: now, Actor: by, Action: "channel.phase", Target: name, Detail: c.Phase + " -> " + phase}); err != nil {
		return Channel{}, fmt.Errorf("channel %q: phase change: %w: %w", name, store.ErrAuditFailed, err)
	}
	if err := d.st.PutChannelState(ctx, store.ChannelState{Name: name, Phase: phase, UpdatedBy: by, UpdatedAt: now}); err != nil {
		return Channel{}, err
	}
	if err := d.Refresh(ctx); err != nil {
		return Channel{}, err
	}
	c, _ = d.Get(name)
	return c, nil
}

// Audience is who may see a conversation opened now on channel c.
func (c Channel) Audience() string {
	switch c.Phase {
	case store.PhaseShadow, store.PhaseOff:
		return store.AudienceShadow
	case store.PhasePilot:
		return store.TeamAudience(c.PilotTeam)
	}
	return store.AudienceAll
}

// ErrMayNotSend: the agent may not send through a channel in its current
// phase (Channel.MaySend); the API answers 403.
var ErrMayNotSend = errors.New("may not send through this channel in its current phase")

// MaySend returns nil when someone in teams (admin: an admin) may send
// through c in its current phase, else an error wrapping ErrMayNotSend that
// says why (DESIGN invariant 8): off and shadow send nothing, for anyone;
// pilot sends only for the pilot team's agents and admins, as only they see
// its conversations; live sends for everyone. An unknown phase sends
// nothing. Every send an agent starts checks here, so the rule lives in this
// one place and not in the UI's hiding of the channel.
func (c Channel) MaySend(teams []string, admin bool) error {
	switch c.Phase {
	case store.PhaseLive:
		return nil
	case store.PhasePilot:
		if admin || (c.PilotTeam != "" && slices.Contains(teams, c.PilotTeam)) {
			return nil
		}
		return fmt.Errorf("%w: channel %q is in pilot for team %q; only that team's agents and admins send through it", ErrMayNotSend, c.Name, c.PilotTeam)
	case store.PhaseOff, store.PhaseShadow:
		return fmt.Errorf("%w: channel %q is %s; nothing is sent through it", ErrMayNotSend, c.Name, c.Phase)
	}
	return fmt.Errorf("%w: channel %q has no phase that sends (%q)", ErrMayNotSend, c.Name, c.Phase)
}
