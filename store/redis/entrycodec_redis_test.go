package redis_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

// Entries an older hub stored (json.Marshal of store.Entry, every field
// named) read, page, update and delete as before next to the compact
// entries this version writes, in one customer's hash; an update rewrites
// the old record compactly.
func TestLegacyEntriesReadBeside(t *testing.T) {
	f, conv := oneStepFixture(t)
	ctx := context.Background()
	at := f.clock.Now()
	paris := time.FixedZone("", 3600)
	old := store.Entry{ID: "m_old", CustomerID: "cust-1", ConversationID: "cv1", Channel: "api", Direction: connectors.Inbound,
		Kind: store.KindMessage, Sender: &connectors.Identity{Type: "email", Value: "a@example.com", Verified: true},
		Text: "from an older hub", OccurredAt: at.Add(time.Minute).In(paris), CreatedAt: at.Add(time.Minute), UpdatedAt: at.Add(time.Minute)}
	legacy, err := json.Marshal(old)
	if err != nil {
		t.Fatal(err)
	}
	// What an older hub's append left: the dedupe record, the entry, the
	// timeline member.
	tag := f.prefix + ":{c:cust-1}:"
	if err := f.c.Set(ctx, f.prefix+":{e:m_old}:owner", "cust-1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.c.HSet(ctx, tag+"entries", "m_old", string(legacy)).Err(); err != nil {
		t.Fatal(err)
	}
	if err := f.c.ZAdd(ctx, tag+"timeline", goredis.Z{Member: old.SortKey()}).Err(); err != nil {
		t.Fatal(err)
	}
	var want store.Entry
	if err := json.Unmarshal(legacy, &want); err != nil {
		t.Fatal(err)
	}
	newAt := at.Add(2 * time.Minute)
	fresh := inbound("m_new", newAt)
	if _, _, created, err := f.s.AppendToConversation(ctx, fresh, conv, lastAt("m_new", newAt)); err != nil || !created {
		t.Fatalf("append: %v %v", created, err)
	}
	raw, err := f.c.HGet(ctx, tag+"entries", "m_new").Result()
	if err != nil || strings.HasPrefix(raw, `{"id":"`) || strings.Contains(raw, "cust-1") {
		t.Fatalf("new entry stored as %q, %v", raw, err)
	}

	if got, err := f.s.GetEntry(ctx, "m_old"); err != nil || !sameEntry(got, want) {
		t.Fatalf("legacy entry read as %+v, %v; want %+v", got, err, want)
	}
	if got, err := f.s.GetEntry(ctx, "m_new"); err != nil || got.ID != "m_new" || got.CustomerID != "cust-1" || got.Kind != store.KindMessage ||
		!got.OccurredAt.Equal(newAt) || !got.UpdatedAt.Equal(got.CreatedAt) || got.Text != fresh.Text {
		t.Fatalf("new entry read as %+v, %v", got, err)
	}
	page, err := f.s.PageEntries(ctx, "cust-1", "", 10)
	if err != nil || len(page) != 2 || page[0].ID != "m_new" || !sameEntry(page[1], want) {
		t.Fatalf("page: %+v, %v", page, err)
	}
	// A redelivery of the old id finds the old entry.
	if got, _, created, err := f.s.AppendToConversation(ctx, old, conv, lastAt("m_old", at)); err != nil || created || !sameEntry(got, want) {
		t.Fatalf("redelivery of the legacy id: %+v created %v, %v", got, created, err)
	}
	upd, err := f.s.UpdateEntry(ctx, "m_old", func(e *store.Entry) error { e.Status = "read"; return nil })
	if err != nil || upd.Version != 1 || upd.Status != "read" {
		t.Fatalf("update: %+v, %v", upd, err)
	}
	raw, _ = f.c.HGet(ctx, tag+"entries", "m_old").Result()
	if strings.HasPrefix(raw, `{"id":"`) {
		t.Fatalf("updated entry still legacy: %s", raw)
	}
	want.Status, want.Version = "read", 1
	if got, err := f.s.GetEntry(ctx, "m_old"); err != nil || !sameEntry(got, want) || got.OccurredAt.Location().String() != want.OccurredAt.Location().String() {
		t.Fatalf("updated legacy entry read as %+v, %v; want %+v", got, err, want)
	}
	if err := f.s.DeleteEntry(ctx, "m_old"); err != nil {
		t.Fatal(err)
	}
	if n, err := f.s.CountEntries(ctx, "cust-1"); err != nil || n != 1 {
		t.Fatalf("after deleting the legacy entry: %d, %v", n, err)
	}
}

func sameEntry(a, b store.Entry) bool {
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	return string(ja) == string(jb)
}

// With Options.LegacyRecords a hub writes entries in the older hubs'
// format (json.Marshal of store.Entry), so an older hub beside it in a
// rolling upgrade, or after a rollback, reads them; and it still reads the
// compact entries a hub without the option wrote.
func TestLegacyRecordsOption(t *testing.T) {
	f, conv := oneStepFixture(t)
	ctx := context.Background()
	old := redis.New(f.c, redis.Options{Prefix: f.prefix, Clock: f.clock.Now, LegacyRecords: true})
	t.Cleanup(func() { old.Close() })
	at := f.clock.Now().Add(time.Minute)
	e := inbound("m_legacy", at)
	_, conv, created, err := old.AppendToConversation(ctx, e, conv, lastAt("m_legacy", at))
	if err != nil || !created {
		t.Fatalf("append: created %v, %v", created, err)
	}
	raw, err := f.c.HGet(ctx, f.prefix+":{c:cust-1}:entries", "m_legacy").Result()
	if err != nil || !strings.HasPrefix(raw, `{"id":"m_legacy"`) {
		t.Fatalf("stored as %q, %v; want json.Marshal of store.Entry", raw, err)
	}
	var asOlder store.Entry // what an older hub's decoding reads
	if err := json.Unmarshal([]byte(raw), &asOlder); err != nil || asOlder.Text != e.Text || !asOlder.OccurredAt.Equal(at) || asOlder.CustomerID != "cust-1" {
		t.Fatalf("an older hub reads %+v, %v", asOlder, err)
	}
	if _, err := old.UpdateEntry(ctx, "m_legacy", func(x *store.Entry) error { x.Status = "delivered"; return nil }); err != nil {
		t.Fatal(err)
	}
	if raw, _ := f.c.HGet(ctx, f.prefix+":{c:cust-1}:entries", "m_legacy").Result(); !strings.HasPrefix(raw, `{"id":"`) {
		t.Fatalf("updated as %q; want the older format kept", raw)
	}
	// The compact hub reads it; the legacy one reads the compact hub's.
	if got, err := f.s.GetEntry(ctx, "m_legacy"); err != nil || got.Text != e.Text || got.Status != "delivered" {
		t.Fatalf("compact hub reads %+v, %v", got, err)
	}
	at = at.Add(time.Minute)
	if _, _, created, err := f.s.AppendToConversation(ctx, inbound("m_compact", at), conv, lastAt("m_compact", at)); err != nil || !created {
		t.Fatalf("append: created %v, %v", created, err)
	}
	if got, err := old.GetEntry(ctx, "m_compact"); err != nil || got.Text != "hello m_compact" || !got.OccurredAt.Equal(at) {
		t.Fatalf("legacy-format hub reads %+v, %v", got, err)
	}
}
