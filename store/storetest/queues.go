package storetest

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

func queueTests() []testCase {
	return []testCase{
		{"Empty", testQueueEmpty},
		{"RoundTrip", testQueueRoundTrip},
		{"ReadBlocks", testQueueReadBlocks},
		{"RedeliverUnacked", testQueueRedeliverUnacked},
		{"RedeliveryFirst", testQueueRedeliveryFirst},
		{"Retry", testQueueRetry},
		{"DeadLetter", testQueueDeadLetter},
		{"ReplayDead", testQueueReplayDead},
		{"Stats", testQueueStats},
		{"Independent", testQueuesIndependent},
		{"ConcurrentConsumers", testQueueConcurrentConsumers},
		{"DeleteDead", testQueueDeleteDead},
		{"Peek", testQueuePeek},
	}
}

// pollBlock is the block of each Read while polling.
const pollBlock = 100 * time.Millisecond

// quietPeriod is long enough for anything due to be redelivered: a claim
// (ClaimAfter) or a retry (backoff, capped at ClaimAfter), with margin.
var quietPeriod = 3*testQueueOptions.ClaimAfter + 300*time.Millisecond

// readOne polls Read(max 1) until one item arrives.
func readOne(t *testing.T, e *env, queue, consumer, what string) store.Delivery {
	t.Helper()
	deadline := time.Now().Add(waitTimeout)
	for time.Now().Before(deadline) {
		ds, err := e.s.Read(e.ctx, queue, consumer, 1, pollBlock)
		must(t, err, "%s: Read(%s, %s)", what, queue, consumer)
		if len(ds) > 1 {
			t.Fatalf("%s: Read(max=1) returned %d items", what, len(ds))
		}
		if len(ds) == 1 {
			return ds[0]
		}
	}
	t.Fatalf("%s: nothing delivered on %s within %v", what, queue, waitTimeout)
	return store.Delivery{}
}

// expectNothing polls Read for d and fails on any delivery.
func expectNothing(t *testing.T, e *env, queue, consumer string, d time.Duration, what string) {
	t.Helper()
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		ds, err := e.s.Read(e.ctx, queue, consumer, 10, pollBlock)
		must(t, err, "%s: Read(%s)", what, queue)
		for _, dl := range ds {
			t.Errorf("%s: unexpected delivery %s of %q (attempt %d)", what, dl.ID, dl.Payload, dl.Attempts)
		}
		if len(ds) > 0 {
			return
		}
	}
}

func stats(t *testing.T, e *env, queue string) store.QueueStats {
	t.Helper()
	st, err := e.s.QueueStats(e.ctx, queue)
	must(t, err, "QueueStats(%s)", queue)
	if st.Queue != "" && st.Queue != queue {
		t.Errorf("QueueStats(%s).Queue = %q", queue, st.Queue)
	}
	return st
}

func checkStats(t *testing.T, e *env, queue, when string, length, pending, dead int64) store.QueueStats {
	t.Helper()
	st := stats(t, e, queue)
	if st.Length != length || st.Pending != pending || st.Dead != dead {
		t.Errorf("QueueStats(%s) %s: Length/Pending/Dead = %d/%d/%d, want %d/%d/%d", queue, when, st.Length, st.Pending, st.Dead, length, pending, dead)
	}
	if st.OldestAge < 0 || st.OldestAge > time.Hour {
		t.Errorf("QueueStats(%s) %s: OldestAge = %v, want a small non-negative age", queue, when, st.OldestAge)
	}
	if st.Length == 0 && st.OldestAge != 0 {
		t.Errorf("QueueStats(%s) %s: OldestAge = %v with no unacked items, want 0", queue, when, st.OldestAge)
	}
	return st
}

