package store_test

import (
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// The ids of one change are the same every time; ids sort with their
// times (the embedded store's outbox keys rely on it); the id without a
// time is the one earlier versions gave, and LegacyWebhookEventID finds it.
func TestWebhookEventID(t *testing.T) {
	at := time.Date(2026, 12, 7, 14, 0, 0, 123456789, time.UTC)
	id := store.WebhookEventID("message.received", "m_1", at)
	if id != store.WebhookEventID("message.received", "m_1", at.Add(400*time.Microsecond)) {
		t.Fatalf("the id changed within the same millisecond")
	}
	if id == store.WebhookEventID("message.status", "m_1", at) || id == store.WebhookEventID("message.received", "m_2", at) {
		t.Fatalf("two changes share the id %s", id)
	}
	old := store.WebhookEventID("message.received", "m_1", time.Time{})
	if len(old) != 28 || !strings.HasPrefix(old, "msg_") {
		t.Fatalf("id without a time = %q, want msg_ and 24 characters (the earlier versions' form)", old)
	}
	if len(id) != 37 || !strings.HasPrefix(id, "msg_") || store.LegacyWebhookEventID(id) != old {
		t.Fatalf("id %q (legacy %q), want 37 characters whose legacy id is %q", id, store.LegacyWebhookEventID(id), old)
	}
	for _, s := range []string{old, "msg_1", "evt_" + id[4:], "msg_zzzzzzzzz" + id[13:], ""} {
		if l := store.LegacyWebhookEventID(s); l != "" {
			t.Errorf("LegacyWebhookEventID(%q) = %q, want none", s, l)
		}
	}
	// Sorting by id sorts by time, across every digit of the time part.
	var times []time.Time
	for _, d := range []time.Duration{0, time.Millisecond, 31 * time.Millisecond, 32 * time.Millisecond, time.Second, time.Hour, 24 * 365 * time.Hour} {
		times = append(times, at.Add(d), at.Add(-d))
	}
	times = append(times, time.Unix(0, 0), time.Date(2999, 1, 1, 0, 0, 0, 0, time.UTC))
	ids := make([]string, len(times))
	for i, ti := range times {
		ids[i] = store.WebhookEventID("message.received", "k", ti)
	}
	sort.Slice(times, func(i, j int) bool { return times[i].Before(times[j]) })
	sort.Strings(ids)
	for i, ti := range times {
		if want := store.WebhookEventID("message.received", "k", ti); ids[i] != want {
			t.Fatalf("ids in byte order: [%d] = %s, want %s (time %v)", i, ids[i], want, ti)
		}
	}
}
