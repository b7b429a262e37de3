package storetest

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// ---- channels -----------------------------------------------------------

func channelTests() []testCase {
	return []testCase{
		{"GetNotFound", testChannelNotFound},
		{"PutGetList", testChannelPutGetList},
	}
}

func testChannelNotFound(t *testing.T, f Factory) {
	e := newEnv(t, f)
	_, err := e.s.GetChannelState(e.ctx, "sms")
	wantErr(t, err, store.ErrNotFound, "GetChannelState of a channel never changed")
	list, err := e.s.ListChannelStates(e.ctx)
	must(t, err, "ListChannelStates on an empty store")
	if len(list) != 0 {
		t.Errorf("ListChannelStates on an empty store = %+v, want none", list)
	}
}

func testChannelPutGetList(t *testing.T, f Factory) {
	e := newEnv(t, f)
	states := []store.ChannelState{
		{Name: "sms", Phase: store.PhaseShadow, UpdatedBy: "alice", UpdatedAt: epoch},
		{Name: "mail", Phase: store.PhasePilot, UpdatedBy: "bob", UpdatedAt: epoch.Add(time.Minute)},
	}
	for _, s := range states {
		must(t, e.s.PutChannelState(e.ctx, s), "PutChannelState(%s)", s.Name)
	}
	check := func(what string, got, want store.ChannelState) {
		t.Helper()
		if got.Name != want.Name || got.Phase != want.Phase || got.UpdatedBy != want.UpdatedBy || !closeTime(got.UpdatedAt, want.UpdatedAt, time.Millisecond) {
			t.Errorf("%s = %+v, want %+v", what, got, want)
		}
	}
	for _, s := range states {
		got, err := e.s.GetChannelState(e.ctx, s.Name)
		must(t, err, "GetChannelState(%s)", s.Name)
		check("GetChannelState("+s.Name+")", got, s)
	}
	// Overwrite.
	live := store.ChannelState{Name: "sms", Phase: store.PhaseLive, UpdatedBy: "carol", UpdatedAt: epoch.Add(time.Hour)}
	must(t, e.s.PutChannelState(e.ctx, live), "PutChannelState(sms, live)")
	got, err := e.s.GetChannelState(e.ctx, "sms")
	must(t, err, "GetChannelState(sms)")
	check("GetChannelState(sms) after overwrite", got, live)

	list, err := e.s.ListChannelStates(e.ctx)
	must(t, err, "ListChannelStates")
	sort.Slice(list, func(i, j int) bool { return list[i].Name < list[j].Name })
	if len(list) != 2 {
		t.Fatalf("ListChannelStates = %+v, want mail and sms", list)
	}
	check("ListChannelStates[mail]", list[0], states[1])
	check("ListChannelStates[sms]", list[1], live)
	_, err = e.s.GetChannelState(e.ctx, "slack")
	wantErr(t, err, store.ErrNotFound, "GetChannelState(slack)")
}

// ---- leases -------------------------------------------------------------

func leaseTests() []testCase {
	return []testCase{
		{"Acquire", testLeaseAcquire},
		{"AcquireConcurrent", testLeaseAcquireConcurrent},
		{"Expiry", testLeaseExpiry},
		{"Renew", testLeaseRenew},
		{"Release", testLeaseRelease},
	}
}

func checkLease(t *testing.T, what string, l store.Lease, name, holder string, expires time.Time) {
	t.Helper()
	if l.Name != name || l.Holder != holder {
		t.Errorf("%s = %+v, want name %q holder %q", what, l, name, holder)
	}
	if !closeTime(l.ExpiresAt, expires, time.Millisecond) {
		t.Errorf("%s: ExpiresAt = %v, want %v (clock now + ttl)", what, l.ExpiresAt, expires)
	}
}

const leaseTTL = 10 * time.Second

