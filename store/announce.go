package store

import (
	"context"
	"sync/atomic"
)

// Announcement lets a store publish an append's realtime events in the
// append's own step (issue 23; Redis without slots: PUBLISH inside the
// append function, no round trip of its own). The caller puts it on the
// append's context (WithAnnouncement); a store that publishes the events
// marks it (Published), and the caller publishes them itself otherwise.
// Events are published only when the append creates the entry, in the
// order Events returns them, atomically with the append.
type Announcement struct {
	// Topic is the topic of Publish.
	Topic string
	// Events returns the payloads for the conversation as it was before
	// the append's change and as the change leaves it. It must only
	// compute: a store may call it once per attempt.
	Events    func(before, after Conversation) [][]byte
	published atomic.Bool
}

// Published reports whether the store published the events.
func (a *Announcement) Published() bool { return a.published.Load() }

// MarkPublished is for stores: the events are published.
func (a *Announcement) MarkPublished() { a.published.Store(true) }

type announcementKey struct{}

// WithAnnouncement returns ctx carrying a.
func WithAnnouncement(ctx context.Context, a *Announcement) context.Context {
	return context.WithValue(ctx, announcementKey{}, a)
}

// AnnouncementOf returns the announcement ctx carries, or nil.
func AnnouncementOf(ctx context.Context) *Announcement {
	a, _ := ctx.Value(announcementKey{}).(*Announcement)
	return a
}