func testQueueEmpty(t *testing.T, f Factory) {
	e := newQueueEnv(t, f, testQueueOptions)
	for _, block := range []time.Duration{0, 200 * time.Millisecond} {
		ds, err := e.s.Read(e.ctx, store.QueueIngest, "w1", 10, block)
		must(t, err, "Read(block=%v) of a never-used queue", block)
		if len(ds) != 0 {
			t.Errorf("Read(block=%v) of a never-used queue returned %d items", block, len(ds))
		}
	}
	st := stats(t, e, store.QueueOutbound)
	if st.Length != 0 || st.Pending != 0 || st.Dead != 0 || st.OldestAge != 0 {
		t.Errorf("QueueStats of a never-used queue = %+v, want zeros", st)
	}
	dl, err := e.s.DeadLetters(e.ctx, store.QueueOutbound, 10)
	must(t, err, "DeadLetters of a never-used queue")
	if len(dl) != 0 {
		t.Errorf("DeadLetters of a never-used queue = %d items", len(dl))
	}
	n, err := e.s.ReplayDead(e.ctx, store.QueueOutbound, "")
	must(t, err, "ReplayDead of a never-used queue")
	if n != 0 {
		t.Errorf("ReplayDead of a never-used queue = %d, want 0", n)
	}
}

func testQueueRoundTrip(t *testing.T, f Factory) {
	e := newQueueEnv(t, f, testQueueOptions)
	allBytes := make([]byte, 256)
	for i := range allBytes {
		allBytes[i] = byte(i)
	}
	payloads := []struct {
		name string
		p    []byte
	}{
		{"json", []byte(`{"id":"m_1","text":"hello"}`)},
		{"empty", []byte{}},
		{"binary", allBytes},
		{"utf8", []byte("ünïcödé ✓ \r\n\t")},
		{"64KiB", bytes.Repeat([]byte("abcdefghijklmnop"), 4096)},
	}
	type sent struct {
		name          string
		p             []byte
		before, after time.Time
	}
	byID := map[string]sent{}
	for _, pl := range payloads {
		buf := append([]byte(nil), pl.p...)
		before := time.Now()
		id, err := e.s.Enqueue(e.ctx, store.QueueIngest, buf)
		after := time.Now()
		must(t, err, "Enqueue(%s)", pl.name)
		if id == "" {
			t.Errorf("Enqueue(%s) returned an empty id", pl.name)
		}
		if _, dup := byID[id]; dup {
			t.Fatalf("Enqueue returned id %q twice", id)
		}
		if len(buf) > 0 {
			buf[0] ^= 0xff // the queue must not keep the caller's slice
		}
		byID[id] = sent{pl.name, pl.p, before, after}
	}
	got := map[string]store.Delivery{}
	deadline := time.Now().Add(waitTimeout)
	for len(got) < len(payloads) && time.Now().Before(deadline) {
		ds, err := e.s.Read(e.ctx, store.QueueIngest, "w1", 10, pollBlock)
		must(t, err, "Read")
		if len(ds) > 10 {
			t.Errorf("Read(max=10) returned %d items", len(ds))
		}
		for _, d := range ds {
			if _, dup := got[d.ID]; dup {
				t.Errorf("item %s delivered twice before ClaimAfter", d.ID)
			}
			got[d.ID] = d
		}
	}
	if len(got) != len(payloads) {
		t.Fatalf("read %d of %d enqueued items within %v", len(got), len(payloads), waitTimeout)
	}
	for id, s := range byID {
		d, ok := got[id]
		if !ok {
			t.Errorf("item %s (%s) not delivered under the id Enqueue returned; got ids %v", id, s.name, keys(got))
			continue
		}
		if !bytes.Equal(d.Payload, s.p) || len(d.Payload) != len(s.p) {
			t.Errorf("item %s: payload %d bytes %.40q, want %d bytes %.40q (exactly)", s.name, len(d.Payload), d.Payload, len(s.p), s.p)
		}
		if d.Attempts != 1 {
			t.Errorf("item %s: Attempts = %d on first delivery, want 1", s.name, d.Attempts)
		}
		if d.EnqueuedAt.Before(s.before.Add(-time.Second)) || d.EnqueuedAt.After(s.after.Add(time.Second)) {
			t.Errorf("item %s: EnqueuedAt = %v, want between %v and %v", s.name, d.EnqueuedAt, s.before, s.after)
		}
	}
	checkStats(t, e, store.QueueIngest, "with all items in flight", int64(len(payloads)), int64(len(payloads)), 0)
	must(t, e.s.Ack(e.ctx, store.QueueIngest, keys(got)...), "Ack")
	checkStats(t, e, store.QueueIngest, "after acking everything", 0, 0, 0)
	must(t, e.s.Ack(e.ctx, store.QueueIngest, keys(got)[0]), "Ack of an already acked item (must be idempotent)")
	must(t, e.s.Ack(e.ctx, store.QueueIngest), "Ack with no ids")
	expectNothing(t, e, store.QueueIngest, "w2", quietPeriod, "after acking everything")
}

