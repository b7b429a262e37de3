package router

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/store"
)

// ErrNotReady: a promotion was refused because the channel's readiness
// verdict is not_ready (NotReadyError carries the reasons).
var ErrNotReady = errors.New("not_ready")

// ErrHistory: the phase changed, but its history entry was not written.
var ErrHistory = errors.New("phase history not written")

// NotReadyError is the refusal of a promotion, with the verdict's reasons.
type NotReadyError struct {
	Channel string
	Reasons []string
}

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("channel %s is not ready: %s (force promotes it anyway)", e.Channel, strings.Join(e.Reasons, "; "))
}

func (e *NotReadyError) Unwrap() error { return ErrNotReady }

var phaseRank = map[string]int{store.PhaseOff: 0, store.PhaseShadow: 1, store.PhasePilot: 2, store.PhaseLive: 3}

// IsPromotion reports whether moving from one phase to another moves up.
func IsPromotion(from, to string) bool { return phaseRank[to] > phaseRank[from] }

// ChangePhase moves a channel to phase, guarded by its readiness: moving
// up (off → shadow → pilot → live) while the verdict of the current phase
// is not_ready is refused with a *NotReadyError unless force is set.
// Every change is kept in the channel's phase history with the verdict at
// that moment (a forced one with its reasons). Moving down or to the same
// phase is never refused. Leaving off is not judged (off has no figures).
func ChangePhase(ctx context.Context, st store.Store, dir *directory.Directory, name, phase, by string, force bool) (directory.Channel, store.PhaseChange, error) {
	ch, ok := dir.Get(name)
	if !ok {
		return directory.Channel{}, store.PhaseChange{}, fmt.Errorf("channel %q: %w", name, store.ErrNotFound)
	}
	if !directory.ValidPhase(phase) {
		return ch, store.PhaseChange{}, fmt.Errorf("%w: %q is not one of off, shadow, pilot, live", directory.ErrBadPhase, phase)
	}
	now := dir.Now()
	rep, err := ChannelReadiness(ctx, st, ch, now, ReadinessQuery{})
	if err != nil {
		return ch, store.PhaseChange{}, fmt.Errorf("channel %q: readiness: %w", name, err)
	}
	change := store.PhaseChange{Channel: name, At: now.UTC(), By: by, From: ch.Phase, To: phase, Verdict: rep.Verdict}
	if ch.Phase != store.PhaseOff && IsPromotion(ch.Phase, phase) && rep.Verdict != VerdictReady {
		if !force {
			return ch, store.PhaseChange{}, &NotReadyError{Channel: name, Reasons: rep.Reasons}
		}
		change.Forced, change.Reasons = true, rep.Reasons
	}
	c, err := dir.SetPhase(ctx, name, phase, by)
	if err != nil {
		return c, store.PhaseChange{}, err
	}
	if err := st.AppendPhaseChange(ctx, change); err != nil {
		return c, change, fmt.Errorf("channel %q: %w: %w", name, ErrHistory, err)
	}
	return c, change, nil
}
