package embedded_test

import (
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"path/filepath"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// A queue item written by an older version (a JSON record) is still
// delivered, with its attempt count, enqueue time and payload, after the
// upgrade; it can be retried and acked like a new one.
func TestQueueItemsOfAnOlderVersion(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	s := open(t, dir, embedded.Options{})
	s.Close()
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	db, err := bolt.Open(filepath.Join(dir, embedded.FileName), 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	err = db.Update(func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists([]byte("q/old"))
		if err != nil {
			return err
		}
		seq, _ := b.NextSequence()
		k := binary.BigEndian.AppendUint64(nil, seq)
		v, _ := json.Marshal(map[string]any{"payload": []byte(`{"text":"from before"}`), "attempts": 2, "enqueued_at": at})
		return b.Put(k, v)
	})
	db.Close()
	if err != nil {
		t.Fatal(err)
	}
	s = open(t, dir, embedded.Options{Queue: store.QueueOptions{MaxAttempts: 5}})
	defer s.Close()
	ds, err := s.Read(ctx, "old", "c", 10, time.Second)
	if err != nil || len(ds) != 1 {
		t.Fatalf("read the old item: %v %v", ds, err)
	}
	d := ds[0]
	if string(d.Payload) != `{"text":"from before"}` || d.Attempts != 3 || !d.EnqueuedAt.Equal(at) {
		t.Fatalf("old item read as %q, attempts %d, enqueued %s; want the payload, 3, %s", d.Payload, d.Attempts, d.EnqueuedAt, at)
	}
	if st, err := s.QueueStats(ctx, "old"); err != nil || st.Length != 1 || st.OldestAge <= 0 {
		t.Fatalf("stats of the old item: %+v %v", st, err)
	}
	if dead, err := s.Retry(ctx, "old", d, "try again"); err != nil || dead {
		t.Fatalf("retry: dead %v, %v", dead, err)
	}
	peek, err := s.PeekQueue(ctx, "old", 0)
	if err != nil || len(peek) != 1 || string(peek[0].Payload) != `{"text":"from before"}` {
		t.Fatalf("peek after retry: %v %v", peek, err)
	}
	if err := s.Ack(ctx, "old", d.ID); err != nil {
		t.Fatal(err)
	}
	if st, _ := s.QueueStats(ctx, "old"); st.Length != 0 {
		t.Fatalf("length after ack: %d", st.Length)
	}
}

// Many writers at once: every one is answered with its own result, one
// failing write does not fail the others that shared its commit, and the
// writes are fewer commits than writes.
func TestGroupCommitAnswersEachWriter(t *testing.T) {
	ctx := context.Background()
	s := open(t, t.TempDir(), embedded.Options{})
	defer s.Close()
	c0, w0 := s.CommitStats()
	const n = 200
	var wg sync.WaitGroup
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%10 == 0 {
				// The conversation does not exist: ErrNotFound, for this writer only.
				_, errs[i] = s.UpdateConversation(ctx, "missing", func(*store.Conversation) error { return nil })
				return
			}
			_, errs[i] = s.Enqueue(ctx, "g", []byte{byte(i)})
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if i%10 == 0 {
			if !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("writer %d: %v, want ErrNotFound", i, err)
			}
		} else if err != nil {
			t.Fatalf("writer %d: %v", i, err)
		}
	}
	if st, _ := s.QueueStats(ctx, "g"); st.Length != n-n/10 {
		t.Fatalf("queue length %d, want %d", st.Length, n-n/10)
	}
	c1, w1 := s.CommitStats()
	if w1-w0 < n-n/10 || c1-c0 >= w1-w0 {
		t.Fatalf("%d writes in %d commits: want several writes per commit", w1-w0, c1-c0)
	}
	// After Close, a write is refused instead of waiting forever.
	s.Close()
	if _, err := s.Enqueue(ctx, "g", []byte("late")); !errors.Is(err, embedded.ErrClosed) {
		t.Fatalf("enqueue after close: %v, want ErrClosed", err)
	}
}