func keys(m map[string]store.Delivery) []string {
	k := make([]string, 0, len(m))
	for id := range m {
		k = append(k, id)
	}
	sort.Strings(k)
	return k
}

func testQueueReadBlocks(t *testing.T, f Factory) {
	e := newQueueEnv(t, f, testQueueOptions)
	const block = 4 * time.Second
	for _, tc := range []struct {
		name, queue string
		prime       bool // use (and drain) the queue before blocking on it
	}{
		{"never-used queue", "blocking-fresh", false},
		{"drained queue", "blocking-used", true},
	} {
		if tc.prime {
			_, err := e.s.Enqueue(e.ctx, tc.queue, []byte("first"))
			must(t, err, "%s: Enqueue", tc.name)
			d := readOne(t, e, tc.queue, "w1", tc.name+": priming read")
			must(t, e.s.Ack(e.ctx, tc.queue, d.ID), "%s: Ack", tc.name)
		}
		type result struct {
			ds  []store.Delivery
			err error
			dur time.Duration
		}
		res := make(chan result, 1)
		started := make(chan struct{})
		go func() {
			close(started)
			start := time.Now()
			ds, err := e.s.Read(e.ctx, tc.queue, "w1", 10, block)
			res <- result{ds, err, time.Since(start)}
		}()
		<-started
		time.Sleep(150 * time.Millisecond) // let Read start waiting (not an assertion)
		_, err := e.s.Enqueue(e.ctx, tc.queue, []byte("wake up"))
		must(t, err, "%s: Enqueue while a Read blocks", tc.name)
		select {
		case r := <-res:
			must(t, r.err, "%s: blocking Read", tc.name)
			if len(r.ds) != 1 || string(r.ds[0].Payload) != "wake up" {
				t.Errorf("%s: blocking Read returned %d items %v, want the item enqueued while it waited", tc.name, len(r.ds), r.ds)
			} else if r.dur >= block {
				t.Errorf("%s: blocking Read returned after %v, the whole block; want it to return when the item arrives", tc.name, r.dur)
			}
			for _, d := range r.ds {
				must(t, e.s.Ack(e.ctx, tc.queue, d.ID), "Ack")
			}
		case <-time.After(block + waitTimeout):
			t.Fatalf("%s: Read(block=%v) did not return within %v", tc.name, block, block+waitTimeout)
		}
	}
}