func testLeaseAcquire(t *testing.T, f Factory) {
	e := newEnv(t, f)
	l, err := e.s.AcquireLease(e.ctx, "scheduler", "a", leaseTTL)
	must(t, err, "AcquireLease(a)")
	checkLease(t, "AcquireLease(a)", l, "scheduler", "a", e.clock.Now().Add(leaseTTL))

	_, err = e.s.AcquireLease(e.ctx, "scheduler", "b", leaseTTL)
	wantErr(t, err, store.ErrLeaseHeld, "AcquireLease by another holder while held")

	// The holder re-acquiring renews the same lease (same token).
	e.clock.Advance(4 * time.Second)
	again, err := e.s.AcquireLease(e.ctx, "scheduler", "a", leaseTTL)
	must(t, err, "AcquireLease(a) again")
	if again.Token != l.Token {
		t.Errorf("re-acquiring by the holder: token %d -> %d, want the same token", l.Token, again.Token)
	}
	checkLease(t, "AcquireLease(a) again", again, "scheduler", "a", e.clock.Now().Add(leaseTTL))

	// Leases are independent by name.
	o, err := e.s.AcquireLease(e.ctx, "imap:support", "b", leaseTTL)
	must(t, err, "AcquireLease(other name, b)")
	checkLease(t, "AcquireLease(other name, b)", o, "imap:support", "b", e.clock.Now().Add(leaseTTL))

	// Still held: 4s + 9s < 4s + 10s after the renewal.
	e.clock.Advance(9 * time.Second)
	_, err = e.s.AcquireLease(e.ctx, "scheduler", "b", leaseTTL)
	wantErr(t, err, store.ErrLeaseHeld, "AcquireLease(b) before the renewed lease expired")
}

func testLeaseAcquireConcurrent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	const n = 16
	errs := make([]error, n)
	concurrently(t, n, func(i int) {
		_, errs[i] = e.s.AcquireLease(e.ctx, "scheduler", fmt.Sprintf("h%02d", i), leaseTTL)
	})
	won := 0
	for i, err := range errs {
		switch {
		case err == nil:
			won++
		case !wantErr(t, err, store.ErrLeaseHeld, "concurrent AcquireLease #%d", i):
		}
	}
	if won != 1 {
		t.Errorf("%d concurrent AcquireLease by different holders: %d succeeded, want exactly 1", n, won)
	}
}

func testLeaseExpiry(t *testing.T, f Factory) {
	e := newEnv(t, f)
	a, err := e.s.AcquireLease(e.ctx, "scheduler", "a", leaseTTL)
	must(t, err, "AcquireLease(a)")
	e.clock.Advance(leaseTTL + time.Second)
	b, err := e.s.AcquireLease(e.ctx, "scheduler", "b", leaseTTL)
	must(t, err, "AcquireLease(b) after a's lease expired")
	if b.Token <= a.Token {
		t.Errorf("new acquisition after expiry: token %d, want > %d (fencing token)", b.Token, a.Token)
	}
	checkLease(t, "AcquireLease(b)", b, "scheduler", "b", e.clock.Now().Add(leaseTTL))
	_, err = e.s.AcquireLease(e.ctx, "scheduler", "a", leaseTTL)
	wantErr(t, err, store.ErrLeaseHeld, "AcquireLease by the old holder after losing the lease")
	_, err = e.s.RenewLease(e.ctx, "scheduler", "a", a.Token, leaseTTL)
	wantErr(t, err, store.ErrLeaseHeld, "RenewLease with the stale token")
	// Every new acquisition increases the token.
	prev := b.Token
	for i, h := range []string{"c", "a", "b"} {
		e.clock.Advance(leaseTTL + time.Second)
		l, err := e.s.AcquireLease(e.ctx, "scheduler", h, leaseTTL)
		must(t, err, "AcquireLease(%s) #%d after expiry", h, i)
		if l.Token <= prev {
			t.Errorf("acquisition #%d by %s: token %d, want > %d", i, h, l.Token, prev)
		}
		prev = l.Token
	}
}

