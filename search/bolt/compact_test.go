package bolt_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/search/bolt"
)

// TestErasedTextLeavesTheFile: after a conversation's removal, the index
// file is compacted, so the removed words are not in its free pages.
func TestErasedTextLeavesTheFile(t *testing.T) {
	dir := t.TempDir()
	ix, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	for i, text := range []string{"erin-secret-words-q7z", "bob-keeps-these"} {
		cust := []string{"erin", "bob"}[i]
		if err := ix.Put(ctx, search.Doc{ID: cust + "-1", CustomerID: cust, ConversationID: "v-" + cust, Channel: "sms", At: at, Text: text, Name: cust + " Surname"}); err != nil {
			t.Fatal(err)
		}
	}
	raw := func() []byte {
		b, err := os.ReadFile(filepath.Join(dir, bolt.FileName))
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	if !bytes.Contains(raw(), []byte("q7z")) {
		t.Fatal("the text is not in the file before the erasure (test is wrong)")
	}
	bolt.CompactDelay = 10 * time.Millisecond
	if err := ix.RemoveConversation(ctx, "erin", "v-erin"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for bytes.Contains(raw(), []byte("q7z")) {
		if time.Now().After(deadline) {
			t.Fatal("the erased text is still in the index file")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if ds, err := ix.Candidates(ctx, []string{"these"}, time.Time{}, time.Time{}, 5); err != nil || len(ds) != 1 {
		t.Fatalf("bob after compaction: %v %v", ds, err)
	}
}