func testQueueRedeliverUnacked(t *testing.T, f Factory) {
	e := newQueueEnv(t, f, testQueueOptions)
	// Redis measures idle time in whole milliseconds on its own clock: allow
	// a little slack when checking that nothing comes back too early.
	claimAfter := testQueueOptions.ClaimAfter - 25*time.Millisecond
	for _, tc := range []struct{ name, queue, second string }{
		{"to another consumer", "q-other", "b"},
		{"to the same consumer", "q-same", "a"},
	} {
		payload := []byte("crash-victim " + tc.name)
		id, err := e.s.Enqueue(e.ctx, tc.queue, payload)
		must(t, err, "Enqueue")
		start := time.Now()
		d1 := readOne(t, e, tc.queue, "a", tc.name+": first read")
		if d1.Attempts != 1 || !bytes.Equal(d1.Payload, payload) {
			t.Fatalf("%s: first delivery = %+v", tc.name, d1)
		}
		// Not acked: the consumer "crashed". Nothing before ClaimAfter...
		ds, err := e.s.Read(e.ctx, tc.queue, tc.second, 10, 0)
		must(t, err, "Read right after the first delivery")
		if len(ds) > 0 && time.Since(start) < claimAfter {
			t.Errorf("%s: item redelivered %v after its first delivery, before ClaimAfter (%v)", tc.name, time.Since(start), testQueueOptions.ClaimAfter)
		}
		// ...then it is handed out again.
		var d2 store.Delivery
		if len(ds) > 0 {
			d2 = ds[0]
		} else {
			d2 = readOne(t, e, tc.queue, tc.second, tc.name+": redelivery after ClaimAfter")
		}
		if el := time.Since(start); el < claimAfter {
			t.Errorf("%s: redelivered after %v, before ClaimAfter (%v)", tc.name, el, testQueueOptions.ClaimAfter)
		}
		if !bytes.Equal(d2.Payload, payload) {
			t.Fatalf("%s: redelivered payload %q, want %q", tc.name, d2.Payload, payload)
		}
		if d2.Attempts != 2 {
			t.Errorf("%s: redelivery Attempts = %d, want 2", tc.name, d2.Attempts)
		}
		if d2.ID != id {
			t.Logf("%s: redelivery has id %s, enqueued as %s", tc.name, d2.ID, id)
		}
		if !closeTime(d2.EnqueuedAt, d1.EnqueuedAt, time.Millisecond) {
			t.Errorf("%s: redelivery EnqueuedAt = %v, first delivery said %v (when first enqueued)", tc.name, d2.EnqueuedAt, d1.EnqueuedAt)
		}
		checkStats(t, e, tc.queue, "with the redelivered item in flight", 1, 1, 0)
		must(t, e.s.Ack(e.ctx, tc.queue, d2.ID), "Ack redelivery")
		checkStats(t, e, tc.queue, "after acking the redelivery", 0, 0, 0)
		expectNothing(t, e, tc.queue, "c", quietPeriod, tc.name+": after acking the redelivery")
	}
}

func testQueueRedeliveryFirst(t *testing.T, f Factory) {
	e := newQueueEnv(t, f, testQueueOptions)
	q := store.QueueIngest
	_, err := e.s.Enqueue(e.ctx, q, []byte("old"))
	must(t, err, "Enqueue(old)")
	d1 := readOne(t, e, q, "a", "first read")
	for i := range 5 {
		_, err := e.s.Enqueue(e.ctx, q, fmt.Appendf(nil, "new-%d", i))
		must(t, err, "Enqueue(new)")
	}
	// Wait (without reading) until the unacked item is due again.
	time.Sleep(testQueueOptions.ClaimAfter + 200*time.Millisecond)
	d := readOne(t, e, q, "b", "read after ClaimAfter")
	if string(d.Payload) != "old" || d.Attempts != 2 {
		t.Errorf("first Read after the unacked item became due = %q (attempt %d), want the redelivery of %q (attempt 2): items due for redelivery come first", d.Payload, d.Attempts, d1.Payload)
	}
}

