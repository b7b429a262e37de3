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
	"github.com/switchboard-hub/switchboard/store/blobs/blobtest"
)

// Retention reaches attachments kept on S3-compatible storage (a real
// server): an expired entry's object goes unless a newer entry of another
// customer references it; once that one expires too, the object goes.
func TestSweepReachesS3(t *testing.T) {
	bl := blobtest.S3(t)
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		clock := store.NewFakeClock(now)
		days := func(n int) time.Time { return now.Add(-time.Duration(n) * 24 * time.Hour) }
		put := func(s string) string {
			sum, _, err := bl.Put(ctx, strings.NewReader(s+t.Name()), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			return sum
		}
		own, shared := put("old own file "), put("shared file ")
		add := func(customer string, at time.Time, sums ...string) {
			conv := "v-" + customer
			if err := st.CreateCustomer(ctx, store.Customer{ID: customer, CreatedAt: days(100)}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.OpenConversation(ctx, store.Conversation{ID: conv, CustomerID: customer, Channel: "sms", ThreadKey: "sms|" + conv,
				Status: store.StatusOpen, CreatedAt: at, LastActivity: at}); err != nil {
				t.Fatal(err)
			}
			if _, err := st.UpdateConversation(ctx, conv, func(c *store.Conversation) error { c.Status = store.StatusResolved; return nil }); err != nil {
				t.Fatal(err)
			}
			e := store.Entry{ID: customer + "-1", CustomerID: customer, ConversationID: conv, Channel: "sms", Kind: store.KindMessage,
				Direction: connectors.Inbound, Text: "text", OccurredAt: at}
			for _, s := range sums {
				e.Attachments = append(e.Attachments, connectors.Attachment{Name: "f", SHA256: s, Size: 1})
			}
			if _, _, err := st.AppendEntry(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		add("ann", days(60), own, shared)
		add("bob", days(10), shared)
		sw := retention.New(retention.Options{Store: st, Blobs: bl, Clock: clock.Now, Channels: map[string]time.Duration{"sms": 30 * 24 * time.Hour}})
		rep, err := sw.Sweep(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Entries["sms"] != 1 || rep.Attachments != 1 {
			t.Fatalf("sweep %+v: want Ann's entry and her own attachment", rep)
		}
		if _, err := bl.Get(ctx, own); !errors.Is(err, connectors.ErrBlobNotFound) {
			t.Fatalf("Ann's expired attachment on S3: %v, want gone", err)
		}
		if r, err := bl.Get(ctx, shared); err != nil {
			t.Fatalf("the attachment Bob still references: %v", err)
		} else {
			r.Close()
		}
		clock.Advance(30 * 24 * time.Hour)
		if rep, err = sw.Sweep(ctx, false); err != nil || rep.Attachments != 1 {
			t.Fatalf("second sweep %+v (%v): want Bob's entry and the shared attachment", rep, err)
		}
		if _, err := bl.Get(ctx, shared); !errors.Is(err, connectors.ErrBlobNotFound) {
			t.Fatalf("the shared attachment after both entries expired: %v, want gone", err)
		}
	})
}