func testLeaseRenew(t *testing.T, f Factory) {
	e := newEnv(t, f)
	a, err := e.s.AcquireLease(e.ctx, "scheduler", "a", leaseTTL)
	must(t, err, "AcquireLease(a)")
	// Renewing keeps the lease alive beyond the original ttl.
	for i := range 3 {
		e.clock.Advance(leaseTTL - time.Second)
		r, err := e.s.RenewLease(e.ctx, "scheduler", "a", a.Token, leaseTTL)
		must(t, err, "RenewLease #%d", i)
		if r.Token != a.Token {
			t.Errorf("RenewLease #%d: token %d, want %d", i, r.Token, a.Token)
		}
		checkLease(t, fmt.Sprintf("RenewLease #%d", i), r, "scheduler", "a", e.clock.Now().Add(leaseTTL))
		_, err = e.s.AcquireLease(e.ctx, "scheduler", "b", leaseTTL)
		wantErr(t, err, store.ErrLeaseHeld, "AcquireLease(b) after renewal #%d", i)
	}
	_, err = e.s.RenewLease(e.ctx, "scheduler", "a", a.Token+1, leaseTTL)
	wantErr(t, err, store.ErrLeaseHeld, "RenewLease with a wrong token")
	_, err = e.s.RenewLease(e.ctx, "scheduler", "b", a.Token, leaseTTL)
	wantErr(t, err, store.ErrLeaseHeld, "RenewLease by a non-holder")
	_, err = e.s.RenewLease(e.ctx, "never-taken", "a", a.Token, leaseTTL)
	wantErr(t, err, store.ErrLeaseHeld, "RenewLease of a lease never acquired")
	// A longer ttl on renewal takes effect.
	r, err := e.s.RenewLease(e.ctx, "scheduler", "a", a.Token, time.Minute)
	must(t, err, "RenewLease with ttl 1m")
	checkLease(t, "RenewLease with ttl 1m", r, "scheduler", "a", e.clock.Now().Add(time.Minute))
	e.clock.Advance(30 * time.Second)
	_, err = e.s.AcquireLease(e.ctx, "scheduler", "b", leaseTTL)
	wantErr(t, err, store.ErrLeaseHeld, "AcquireLease(b) within the renewed 1m ttl")
}

func testLeaseRelease(t *testing.T, f Factory) {
	e := newEnv(t, f)
	a, err := e.s.AcquireLease(e.ctx, "scheduler", "a", leaseTTL)
	must(t, err, "AcquireLease(a)")
	// Releasing with the wrong holder or token does not free the lease
	// (the error value is not specified).
	_ = e.s.ReleaseLease(e.ctx, "scheduler", "b", a.Token)
	_ = e.s.ReleaseLease(e.ctx, "scheduler", "a", a.Token+1)
	_, err = e.s.AcquireLease(e.ctx, "scheduler", "b", leaseTTL)
	wantErr(t, err, store.ErrLeaseHeld, "AcquireLease(b) after releases with a wrong holder/token")

	must(t, e.s.ReleaseLease(e.ctx, "scheduler", "a", a.Token), "ReleaseLease(a)")
	b, err := e.s.AcquireLease(e.ctx, "scheduler", "b", leaseTTL)
	must(t, err, "AcquireLease(b) after a released")
	if b.Token <= a.Token {
		t.Errorf("acquisition after release: token %d, want > %d", b.Token, a.Token)
	}
	_, err = e.s.RenewLease(e.ctx, "scheduler", "a", a.Token, leaseTTL)
	wantErr(t, err, store.ErrLeaseHeld, "RenewLease by a after releasing")
	// A stale release by a must not free b's lease.
	_ = e.s.ReleaseLease(e.ctx, "scheduler", "a", a.Token)
	_, err = e.s.AcquireLease(e.ctx, "scheduler", "c", leaseTTL)
	wantErr(t, err, store.ErrLeaseHeld, "AcquireLease(c) after a stale release by a")
}

// ---- checkpoints --------------------------------------------------------

func checkpointTests() []testCase {
	return []testCase{{"PutGet", testCheckpoints}}
}

func testCheckpoints(t *testing.T, f Factory) {
	e := newEnv(t, f)
	_, err := e.s.GetCheckpoint(e.ctx, "imap:support")
	wantErr(t, err, store.ErrNotFound, "GetCheckpoint never written")

	v1 := []byte("UIDVALIDITY=3857529045;UID=4392\x00\xff")
	buf := append([]byte(nil), v1...)
	must(t, e.s.PutCheckpoint(e.ctx, "imap:support", buf), "PutCheckpoint")
	buf[0] = 'X' // the store must not keep the caller's slice
	got, err := e.s.GetCheckpoint(e.ctx, "imap:support")
	must(t, err, "GetCheckpoint")
	if !bytes.Equal(got, v1) {
		t.Errorf("GetCheckpoint = %q, want %q", got, v1)
	}
	if len(got) > 0 {
		got[0] = 'Y' // nor hand out its own
	}
	got, err = e.s.GetCheckpoint(e.ctx, "imap:support")
	must(t, err, "GetCheckpoint again")
	if !bytes.Equal(got, v1) {
		t.Errorf("GetCheckpoint after mutating a returned slice = %q, want %q", got, v1)
	}

	v2 := []byte("UID=4400")
	must(t, e.s.PutCheckpoint(e.ctx, "imap:support", v2), "PutCheckpoint overwrite")
	got, err = e.s.GetCheckpoint(e.ctx, "imap:support")
	must(t, err, "GetCheckpoint after overwrite")
	if !bytes.Equal(got, v2) {
		t.Errorf("GetCheckpoint after overwrite = %q, want %q", got, v2)
	}
	_, err = e.s.GetCheckpoint(e.ctx, "imap:sales")
	wantErr(t, err, store.ErrNotFound, "GetCheckpoint of another key")

	// Large values are kept whole.
	big := bytes.Repeat([]byte("0123456789abcdef"), 4096)
	must(t, e.s.PutCheckpoint(e.ctx, "slack:cursor", big), "PutCheckpoint(64KiB)")
	got, err = e.s.GetCheckpoint(e.ctx, "slack:cursor")
	must(t, err, "GetCheckpoint(64KiB)")
	if !bytes.Equal(got, big) {
		t.Errorf("GetCheckpoint(64KiB) returned %d bytes, not the value written", len(got))
	}
}

