package embedded_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// After a customer's entries are deleted, Compact leaves no trace of their
// text in the database file, and the store keeps working.
func TestCompactLeavesNoDeletedData(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	secret := "erasable-secret-7f3a"
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i := 0; i < 50; i++ {
		e := store.Entry{ID: "m" + string(rune('a'+i%26)) + string(rune('a'+i/26)), CustomerID: "c1", Channel: "api", Kind: "message", Text: secret, OccurredAt: t0.Add(time.Duration(i))}
		if _, _, err := s.AppendEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, _, err := s.AppendEntry(ctx, store.Entry{ID: "keep", CustomerID: "c2", Channel: "api", Kind: "message", Text: "kept", OccurredAt: t0}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.DeleteEntries(ctx, "c1"); err != nil {
		t.Fatal(err)
	}
	raw, _ := os.ReadFile(filepath.Join(dir, embedded.FileName))
	if !bytes.Contains(raw, []byte(secret)) {
		t.Log("bbolt happened to overwrite the freed pages already")
	}
	if err := s.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	raw, _ = os.ReadFile(filepath.Join(dir, embedded.FileName))
	if bytes.Contains(raw, []byte(secret)) {
		t.Fatal("the deleted text is still in the database file after Compact")
	}
	if e, err := s.GetEntry(ctx, "keep"); err != nil || e.Text != "kept" {
		t.Fatalf("kept entry after Compact: %+v (%v)", e, err)
	}
	if _, _, err := s.AppendEntry(ctx, store.Entry{ID: "after", CustomerID: "c2", Channel: "api", Kind: "message", OccurredAt: t0}); err != nil {
		t.Fatalf("write after Compact: %v", err)
	}
}