// retryUntilDead reads items from queue and Retries every delivery until
// all the given payloads are dead. The reason given is
// "failure ATTEMPT of PAYLOAD".
func retryUntilDead(t *testing.T, e *env, queue string, payloads ...string) {
	t.Helper()
	dead := map[string]bool{}
	attempts := map[string]int{}
	deadline := time.Now().Add(3 * waitTimeout)
	for len(dead) < len(payloads) {
		if time.Now().After(deadline) {
			t.Fatalf("retrying %v until dead: only %d dead within %v (attempts %v)", payloads, len(dead), 3*waitTimeout, attempts)
		}
		ds, err := e.s.Read(e.ctx, queue, "w", 10, pollBlock)
		must(t, err, "Read")
		for _, d := range ds {
			p := string(d.Payload)
			if dead[p] {
				t.Errorf("dead item %q delivered again (attempt %d)", p, d.Attempts)
				continue
			}
			if prev, seen := attempts[p]; seen && d.Attempts != prev+1 || d.Attempts < 1 {
				t.Errorf("item %q: Attempts = %d, want %d (one more than the previous delivery)", p, d.Attempts, prev+1)
			}
			attempts[p] = d.Attempts
			isDead, err := e.s.Retry(e.ctx, queue, d, fmt.Sprintf("failure %d of %s", d.Attempts, p))
			must(t, err, "Retry(%q, attempt %d)", p, d.Attempts)
			wantDead := d.Attempts >= testQueueOptions.MaxAttempts
			if isDead != wantDead {
				t.Errorf("Retry(%q) at attempt %d of max %d: dead = %v, want %v", p, d.Attempts, testQueueOptions.MaxAttempts, isDead, wantDead)
			}
			if isDead {
				dead[p] = true
			}
		}
	}
}

func testQueueRetry(t *testing.T, f Factory) {
	e := newQueueEnv(t, f, testQueueOptions)
	q := store.QueueOutbound
	payload := []byte(`{"entry":"m_1"}`)
	_, err := e.s.Enqueue(e.ctx, q, payload)
	must(t, err, "Enqueue")
	d := readOne(t, e, q, "a", "first delivery")
	first := d
	for attempt := 1; attempt < testQueueOptions.MaxAttempts; attempt++ {
		if d.Attempts != attempt {
			t.Fatalf("delivery Attempts = %d, want %d", d.Attempts, attempt)
		}
		dead, err := e.s.Retry(e.ctx, q, d, fmt.Sprintf("provider said 503 (%d)", attempt))
		must(t, err, "Retry at attempt %d", attempt)
		if dead {
			t.Fatalf("Retry at attempt %d of max %d: dead = true, want false", attempt, testQueueOptions.MaxAttempts)
		}
		d = readOne(t, e, q, "b", fmt.Sprintf("redelivery after Retry at attempt %d", attempt))
		if !bytes.Equal(d.Payload, payload) {
			t.Fatalf("redelivery after Retry: payload %q, want %q", d.Payload, payload)
		}
		if d.Attempts != attempt+1 {
			t.Errorf("redelivery after Retry at attempt %d: Attempts = %d, want %d", attempt, d.Attempts, attempt+1)
		}
		if !closeTime(d.EnqueuedAt, first.EnqueuedAt, time.Millisecond) {
			t.Errorf("redelivery after Retry: EnqueuedAt = %v, want %v (when first enqueued)", d.EnqueuedAt, first.EnqueuedAt)
		}
	}
	// Succeeds on the last attempt.
	must(t, e.s.Ack(e.ctx, q, d.ID), "Ack")
	checkStats(t, e, q, "after the retried item was acked", 0, 0, 0)
	expectNothing(t, e, q, "c", quietPeriod, "after acking a retried item (no leftover copies of earlier attempts)")
}