// ---- events -------------------------------------------------------------

func eventTests() []testCase {
	return []testCase{
		{"PublishSubscribe", testPublishSubscribe},
		{"TopicIsolation", testTopicIsolation},
		{"FanOut", testFanOut},
		{"CancelCloses", testSubscribeCancel},
	}
}

// recv waits for the next event on ch.
func recv(t *testing.T, ch <-chan []byte, what string) []byte {
	t.Helper()
	select {
	case p, ok := <-ch:
		if !ok {
			t.Fatalf("%s: subscription channel closed, want an event", what)
		}
		return p
	case <-time.After(waitTimeout):
		t.Fatalf("%s: no event within %v", what, waitTimeout)
		return nil
	}
}

func subscribe(t *testing.T, e *env, topic string) (<-chan []byte, context.CancelFunc) {
	t.Helper()
	ctx, cancel := context.WithCancel(e.ctx)
	t.Cleanup(cancel)
	ch, err := e.s.Subscribe(ctx, topic)
	must(t, err, "Subscribe(%s)", topic)
	if ch == nil {
		t.Fatalf("Subscribe(%s) returned a nil channel", topic)
	}
	return ch, cancel
}

func testPublishSubscribe(t *testing.T, f Factory) {
	e := newEnv(t, f)
	ch, _ := subscribe(t, e, "inbox")
	msgs := [][]byte{[]byte(`{"conversation":"cv1"}`), {0, 1, 2, 0xff}, []byte("third")}
	for _, m := range msgs {
		must(t, e.s.Publish(e.ctx, "inbox", m), "Publish")
	}
	// Best effort allows loss for slow subscribers, not for an idle one
	// receiving three small events.
	for i, m := range msgs {
		got := recv(t, ch, fmt.Sprintf("event %d", i))
		if !bytes.Equal(got, m) {
			t.Errorf("event %d = %q, want %q (in publish order)", i, got, m)
		}
	}
	// Publishing with no subscriber is not an error.
	must(t, e.s.Publish(e.ctx, "nobody-listens", []byte("x")), "Publish without subscribers")
}

func testTopicIsolation(t *testing.T, f Factory) {
	e := newEnv(t, f)
	inbox, _ := subscribe(t, e, "inbox")
	inbox2, _ := subscribe(t, e, "inbox2")
	must(t, e.s.Publish(e.ctx, "inbox2", []byte("for inbox2")), "Publish(inbox2)")
	must(t, e.s.Publish(e.ctx, "other", []byte("for other")), "Publish(other)")
	must(t, e.s.Publish(e.ctx, "inbox", []byte("for inbox")), "Publish(inbox)")
	if got := recv(t, inbox2, "inbox2"); string(got) != "for inbox2" {
		t.Errorf("subscriber of inbox2 got %q, want %q", got, "for inbox2")
	}
	if got := recv(t, inbox, "inbox"); string(got) != "for inbox" {
		t.Errorf("subscriber of inbox got %q, want %q", got, "for inbox")
	}
	// A marker published after everything else: anything misrouted to the
	// inbox subscriber would show up before it.
	must(t, e.s.Publish(e.ctx, "inbox", []byte("marker")), "Publish(inbox marker)")
	if got := recv(t, inbox, "inbox marker"); string(got) != "marker" {
		t.Errorf("subscriber of inbox got %q, want %q (events of other topics leak)", got, "marker")
	}
	select {
	case got, ok := <-inbox2:
		if ok {
			t.Errorf("subscriber of inbox2 got %q published on another topic", got)
		}
	default:
	}
}

