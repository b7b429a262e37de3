package retention_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/retention"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs"
)

// With a clock moved forward: entries past their channel's retention in
// resolved conversations go, with blobs no one else references; recent
// entries, open conversations, channels without retention and held
// customers stay. A dry run reports the same and changes nothing.
func TestSweep(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		clock := store.NewFakeClock(now.Add(-90 * 24 * time.Hour))
		bl, err := blobs.Open(t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		put := func(s string) string {
			sum, _, err := bl.Put(ctx, strings.NewReader(s), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			return sum
		}
		own, shared := put("old own file"), put("shared file")
		days := func(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }
		conv := func(id, customer, channel, status string, last time.Time) {
			if err := st.CreateCustomer(ctx, store.Customer{ID: customer, CreatedAt: days(100)}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.OpenConversation(ctx, store.Conversation{ID: id, CustomerID: customer, Channel: channel, ThreadKey: channel + "|" + id,
				Status: store.StatusOpen, CreatedAt: days(100), LastActivity: last}); err != nil {
				t.Fatal(err)
			}
			if status != store.StatusOpen {
				if _, err := st.UpdateConversation(ctx, id, func(c *store.Conversation) error { c.Status = status; return nil }); err != nil {
					t.Fatal(err)
				}
			}
		}
		entry := func(id, customer, conv, channel string, at time.Time, sums ...string) {
			e := store.Entry{ID: id, CustomerID: customer, ConversationID: conv, Channel: channel, Kind: store.KindMessage,
				Direction: connectors.Inbound, Text: "text " + id, OccurredAt: at}
			for _, s := range sums {
				e.Attachments = append(e.Attachments, connectors.Attachment{Name: "f", SHA256: s, Size: 1})
			}
			if _, _, err := st.AppendEntry(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		// Ann: a resolved conversation, two old entries and a recent one;
		// another resolved conversation all old; an open one, old.
		conv("v-ann1", "ann", "sms", store.StatusResolved, days(5))
		entry("ann-old1", "ann", "v-ann1", "sms", days(60), own)
		entry("ann-old2", "ann", "v-ann1", "sms", days(59), shared)
		entry("ann-new", "ann", "v-ann1", "sms", days(5))
		conv("v-ann2", "ann", "sms", store.StatusResolved, days(45))
		entry("ann-old3", "ann", "v-ann2", "sms", days(45))
		conv("v-ann3", "ann", "sms", store.StatusOpen, days(40))
		entry("ann-open", "ann", "v-ann3", "sms", days(40))
		// Bob shares the file, recently.
		conv("v-bob", "bob", "sms", store.StatusResolved, days(2))
		entry("bob-new", "bob", "v-bob", "sms", days(2), shared)
		// Api channel: no retention.
		conv("v-api", "cat", "api", store.StatusResolved, days(80))
		entry("cat-api", "cat", "v-api", "api", days(80))
		// Held: old and resolved, but kept.
		conv("v-hal", "hal", "sms", store.StatusResolved, days(70))
		entry("hal-old", "hal", "v-hal", "sms", days(70))
		if _, err := st.UpdateCustomer(ctx, "hal", func(c *store.Customer) error {
			c.Hold = &store.Hold{By: "legal", At: days(1)}
			return nil
		}); err != nil {
			t.Fatal(err)
		}

		clock.Advance(90 * 24 * time.Hour) // now
		sw := retention.New(retention.Options{Store: st, Blobs: bl, Clock: clock.Now,
			Channels: map[string]time.Duration{"sms": 30 * 24 * time.Hour}})
		all := []string{"ann-old1", "ann-old2", "ann-new", "ann-old3", "ann-open", "bob-new", "cat-api", "hal-old"}
		exists := func() map[string]bool {
			m := map[string]bool{}
			for _, id := range all {
				_, err := st.GetEntry(ctx, id)
				m[id] = err == nil
			}
			return m
		}

		dry, err := sw.Sweep(ctx, true)
		if err != nil {
			t.Fatal(err)
		}
		if dry.Entries["sms"] != 3 || dry.Attachments != 1 || dry.Conversations != 1 || dry.HeldCustomers != 1 {
			t.Fatalf("dry run %+v: want 3 sms entries, 1 attachment, 1 conversation, 1 held customer", dry)
		}
		for id, ok := range exists() {
			if !ok {
				t.Fatalf("the dry run deleted %s", id)
			}
		}

		rep, err := sw.SweepReport(ctx, false, "admin")
		if err != nil {
			t.Fatal(err)
		}
		if rep.Entries["sms"] != 3 || rep.Attachments != 1 || rep.Conversations != 1 || rep.HeldCustomers != 1 {
			t.Fatalf("sweep %+v: want 3 sms entries, 1 attachment, 1 conversation, 1 held customer", rep)
		}
		want := map[string]bool{"ann-old1": false, "ann-old2": false, "ann-old3": false, "ann-new": true, "ann-open": true, "bob-new": true, "cat-api": true, "hal-old": true}
		for id, ok := range exists() {
			if ok != want[id] {
				t.Errorf("entry %s exists %v after the sweep, want %v", id, ok, want[id])
			}
		}
		if _, err := bl.Get(ctx, own); !errors.Is(err, connectors.ErrBlobNotFound) {
			t.Errorf("the unshared old attachment: %v, want gone", err)
		}
		if r, err := bl.Get(ctx, shared); err != nil {
			t.Errorf("the attachment Bob still uses: %v", err)
		} else {
			r.Close()
		}
		if _, err := st.GetConversation(ctx, "v-ann2"); !errors.Is(err, store.ErrNotFound) {
			t.Errorf("the all-old resolved conversation: %v, want gone", err)
		}
		for _, id := range []string{"v-ann1", "v-ann3", "v-hal"} {
			if _, err := st.GetConversation(ctx, id); err != nil {
				t.Errorf("conversation %s: %v, want kept", id, err)
			}
		}
		if n, _ := st.CountEntries(ctx, "ann"); n != 2 {
			t.Errorf("ann has %d entries counted, want 2", n)
		}
		as, _ := st.ListAudit(ctx, 10)
		if len(as) == 0 || as[0].Action != "retention.sweep" || as[0].Actor != "admin" || strings.Contains(as[0].Detail, "text") {
			t.Errorf("audit %+v: want a retention.sweep record by admin, without content", as)
		}
		// Sweeping again finds nothing more.
		if again, err := sw.Sweep(ctx, false); err != nil || again.Total() != 0 {
			t.Errorf("second sweep %+v (%v), want nothing", again, err)
		}
	})
}