func testQueueDeadLetter(t *testing.T, f Factory) {
	e := newQueueEnv(t, f, testQueueOptions)
	q := store.QueueOutbound
	payload := []byte("doomed \x00 payload")
	before := time.Now()
	_, err := e.s.Enqueue(e.ctx, q, payload)
	must(t, err, "Enqueue")
	retryUntilDead(t, e, q, string(payload))
	dls, err := e.s.DeadLetters(e.ctx, q, 10)
	must(t, err, "DeadLetters")
	if len(dls) != 1 {
		t.Fatalf("DeadLetters = %d items, want 1", len(dls))
	}
	dl := dls[0]
	if dl.ID == "" || !bytes.Equal(dl.Payload, payload) || dl.Queue != q || dl.Attempts != testQueueOptions.MaxAttempts {
		t.Errorf("dead letter = %+v, want payload %q, queue %q, %d attempts and an id", dl, payload, q, testQueueOptions.MaxAttempts)
	}
	wantErrText := fmt.Sprintf("failure %d of %s", testQueueOptions.MaxAttempts, payload)
	if dl.LastError != wantErrText {
		t.Errorf("dead letter LastError = %q, want the last Retry reason %q", dl.LastError, wantErrText)
	}
	if dl.DeadAt.Before(before.Add(-time.Second)) || dl.DeadAt.After(time.Now().Add(time.Second)) {
		t.Errorf("dead letter DeadAt = %v, want about now", dl.DeadAt)
	}
	if dl.EnqueuedAt.Before(before.Add(-time.Second)) || dl.EnqueuedAt.After(dl.DeadAt.Add(time.Second)) {
		t.Errorf("dead letter EnqueuedAt = %v, want when it was enqueued (%v)", dl.EnqueuedAt, before)
	}
	st := stats(t, e, q)
	if st.Dead != 1 || st.Pending != 0 {
		t.Errorf("QueueStats after dead-lettering: Dead/Pending = %d/%d, want 1/0", st.Dead, st.Pending)
	}
	expectNothing(t, e, q, "w2", quietPeriod, "after the item was dead-lettered")
	if st := stats(t, e, q); st.Dead != 1 {
		t.Errorf("QueueStats.Dead = %d later, want 1", st.Dead)
	}
}

func testQueueReplayDead(t *testing.T, f Factory) {
	e := newQueueEnv(t, f, testQueueOptions)
	q := store.QueueOutbound
	names := []string{"p1", "p2", "p3"}
	for _, p := range names {
		_, err := e.s.Enqueue(e.ctx, q, []byte(p))
		must(t, err, "Enqueue(%s)", p)
	}
	retryUntilDead(t, e, q, names...)
	dls, err := e.s.DeadLetters(e.ctx, q, 10)
	must(t, err, "DeadLetters")
	byPayload := map[string]store.DeadLetter{}
	for _, dl := range dls {
		byPayload[string(dl.Payload)] = dl
	}
	if len(dls) != 3 || len(byPayload) != 3 {
		t.Fatalf("DeadLetters = %d items (%d distinct payloads), want p1 p2 p3", len(dls), len(byPayload))
	}
	if two, err := e.s.DeadLetters(e.ctx, q, 2); err != nil || len(two) != 2 {
		t.Errorf("DeadLetters(limit 2) = %d items, %v; want 2", len(two), err)
	}
	checkStats(t, e, q, "with 3 dead letters", stats(t, e, q).Length, 0, 3)

	// Replay one.
	n, err := e.s.ReplayDead(e.ctx, q, byPayload["p2"].ID)
	must(t, err, "ReplayDead(p2)")
	if n != 1 {
		t.Errorf("ReplayDead(one id) = %d, want 1", n)
	}
	d := readOne(t, e, q, "w2", "replayed p2")
	if string(d.Payload) != "p2" {
		t.Errorf("after ReplayDead(p2) read %q, want p2", d.Payload)
	}
	if d.Attempts != 1 {
		t.Errorf("replayed item Attempts = %d, want 1 (re-enqueued)", d.Attempts)
	}
	must(t, e.s.Ack(e.ctx, q, d.ID), "Ack p2")
	dls, err = e.s.DeadLetters(e.ctx, q, 10)
	must(t, err, "DeadLetters after replaying p2")
	var left []string
	for _, dl := range dls {
		left = append(left, string(dl.Payload))
	}
	if g := sortedCopy(left); !sameStrings(g, []string{"p1", "p3"}) {
		t.Errorf("DeadLetters after replaying p2 = %v, want [p1 p3]", g)
	}
	if st := stats(t, e, q); st.Dead != 2 {
		t.Errorf("QueueStats.Dead after replaying one of 3 = %d, want 2", st.Dead)
	}

	// Replay all.
	n, err = e.s.ReplayDead(e.ctx, q, "")
	must(t, err, "ReplayDead(all)")
	if n != 2 {
		t.Errorf("ReplayDead(\"\") = %d, want 2", n)
	}
	var got []string
	for range 2 {
		d := readOne(t, e, q, "w3", "replayed items")
		got = append(got, string(d.Payload))
		if d.Attempts != 1 {
			t.Errorf("replayed item %q Attempts = %d, want 1", d.Payload, d.Attempts)
		}
		must(t, e.s.Ack(e.ctx, q, d.ID), "Ack")
	}
	if g := sortedCopy(got); !sameStrings(g, []string{"p1", "p3"}) {
		t.Errorf("after ReplayDead(\"\") read %v, want [p1 p3]", g)
	}
	checkStats(t, e, q, "after replaying and acking everything", 0, 0, 0)
	if dls, err := e.s.DeadLetters(e.ctx, q, 10); err != nil || len(dls) != 0 {
		t.Errorf("DeadLetters after replaying all = %d items, %v; want none", len(dls), err)
	}
	n, err = e.s.ReplayDead(e.ctx, q, "")
	must(t, err, "ReplayDead with no dead letters")
	if n != 0 {
		t.Errorf("ReplayDead with no dead letters = %d, want 0", n)
	}
	expectNothing(t, e, q, "w4", quietPeriod, "after replaying and acking everything")
}