func testFanOut(t *testing.T, f Factory) {
	e := newEnv(t, f)
	a, _ := subscribe(t, e, "conv:cv1")
	b, _ := subscribe(t, e, "conv:cv1")
	must(t, e.s.Publish(e.ctx, "conv:cv1", []byte("hello")), "Publish")
	for name, ch := range map[string]<-chan []byte{"first": a, "second": b} {
		if got := recv(t, ch, name+" subscriber"); string(got) != "hello" {
			t.Errorf("%s subscriber got %q, want %q", name, got, "hello")
		}
	}
}

func testSubscribeCancel(t *testing.T, f Factory) {
	e := newEnv(t, f)
	ch, cancel := subscribe(t, e, "inbox")
	other, _ := subscribe(t, e, "inbox")
	must(t, e.s.Publish(e.ctx, "inbox", []byte("before")), "Publish")
	recv(t, ch, "event before cancel")
	recv(t, other, "event before cancel (other subscriber)")
	cancel()
	deadline := time.After(waitTimeout)
	for closed := false; !closed; {
		select {
		case _, ok := <-ch:
			closed = !ok
		case <-deadline:
			t.Fatalf("subscription channel not closed within %v after its context was cancelled", waitTimeout)
		}
	}
	// The other subscription is unaffected.
	must(t, e.s.Publish(e.ctx, "inbox", []byte("after")), "Publish after cancel")
	if got := recv(t, other, "other subscriber after cancel"); string(got) != "after" {
		t.Errorf("other subscriber got %q, want %q", got, "after")
	}
}

// ---- audit --------------------------------------------------------------

func auditTests() []testCase {
	return []testCase{{"AppendList", testAudit}, {"Query", testAuditQuery}, {"AppendOnce", testAuditAppendOnce}, {"DeleteBefore", testAuditDeleteBefore}}
}

func testAudit(t *testing.T, f Factory) {
	e := newEnv(t, f)
	list, err := e.s.ListAudit(e.ctx, 10)
	must(t, err, "ListAudit on an empty store")
	if len(list) != 0 {
		t.Errorf("ListAudit on an empty store = %+v, want none", list)
	}
	recs := []store.AuditRecord{
		{At: epoch, Actor: "alice", Action: "merge", Target: "cust-1", Detail: "into cust-2"},
		{ID: "given-id", At: epoch.Add(time.Second), Actor: "bob", Action: "channel.phase", Target: "sms", Detail: "live"},
		{At: epoch.Add(2 * time.Second), Actor: "carol", Action: "erase", Target: "cust-3"},
	}
	for _, r := range recs {
		must(t, e.s.AppendAudit(e.ctx, r), "AppendAudit(%s)", r.Action)
	}
	check := func(what string, got, want store.AuditRecord) {
		t.Helper()
		if got.Actor != want.Actor || got.Action != want.Action || got.Target != want.Target || got.Detail != want.Detail ||
			!closeTime(got.At, want.At, time.Millisecond) {
			t.Errorf("%s = %+v, want %+v", what, got, want)
		}
	}
	all, err := e.s.ListAudit(e.ctx, 10)
	must(t, err, "ListAudit(10)")
	if len(all) != 3 {
		t.Fatalf("ListAudit(10) returned %d records, want 3", len(all))
	}
	for i, want := range []store.AuditRecord{recs[2], recs[1], recs[0]} {
		check(fmt.Sprintf("ListAudit(10)[%d] (newest first)", i), all[i], want)
	}
	ids := map[string]bool{}
	for _, r := range all {
		if r.ID == "" {
			t.Errorf("audit record %s has an empty ID; the backend sets it", r.Action)
		}
		if ids[r.ID] {
			t.Errorf("audit ID %q used twice", r.ID)
		}
		ids[r.ID] = true
	}
	if all[1].ID != "given-id" {
		t.Errorf("audit record with a given ID came back with ID %q, want %q", all[1].ID, "given-id")
	}
	two, err := e.s.ListAudit(e.ctx, 2)
	must(t, err, "ListAudit(2)")
	if len(two) != 2 {
		t.Fatalf("ListAudit(2) returned %d records, want 2", len(two))
	}
	check("ListAudit(2)[0]", two[0], recs[2])
	check("ListAudit(2)[1]", two[1], recs[1])
}

