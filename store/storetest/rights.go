package storetest

import (
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

func rightsTests() []testCase {
	return []testCase{
		{"BlobRefs", testBlobRefs},
		{"Tombstones", testTombstones},
		{"DeleteEntry", testDeleteEntry},
		{"Hold", testHold},
	}
}

// Two customers' entries reference one blob: each append records its
// reference, a duplicate append does not count twice, and dropping one
// reference leaves the other.
func testBlobRefs(t *testing.T, f Factory) {
	e := newEnv(t, f)
	sum := strings.Repeat("cd", 32)
	att := []connectors.Attachment{{Name: "x.pdf", SHA256: sum, Size: 3}}
	a, b := newEntry("ref-a", "c-a", epoch), newEntry("ref-b", "c-b", epoch)
	a.Attachments, b.Attachments = att, att
	for _, x := range []store.Entry{a, b, a} {
		if _, _, err := e.s.AppendEntry(e.ctx, x); err != nil {
			t.Fatal(err)
		}
	}
	if n, err := e.s.BlobRefCount(e.ctx, sum); err != nil || n != 2 {
		t.Fatalf("references after two entries: %d (%v), want 2", n, err)
	}
	if n, err := e.s.RemoveBlobRef(e.ctx, sum, "ref-a"); err != nil || n != 1 {
		t.Fatalf("references left after dropping one: %d (%v), want 1", n, err)
	}
	if n, err := e.s.RemoveBlobRef(e.ctx, sum, "ref-a"); err != nil || n != 1 {
		t.Fatalf("dropping it again: %d (%v), want 1", n, err)
	}
	if n, err := e.s.RemoveBlobRef(e.ctx, sum, "ref-b"); err != nil || n != 0 {
		t.Fatalf("references left after dropping both: %d (%v), want 0", n, err)
	}
	if n, err := e.s.BlobRefCount(e.ctx, strings.Repeat("ee", 32)); err != nil || n != 0 {
		t.Fatalf("unknown blob: %d (%v), want 0", n, err)
	}
}

func testTombstones(t *testing.T, f Factory) {
	e := newEnv(t, f)
	if ok, err := e.s.HasTombstone(e.ctx, "h1"); err != nil || ok {
		t.Fatalf("unknown tombstone: %v (%v)", ok, err)
	}
	if err := e.s.PutTombstone(e.ctx, "h1", epoch); err != nil {
		t.Fatal(err)
	}
	if ok, err := e.s.HasTombstone(e.ctx, "h1"); err != nil || !ok {
		t.Fatalf("tombstone after put: %v (%v)", ok, err)
	}
}

// DeleteEntry removes one entry, its count, dedupe and provider-id record;
// the other entries stay, and the id can be appended again.
func testDeleteEntry(t *testing.T, f Factory) {
	e := newEnv(t, f)
	x, y := newEntry("del-1", "c-del", epoch), newEntry("del-2", "c-del", epoch.Add(1))
	for _, en := range []store.Entry{x, y} {
		if _, _, err := e.s.AppendEntry(e.ctx, en); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.s.PutProviderID(e.ctx, x.Channel, x.ProviderID, x.CustomerID, x.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteEntry(e.ctx, x.ID); err != nil {
		t.Fatal(err)
	}
	if err := e.s.DeleteEntry(e.ctx, x.ID); err != nil {
		t.Fatalf("deleting again: %v", err)
	}
	if _, err := e.s.GetEntry(e.ctx, x.ID); err != store.ErrNotFound {
		t.Fatalf("deleted entry: %v, want not found", err)
	}
	if n, _ := e.s.CountEntries(e.ctx, "c-del"); n != 1 {
		t.Fatalf("count %d, want 1", n)
	}
	es, err := e.s.PageEntries(e.ctx, "c-del", "", 10)
	if err != nil || len(es) != 1 || es[0].ID != y.ID {
		t.Fatalf("timeline after delete: %v (%v)", es, err)
	}
	if _, err := e.s.GetProviderID(e.ctx, x.Channel, x.ProviderID); err != store.ErrNotFound {
		t.Fatalf("provider id of the deleted entry: %v, want not found", err)
	}
	if _, created, err := e.s.AppendEntry(e.ctx, x); err != nil || !created {
		t.Fatalf("append after delete: created %v (%v)", created, err)
	}
}

// A legal hold is a field of the customer record and round-trips.
func testHold(t *testing.T, f Factory) {
	e := newEnv(t, f)
	if err := e.s.CreateCustomer(e.ctx, store.Customer{ID: "c-hold", CreatedAt: epoch}); err != nil {
		t.Fatal(err)
	}
	if _, err := e.s.UpdateCustomer(e.ctx, "c-hold", func(c *store.Customer) error {
		c.Hold = &store.Hold{By: "admin", Reason: "case 7", At: epoch}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	c, err := e.s.GetCustomer(e.ctx, "c-hold")
	if err != nil || c.Hold == nil || c.Hold.By != "admin" || !c.Hold.At.Equal(epoch) {
		t.Fatalf("held customer %+v (%v)", c, err)
	}
}