func testQueueStats(t *testing.T, f Factory) {
	// No claiming here: with testQueueOptions' 300 ms, a loaded machine
	// let "a"'s third read take "b"'s item instead of the waiting one.
	opts := testQueueOptions
	opts.ClaimAfter = time.Hour
	e := newQueueEnv(t, f, opts)
	q := store.QueueIngest
	for i := range 3 {
		_, err := e.s.Enqueue(e.ctx, q, fmt.Appendf(nil, "s%d", i))
		must(t, err, "Enqueue")
	}
	checkStats(t, e, q, "with 3 waiting items", 3, 0, 0)
	d1 := readOne(t, e, q, "a", "read 1")
	d2 := readOne(t, e, q, "b", "read 2")
	checkStats(t, e, q, "with 2 of 3 in flight", 3, 2, 0)
	must(t, e.s.Ack(e.ctx, q, d1.ID), "Ack")
	checkStats(t, e, q, "after one ack", 2, 1, 0)
	d3 := readOne(t, e, q, "a", "read 3")
	checkStats(t, e, q, "with 2 in flight, none waiting", 2, 2, 0)
	must(t, e.s.Ack(e.ctx, q, d2.ID, d3.ID), "Ack two")
	checkStats(t, e, q, "after acking everything", 0, 0, 0)
}

func testQueuesIndependent(t *testing.T, f Factory) {
	e := newQueueEnv(t, f, testQueueOptions)
	for _, p := range []string{"in-1", "in-2"} {
		_, err := e.s.Enqueue(e.ctx, store.QueueIngest, []byte(p))
		must(t, err, "Enqueue(ingest)")
	}
	_, err := e.s.Enqueue(e.ctx, store.QueueOutbound, []byte("out-1"))
	must(t, err, "Enqueue(outbound)")
	checkStats(t, e, store.QueueIngest, "ingest", 2, 0, 0)
	checkStats(t, e, store.QueueOutbound, "outbound", 1, 0, 0)
	d := readOne(t, e, store.QueueOutbound, "w", "outbound")
	if string(d.Payload) != "out-1" {
		t.Errorf("Read(outbound) = %q, want out-1", d.Payload)
	}
	ds, err := e.s.Read(e.ctx, store.QueueOutbound, "w", 10, pollBlock)
	must(t, err, "Read(outbound) again")
	if len(ds) != 0 {
		t.Errorf("Read(outbound) returned %d more items; ingest items leaked into outbound", len(ds))
	}
	// Dead letters are per queue.
	retryUntilDead(t, e, store.QueueOutbound, "out-1")
	checkStats(t, e, store.QueueIngest, "ingest after an outbound item died", 2, 0, 0)
	if dls, err := e.s.DeadLetters(e.ctx, store.QueueIngest, 10); err != nil || len(dls) != 0 {
		t.Errorf("DeadLetters(ingest) = %d, %v; want none", len(dls), err)
	}
	if n, err := e.s.ReplayDead(e.ctx, store.QueueIngest, ""); err != nil || n != 0 {
		t.Errorf("ReplayDead(ingest) = %d, %v; want 0 (the dead letter is outbound's)", n, err)
	}
	var got []string
	for range 2 {
		d := readOne(t, e, store.QueueIngest, "w", "ingest")
		got = append(got, string(d.Payload))
		must(t, e.s.Ack(e.ctx, store.QueueIngest, d.ID), "Ack")
	}
	if g := sortedCopy(got); !sameStrings(g, []string{"in-1", "in-2"}) {
		t.Errorf("Read(ingest) = %v, want [in-1 in-2]", g)
	}
	checkStats(t, e, store.QueueOutbound, "outbound at the end", stats(t, e, store.QueueOutbound).Length, 0, 1)
}