// ---- consents -----------------------------------------------------------

func consentTests() []testCase {
	return []testCase{
		{"LatestWins", testConsentsLatest},
		{"Delete", testDeleteConsents},
	}
}

func consentKey(c store.Consent) string { return c.Channel + "/" + c.Purpose }

func listConsents(t *testing.T, e *env, customer string) map[string]store.Consent {
	t.Helper()
	list, err := e.s.ListConsents(e.ctx, customer)
	must(t, err, "ListConsents(%s)", customer)
	m := map[string]store.Consent{}
	for _, c := range list {
		if c.CustomerID != customer {
			t.Errorf("ListConsents(%s) returned a consent of %q", customer, c.CustomerID)
		}
		if _, dup := m[consentKey(c)]; dup {
			t.Errorf("ListConsents(%s) returned %s twice; want the latest decision only", customer, consentKey(c))
		}
		m[consentKey(c)] = c
	}
	return m
}

func testConsentsLatest(t *testing.T, f Factory) {
	e := newEnv(t, f)
	if m := listConsents(t, e, "cust-1"); len(m) != 0 {
		t.Errorf("ListConsents on an empty store = %v, want none", m)
	}
	puts := []store.Consent{
		{CustomerID: "cust-1", Channel: "sms", Purpose: "marketing", Granted: true, Text: "Yes please", Version: "v1", Source: "m_1", At: epoch},
		{CustomerID: "cust-1", Channel: "sms", Purpose: "support", Granted: true, Version: "v1", Source: "m_1", At: epoch},
		{CustomerID: "cust-1", Channel: "email", Purpose: "marketing", Granted: true, Source: "alice", At: epoch.Add(time.Second)},
		{CustomerID: "cust-2", Channel: "sms", Purpose: "marketing", Granted: true, Source: "m_9", At: epoch},
		{CustomerID: "cust-1", Channel: "sms", Purpose: "marketing", Granted: false, Text: "STOP", Version: "v2", Source: "m_2", At: epoch.Add(time.Hour)},
	}
	for _, c := range puts {
		must(t, e.s.PutConsent(e.ctx, c), "PutConsent(%s %s)", c.CustomerID, consentKey(c))
	}
	m := listConsents(t, e, "cust-1")
	want := map[string]store.Consent{"sms/marketing": puts[4], "sms/support": puts[1], "email/marketing": puts[2]}
	if len(m) != len(want) {
		t.Errorf("ListConsents(cust-1) has %d decisions, want %d", len(m), len(want))
	}
	for k, w := range want {
		g, ok := m[k]
		if !ok {
			t.Errorf("ListConsents(cust-1) lacks %s", k)
			continue
		}
		if g.Granted != w.Granted || g.Text != w.Text || g.Version != w.Version || g.Source != w.Source || !closeTime(g.At, w.At, time.Millisecond) {
			t.Errorf("ListConsents(cust-1)[%s] = %+v, want the latest decision %+v", k, g, w)
		}
	}
	m2 := listConsents(t, e, "cust-2")
	if len(m2) != 1 || !m2["sms/marketing"].Granted {
		t.Errorf("ListConsents(cust-2) = %+v, want sms/marketing granted only", m2)
	}
}

func testDeleteConsents(t *testing.T, f Factory) {
	e := newEnv(t, f)
	for _, c := range []store.Consent{
		{CustomerID: "cust-1", Channel: "sms", Purpose: "marketing", Granted: true, At: epoch},
		{CustomerID: "cust-1", Channel: "email", Purpose: "support", Granted: true, At: epoch},
		{CustomerID: "cust-2", Channel: "sms", Purpose: "marketing", Granted: false, At: epoch},
	} {
		must(t, e.s.PutConsent(e.ctx, c), "PutConsent")
	}
	must(t, e.s.DeleteConsents(e.ctx, "cust-1"), "DeleteConsents(cust-1)")
	if m := listConsents(t, e, "cust-1"); len(m) != 0 {
		t.Errorf("ListConsents(cust-1) after DeleteConsents = %v, want none", m)
	}
	if m := listConsents(t, e, "cust-2"); len(m) != 1 {
		t.Errorf("ListConsents(cust-2) after deleting cust-1 = %v, want its one decision", m)
	}
	must(t, e.s.DeleteConsents(e.ctx, "cust-1"), "second DeleteConsents(cust-1)")
	must(t, e.s.DeleteConsents(e.ctx, "never"), "DeleteConsents of a customer without consents")
	// New decisions after erasure are recorded afresh.
	must(t, e.s.PutConsent(e.ctx, store.Consent{CustomerID: "cust-1", Channel: "sms", Purpose: "support", Granted: true, At: epoch.Add(time.Hour)}), "PutConsent after delete")
	if m := listConsents(t, e, "cust-1"); len(m) != 1 || !m["sms/support"].Granted {
		t.Errorf("ListConsents(cust-1) after a new decision = %v, want sms/support only", m)
	}
}

