package storetest

import (
	"testing"

	"github.com/switchboard-hub/switchboard/store"
)

// testQueueDeleteDead: DeleteDead removes exactly the named dead letters,
// ignores unknown and malformed ids and other queues' dead letters, and
// the rest stay listable and replayable.
func testQueueDeleteDead(t *testing.T, f Factory) {
	e := newQueueEnv(t, f, testQueueOptions)
	q := store.QueueIngest
	n, err := e.s.DeleteDead(e.ctx, q, "1", "1-0")
	must(t, err, "DeleteDead on a queue with no dead letters")
	if n != 0 {
		t.Errorf("DeleteDead on a queue with no dead letters = %d, want 0", n)
	}
	names := []string{"d1", "d2", "d3", "d4"}
	for _, p := range names {
		_, err := e.s.Enqueue(e.ctx, q, []byte(p))
		must(t, err, "Enqueue(%s)", p)
	}
	retryUntilDead(t, e, q, names...)
	_, err = e.s.Enqueue(e.ctx, store.QueueOutbound, []byte("other-queue"))
	must(t, err, "Enqueue(other-queue)")
	retryUntilDead(t, e, store.QueueOutbound, "other-queue")
	byPayload := map[string]string{}
	dls, err := e.s.DeadLetters(e.ctx, q, 0)
	must(t, err, "DeadLetters")
	for _, dl := range dls {
		byPayload[string(dl.Payload)] = dl.ID
	}
	if len(byPayload) != 4 {
		t.Fatalf("DeadLetters = %d distinct payloads, want 4", len(byPayload))
	}
	other, err := e.s.DeadLetters(e.ctx, store.QueueOutbound, 0)
	must(t, err, "DeadLetters(outbound)")
	if len(other) != 1 {
		t.Fatalf("DeadLetters(outbound) = %d, want 1", len(other))
	}

	// Two of ingest's, an unknown id, a malformed one, and the outbound
	// queue's id (not a dead letter of ingest; on the embedded store the
	// ids of two queues can be equal, so it is only passed when distinct).
	ids := []string{byPayload["d1"], byPayload["d3"], "999999999-0", "999999999", "not an id"}
	if other[0].ID != byPayload["d2"] && other[0].ID != byPayload["d4"] {
		ids = append(ids, other[0].ID)
	}
	n, err = e.s.DeleteDead(e.ctx, q, ids...)
	must(t, err, "DeleteDead(d1, d3, …)")
	if n != 2 {
		t.Errorf("DeleteDead(d1, d3 and ids that are no dead letters of the queue) = %d, want 2", n)
	}
	n, err = e.s.DeleteDead(e.ctx, q, byPayload["d1"])
	must(t, err, "DeleteDead(d1) again")
	if n != 0 {
		t.Errorf("DeleteDead of an already deleted dead letter = %d, want 0", n)
	}
	dls, err = e.s.DeadLetters(e.ctx, q, 0)
	must(t, err, "DeadLetters after DeleteDead")
	var left []string
	for _, dl := range dls {
		left = append(left, string(dl.Payload))
		if dl.ID != byPayload[string(dl.Payload)] {
			t.Errorf("dead letter %q has id %s after DeleteDead of others, was %s", dl.Payload, dl.ID, byPayload[string(dl.Payload)])
		}
		if dl.Attempts != testQueueOptions.MaxAttempts || dl.LastError == "" || dl.DeadAt.IsZero() || dl.EnqueuedAt.IsZero() {
			t.Errorf("dead letter %q lost fields after DeleteDead of others: %+v", dl.Payload, dl)
		}
	}
	if g := sortedCopy(left); !sameStrings(g, []string{"d2", "d4"}) {
		t.Errorf("DeadLetters after DeleteDead(d1, d3) = %v, want [d2 d4]", g)
	}
	if st := stats(t, e, q); st.Dead != 2 {
		t.Errorf("QueueStats.Dead after deleting 2 of 4 = %d, want 2", st.Dead)
	}
	if other, _ := e.s.DeadLetters(e.ctx, store.QueueOutbound, 0); len(other) != 1 {
		t.Errorf("the outbound queue's dead letters after DeleteDead on ingest = %d, want 1", len(other))
	}

	// What is left still replays; a new dead letter after that is listed.
	n, err = e.s.ReplayDead(e.ctx, q, byPayload["d4"])
	must(t, err, "ReplayDead(d4) after DeleteDead")
	if n != 1 {
		t.Errorf("ReplayDead(d4) after DeleteDead = %d, want 1", n)
	}
	if d := readOne(t, e, q, "w2", "replayed d4"); string(d.Payload) != "d4" {
		t.Errorf("after ReplayDead(d4) read %q, want d4", d.Payload)
	} else {
		must(t, e.s.Ack(e.ctx, q, d.ID), "Ack d4")
	}
	_, err = e.s.Enqueue(e.ctx, q, []byte("d5"))
	must(t, err, "Enqueue(d5)")
	retryUntilDead(t, e, q, "d5")
	dls, err = e.s.DeadLetters(e.ctx, q, 0)
	must(t, err, "DeadLetters at the end")
	left = left[:0]
	for _, dl := range dls {
		left = append(left, string(dl.Payload))
	}
	if !sameStrings(left, []string{"d2", "d5"}) {
		t.Errorf("DeadLetters at the end = %v, want [d2 d5] (oldest first)", left)
	}

	// Deleting the last ones leaves an empty, working dead-letter list.
	ids = ids[:0]
	for _, dl := range dls {
		ids = append(ids, dl.ID)
	}
	n, err = e.s.DeleteDead(e.ctx, q, ids...)
	must(t, err, "DeleteDead(all)")
	if n != 2 {
		t.Errorf("DeleteDead(all) = %d, want 2", n)
	}
	if dls, _ := e.s.DeadLetters(e.ctx, q, 0); len(dls) != 0 {
		t.Errorf("DeadLetters after deleting all = %d items, want 0", len(dls))
	}
	checkStats(t, e, q, "after deleting every dead letter", 0, 0, 0)
}