func testQueueConcurrentConsumers(t *testing.T, f Factory) {
	// A long ClaimAfter: here every delivery beyond the first of an item is
	// a bug (two consumers handed the same item), not a slow ack.
	opts := testQueueOptions
	opts.ClaimAfter = time.Minute
	e := newQueueEnv(t, f, opts)
	q := store.QueueIngest
	const items, producers, consumers = 500, 5, 4
	concurrently(t, producers, func(p int) {
		for i := p; i < items; i += producers {
			if _, err := e.s.Enqueue(e.ctx, q, fmt.Appendf(nil, "item-%03d", i)); err != nil {
				t.Errorf("Enqueue(item-%03d): %v", i, err)
				return
			}
		}
	})
	if t.Failed() {
		t.FailNow()
	}
	var (
		mu        sync.Mutex
		delivered = map[string]int{}
		acked     = map[string]int{}
		ids       = map[string]string{}
		total     int
	)
	deadline := time.Now().Add(30 * time.Second)
	concurrently(t, consumers, func(c int) {
		consumer := fmt.Sprintf("worker-%d", c)
		for {
			mu.Lock()
			done := total >= items
			mu.Unlock()
			if done || time.Now().After(deadline) {
				return
			}
			ds, err := e.s.Read(e.ctx, q, consumer, 10, pollBlock)
			if err != nil {
				t.Errorf("%s: Read: %v", consumer, err)
				return
			}
			if len(ds) > 10 {
				t.Errorf("%s: Read(max=10) returned %d", consumer, len(ds))
			}
			for _, d := range ds {
				p := string(d.Payload)
				mu.Lock()
				delivered[p]++
				if prev, ok := ids[d.ID]; ok && prev != p {
					t.Errorf("delivery id %s used for %q and %q", d.ID, prev, p)
				}
				ids[d.ID] = p
				mu.Unlock()
				if err := e.s.Ack(e.ctx, q, d.ID); err != nil {
					t.Errorf("%s: Ack(%s): %v", consumer, d.ID, err)
					continue
				}
				mu.Lock()
				acked[p]++
				total++
				mu.Unlock()
			}
		}
	})
	mu.Lock()
	defer mu.Unlock()
	if total != items {
		t.Errorf("%d consumers acked %d items in total, want %d", consumers, total, items)
	}
	var missing, twice []string
	for i := range items {
		p := fmt.Sprintf("item-%03d", i)
		switch {
		case delivered[p] == 0:
			missing = append(missing, p)
		case delivered[p] > 1 || acked[p] > 1:
			twice = append(twice, fmt.Sprintf("%s×%d", p, delivered[p]))
		}
	}
	if len(missing) > 0 {
		t.Errorf("%d items never delivered: %v", len(missing), missing)
	}
	if len(twice) > 0 {
		t.Errorf("%d items delivered more than once though acked promptly and ClaimAfter is 1m: %v", len(twice), twice)
	}
	if len(delivered) != items {
		t.Errorf("%d distinct payloads delivered, want %d", len(delivered), items)
	}
	checkStats(t, e, q, "after all items were acked", 0, 0, 0)
}