// ---- counters -----------------------------------------------------------

func counterTests() []testCase {
	return []testCase{
		{"Incr", testIncr},
		{"IncrConcurrent", testIncrConcurrent},
		{"GetByPrefix", testGetCounters},
	}
}

func testIncr(t *testing.T, f Factory) {
	e := newEnv(t, f)
	steps := []struct {
		name  string
		delta int64
		want  int64
	}{
		{"rr:sales", 1, 1},
		{"rr:sales", 1, 2},
		{"rr:sales", 10, 12},
		{"rr:sales", -5, 7},
		{"rr:support", -3, -3},
		{"rr:sales", 0, 7},
	}
	for _, s := range steps {
		got, err := e.s.Incr(e.ctx, s.name, s.delta)
		must(t, err, "Incr(%s, %d)", s.name, s.delta)
		if got != s.want {
			t.Errorf("Incr(%s, %d) = %d, want %d", s.name, s.delta, got, s.want)
		}
	}
}

func testIncrConcurrent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	const workers, per = 20, 50
	results := make([][]int64, workers)
	errs := make([]error, workers)
	concurrently(t, workers, func(i int) {
		for range per {
			v, err := e.s.Incr(e.ctx, "rr:team", 1)
			if err != nil {
				errs[i] = err
				return
			}
			results[i] = append(results[i], v)
		}
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("worker %d: Incr: %v", i, err)
		}
	}
	seen := map[int64]bool{}
	for _, r := range results {
		for _, v := range r {
			if seen[v] {
				t.Errorf("Incr returned %d to two callers (not atomic)", v)
			}
			seen[v] = true
		}
	}
	m, err := e.s.GetCounters(e.ctx, "rr:")
	must(t, err, "GetCounters")
	if m["rr:team"] != workers*per {
		t.Errorf("after %d×%d concurrent Incr(1): counter = %d, want %d", workers, per, m["rr:team"], workers*per)
	}
	for v := int64(1); v <= workers*per; v++ {
		if !seen[v] {
			t.Errorf("no Incr call returned %d; want every value 1..%d returned once", v, workers*per)
			break
		}
	}
}

func testGetCounters(t *testing.T, f Factory) {
	e := newEnv(t, f)
	m, err := e.s.GetCounters(e.ctx, "rr:")
	must(t, err, "GetCounters on an empty store")
	if len(m) != 0 {
		t.Errorf("GetCounters on an empty store = %v, want empty", m)
	}
	for name, v := range map[string]int64{"rr:sales": 3, "rr:support": 5, "match:sms:email": 7, "rr": 11, "match:sms:phone": -2} {
		_, err := e.s.Incr(e.ctx, name, v)
		must(t, err, "Incr(%s)", name)
	}
	tests := []struct {
		prefix string
		want   map[string]int64
	}{
		{"rr:", map[string]int64{"rr:sales": 3, "rr:support": 5}},
		{"rr:s", map[string]int64{"rr:sales": 3, "rr:support": 5}},
		{"rr:sa", map[string]int64{"rr:sales": 3}},
		{"rr", map[string]int64{"rr:sales": 3, "rr:support": 5, "rr": 11}},
		{"match:sms:", map[string]int64{"match:sms:email": 7, "match:sms:phone": -2}},
		{"none:", map[string]int64{}},
		{"", map[string]int64{"rr:sales": 3, "rr:support": 5, "match:sms:email": 7, "rr": 11, "match:sms:phone": -2}},
	}
	for _, tc := range tests {
		got, err := e.s.GetCounters(e.ctx, tc.prefix)
		must(t, err, "GetCounters(%q)", tc.prefix)
		if fmt.Sprint(got) != fmt.Sprint(tc.want) {
			t.Errorf("GetCounters(%q) = %v, want %v", tc.prefix, got, tc.want)
		}
	}
}
