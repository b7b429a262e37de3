package embedded_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/connectors"
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

// BenchmarkCompact measures Compact on a store of 20,000 entries of about
// 500 bytes (the stall every other call sees during an erasure).
func BenchmarkCompact(b *testing.B) {
	ctx := context.Background()
	dir := b.TempDir()
	s, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	text := string(bytes.Repeat([]byte("x"), 400))
	for i := 0; i < 20000; i++ {
		e := store.Entry{ID: "m" + strconv.Itoa(i), CustomerID: "c" + strconv.Itoa(i%500), Channel: "api", Kind: "message", Text: text, OccurredAt: t0.Add(time.Duration(i))}
		if _, _, err := s.AppendEntry(ctx, e); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if err := s.Compact(ctx); err != nil {
			b.Fatal(err)
		}
	}
	fi, _ := os.Stat(filepath.Join(dir, embedded.FileName))
	b.ReportMetric(float64(fi.Size())/(1<<20), "file-MiB")
}

// A file written before blob references existed gets them when opened.
func TestOpenBackfillsBlobRefs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	sum := strings.Repeat("ab", 32)
	for _, id := range []string{"a", "b"} {
		e := store.Entry{ID: id, CustomerID: "c-" + id, Channel: "api", Kind: "message", OccurredAt: time.Now(),
			Attachments: []connectors.Attachment{{Name: "f", SHA256: sum}}}
		if _, _, err := s.AppendEntry(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	s.Close()
	// Make it an old file: no blob_refs bucket.
	db, err := bolt.Open(filepath.Join(dir, embedded.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Update(func(tx *bolt.Tx) error { return tx.DeleteBucket([]byte("blob_refs")) }); err != nil {
		t.Fatal(err)
	}
	db.Close()
	s, err = embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if n, err := s.BlobRefCount(ctx, sum); err != nil || n != 2 {
		t.Fatalf("references after reopening an old file: %d (%v), want 2", n, err)
	}
}
