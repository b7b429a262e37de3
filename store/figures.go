package store

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"time"
)

// ---- adoption figures ------------------------------------------------------

// FiguresAllTime is the Day of the figures that are not kept per day (a
// channel's reach: customers seen only here, overlap with other channels).
// It sorts after every "2006-01-02" day, so a day range never includes it.
const FiguresAllTime = "all"

// FigureDay formats t's UTC day as figures are keyed ("2006-01-02").
func FigureDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// FigureAdd is what one processed message (or one outbound status, one
// resolved conversation) adds to its channel's figures of one phase on one
// day. Counts are deltas by figure name (router/figures.go names them).
// Sender and Senders, when set, are added to the distinct senders of
// that channel, phase and day.
type FigureAdd struct {
	Channel string
	Phase   string
	Day     string
	Counts  map[string]int64
	Sender  string
	Senders []string
	// ID, when set, names this write: a replay of the same FigureAdd with
	// the same ID (the caller retrying a call whose outcome it did not
	// learn) counts once: both stores remember an ID for 10 minutes. Redis
	// also gives each call without one an ID of its own, so the client's
	// retry of a timed-out reply never counts twice.
	ID string
}

// NewWriteID is a fresh FigureAdd.ID: a caller that keeps a failed write
// to retry it keeps its ID with it.
func NewWriteID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// FigureDayPhase names one cell of a channel's figures.
type FigureDayPhase struct {
	Day   string `json:"day"`
	Phase string `json:"phase"`
}

// DayFigures are one channel's counters of one phase on one day.
type DayFigures struct {
	Day    string           `json:"day"`
	Phase  string           `json:"phase"`
	Counts map[string]int64 `json:"counts"`
}

// PhaseChange is one entry of a channel's phase history.
type PhaseChange struct {
	Channel string    `json:"channel"`
	At      time.Time `json:"at"`
	By      string    `json:"by"`
	From    string    `json:"from"`
	To      string    `json:"to"`
	Forced  bool      `json:"forced"`
	Verdict string    `json:"verdict,omitempty"`
	Reasons []string  `json:"reasons,omitempty"`
}

// Figures are the per-channel adoption counters, kept as messages flow and
// read without scanning any timeline (issue 16).
type Figures interface {
	// AddFigures adds f's counts to (channel, phase, day) and f.Sender(s) to
	// its distinct senders. Each counter is added atomically (concurrent
	// calls all count); the call as a whole is not a transaction.
	AddFigures(ctx context.Context, f FigureAdd) error
	// ReadFigures returns the channel's cells with fromDay <= day <= toDay
	// (lexical on "2006-01-02"; FiguresAllTime is its own range), ordered
	// by day then phase.
	ReadFigures(ctx context.Context, channel, fromDay, toDay string) ([]DayFigures, error)
	// FigureCells lists the channel's cells with fromDay <= day <= toDay,
	// ordered by day then phase (no counts: cheap on any backend).
	FigureCells(ctx context.Context, channel, fromDay, toDay string) ([]FigureDayPhase, error)
	// SumFigures adds up the counts of the given cells of the channel and
	// returns, per cell in the same order, the counts of the names in
	// perCell (a daily series without shipping every counter of every day).
	SumFigures(ctx context.Context, channel string, cells []FigureDayPhase, perCell []string) (map[string]int64, []map[string]int64, error)
	// CountSenders estimates the distinct senders over the given cells of
	// the channel (a HyperLogLog on both backends: exact for a few dozen
	// senders, within about 2 % beyond).
	CountSenders(ctx context.Context, channel string, cells []FigureDayPhase) (int64, error)
	// SeenOn records that customer was seen on channel. first is true for
	// the first call with this pair (of concurrent callers, exactly one);
	// others lists the other channels the customer has been seen on.
	SeenOn(ctx context.Context, customer, channel string) (first bool, others []string, err error)
	// AppendPhaseChange adds to the channel's phase history.
	AppendPhaseChange(ctx context.Context, c PhaseChange) error
	// ListPhaseChanges returns the channel's phase history, oldest first.
	ListPhaseChanges(ctx context.Context, channel string) ([]PhaseChange, error)
}

// FigureResolution is the figure of resolution times (timeline counts it
// when a conversation is resolved; router reads it).
const FigureResolution = "resolution_s"

// FigureSample names the counter of one time sample of figure name:
// name + ":" + seconds, rounded down to 3 significant digits beyond 999 s
// (so a year of samples is a few thousand counters, and p50/p90 read from
// them are within 1 %).
func FigureSample(name string, d time.Duration) string {
	s := int64(max(d, 0) / time.Second)
	p := int64(1)
	for s/p >= 1000 {
		p *= 10
	}
	return name + ":" + strconv.FormatInt(s/p*p, 10)
}

// AudiencePhase is the phase a conversation's audience stands for.
func AudiencePhase(audience string) string {
	switch {
	case audience == AudienceShadow:
		return PhaseShadow
	case len(audience) > 5 && audience[:5] == "team:":
		return PhasePilot
	}
	return PhaseLive
}