// testQueuePeek: PeekQueue lists the unacked items (waiting and in
// flight) oldest first with their ids and payloads, hands nothing out, and
// leaves out acked and dead items.
func testQueuePeek(t *testing.T, f Factory) {
	e := newQueueEnv(t, f, testQueueOptions)
	q := store.QueueIngest
	if ds, err := e.s.PeekQueue(e.ctx, q, 0); err != nil || len(ds) != 0 {
		t.Fatalf("PeekQueue of a never-used queue = %d items, %v; want none", len(ds), err)
	}
	ids := map[string]string{}
	for _, p := range []string{"a", "b", "c", "d"} {
		id, err := e.s.Enqueue(e.ctx, q, []byte(p))
		must(t, err, "Enqueue(%s)", p)
		ids[p] = id
	}
	// a is acked, b is in flight, c dies, d waits.
	got := map[string]store.Delivery{}
	for len(got) < 3 {
		ds, err := e.s.Read(e.ctx, q, "w", 3-len(got), pollBlock)
		must(t, err, "Read")
		for _, d := range ds {
			got[string(d.Payload)] = d
		}
	}
	must(t, e.s.Ack(e.ctx, q, got["a"].ID), "Ack(a)")
	c := got["c"]
	c.Attempts = testQueueOptions.MaxAttempts
	dead, err := e.s.Retry(e.ctx, q, c, "fails")
	must(t, err, "Retry(c) at the last attempt")
	if !dead {
		t.Fatalf("Retry(c) at the last attempt: not dead")
	}
	ds, err := e.s.PeekQueue(e.ctx, q, 0)
	must(t, err, "PeekQueue")
	var payloads []string
	for _, d := range ds {
		payloads = append(payloads, string(d.Payload))
		if d.ID != ids[string(d.Payload)] {
			t.Errorf("PeekQueue item %q has id %s, was enqueued as %s", d.Payload, d.ID, ids[string(d.Payload)])
		}
		if d.EnqueuedAt.IsZero() {
			t.Errorf("PeekQueue item %q has no EnqueuedAt", d.Payload)
		}
	}
	if !sameStrings(payloads, []string{"b", "d"}) {
		t.Fatalf("PeekQueue = %v, want [b d] (in flight and waiting, oldest first; not the acked or the dead)", payloads)
	}
	if one, err := e.s.PeekQueue(e.ctx, q, 1); err != nil || len(one) != 1 || string(one[0].Payload) != "b" {
		t.Errorf("PeekQueue(limit 1) = %d items, %v; want [b]", len(one), err)
	}
	checkStats(t, e, q, "after PeekQueue", 2, 1, 1)
	// Peeking handed nothing out: d is still there to read, once.
	d := readOne(t, e, q, "w2", "the waiting item after PeekQueue")
	if string(d.Payload) != "d" || d.Attempts != 1 {
		t.Errorf("read after PeekQueue = %q (attempt %d), want d (attempt 1)", d.Payload, d.Attempts)
	}
}
