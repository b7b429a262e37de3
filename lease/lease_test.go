package lease_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/lease"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	"github.com/switchboard-hub/switchboard/store/redis"
)

const name = "email:support"

// backend is a store and the fake clock it judges expiry by.
type backend struct {
	st    store.Store
	clock *store.FakeClock
}

// eachStore runs f on the embedded store and on Redis.
func eachStore(t *testing.T, f func(t *testing.T, b backend)) {
	t.Run("embedded", func(t *testing.T) {
		clock := store.NewFakeClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
		st, err := embedded.Open(t.TempDir(), embedded.Options{Clock: clock.Now})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, backend{st, clock})
	})
	t.Run("redis", func(t *testing.T) {
		c, prefix := testenv.Redis(t)
		clock := store.NewFakeClock(time.Date(2026, 3, 1, 9, 0, 0, 0, time.UTC))
		f(t, backend{redis.New(c, redis.Options{Prefix: prefix, Clock: clock.Now}), clock})
	})
}

// replica is one hub replica's leases on b.
func (b backend) replica(holder string) *lease.Leases {
	return lease.New(b.st, holder, b.clock.Now, nil)
}

func released(t *testing.T, l connectors.Lease) {
	t.Cleanup(func() { l.Release(context.Background()) })
}

func closed(ch <-chan struct{}, within time.Duration) bool {
	select {
	case <-ch:
		return true
	default:
	}
	select {
	case <-ch:
		return true
	case <-time.After(within):
		return false
	}
}

func TestOneHolderAtATime(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		la, err := b.replica("a").Acquire(ctx, name, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		released(t, la)
		if _, err := b.replica("b").Acquire(ctx, name, time.Minute); !errors.Is(err, connectors.ErrLeaseHeld) {
			t.Fatalf("second holder: %v, want ErrLeaseHeld", err)
		}
		if la.Token() <= 0 || la.Name() != name {
			t.Fatalf("lease %q token %d", la.Name(), la.Token())
		}
		if err := la.Renew(ctx); err != nil {
			t.Fatalf("holder renews: %v", err)
		}
		if closed(la.Lost(), 50*time.Millisecond) {
			t.Fatal("the holder's lease reads as lost")
		}
	})
}

func TestReleaseLetsAnotherTakeItAtOnce(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		la, err := b.replica("a").Acquire(ctx, name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		if err := la.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if !closed(la.Lost(), 0) {
			t.Fatal("a released lease is not Lost")
		}
		lb, err := b.replica("b").Acquire(ctx, name, time.Hour) // no clock change
		if err != nil {
			t.Fatalf("after release: %v", err)
		}
		released(t, lb)
		if lb.Token() <= la.Token() {
			t.Fatalf("token %d after %d: the fencing token must grow", lb.Token(), la.Token())
		}
		st := lease.NewState(b.st)
		if err := st.Put(ctx, la, "k", []byte("old")); !errors.Is(err, connectors.ErrLeaseLost) {
			t.Fatalf("put under a released lease: %v", err)
		}
	})
}

// The fencing token: a holder whose lease another replica took over (it
// was paused longer than the TTL) writes nothing, even before its own
// renewals noticed; the put itself finds out, and the lease reads as lost.
func TestStatePutIsFenced(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		st := lease.NewState(b.st)
		if _, err := st.Get(ctx, "email:support:INBOX"); !errors.Is(err, connectors.ErrNoState) {
			t.Fatalf("never written: %v, want ErrNoState", err)
		}
		la, err := b.replica("a").Acquire(ctx, name, time.Hour) // renewals every 20 minutes: none in this test
		if err != nil {
			t.Fatal(err)
		}
		released(t, la)
		if err := st.Put(ctx, la, "email:support:INBOX", []byte(`{"last_uid":1}`)); err != nil {
			t.Fatal(err)
		}
		b.clock.Advance(2 * time.Hour)
		lb, err := b.replica("b").Acquire(ctx, name, time.Hour)
		if err != nil {
			t.Fatal(err)
		}
		released(t, lb)
		if err := st.Put(ctx, lb, "email:support:INBOX", []byte(`{"last_uid":7}`)); err != nil {
			t.Fatal(err)
		}
		if err := st.Put(ctx, la, "email:support:INBOX", []byte(`{"last_uid":2}`)); !errors.Is(err, connectors.ErrLeaseLost) {
			t.Fatalf("put by the old holder: %v, want ErrLeaseLost", err)
		}
		if !closed(la.Lost(), 0) {
			t.Fatal("the old holder's lease is not Lost after the refused put")
		}
		got, err := st.Get(ctx, "email:support:INBOX")
		if err != nil || string(got) != `{"last_uid":7}` {
			t.Fatalf("state %s, %v: the old holder overwrote its successor", got, err)
		}
		// The key is the store's checkpoint key, unchanged.
		if raw, err := b.st.GetCheckpoint(ctx, "email:support:INBOX"); err != nil || string(raw) != string(got) {
			t.Fatalf("checkpoint %s, %v", raw, err)
		}
	})
}

// source is a LeasedSource that records each run.
type source struct {
	ttl  time.Duration
	runs chan run
}

type run struct {
	ctx   context.Context
	lease connectors.Lease
	done  chan struct{}
}

func newSource(ttl time.Duration) *source { return &source{ttl: ttl, runs: make(chan run, 10)} }

func (s *source) LeaseSpec() (string, time.Duration) { return name, s.ttl }

func (s *source) RunLeased(ctx context.Context, sink connectors.Sink, l connectors.Lease) error {
	r := run{ctx: ctx, lease: l, done: make(chan struct{})}
	s.runs <- r
	<-ctx.Done()
	close(r.done)
	return nil
}

func (s *source) next(t *testing.T, within time.Duration) run {
	t.Helper()
	select {
	case r := <-s.runs:
		return r
	case <-time.After(within):
		t.Fatalf("the source did not start within %v", within)
		return run{}
	}
}

func (s *source) none(t *testing.T, during time.Duration) {
	t.Helper()
	select {
	case r := <-s.runs:
		t.Fatalf("the source started (token %d) while another holder had the lease", r.lease.Token())
	case <-time.After(during):
	}
}

// supervise runs src as the hub does, until the test ends.
func supervise(t *testing.T, ls *lease.Leases, src connectors.LeasedSource) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := ls.Source(src).Run(ctx, connectors.SinkFunc(nil)); err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); wg.Wait() }) }
	t.Cleanup(stop)
	return stop
}

// A holder that stops renewing (a crashed replica) keeps the source off
// every other replica until its lease expires on the clock; then another
// replica takes over with a newer token.
func TestTakeoverAfterTheHolderStopsRenewing(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		ttl := 300 * time.Millisecond
		crashed, err := b.st.AcquireLease(ctx, name, "a", ttl) // and never renewed
		if err != nil {
			t.Fatal(err)
		}
		src := newSource(ttl)
		supervise(t, b.replica("b"), src)
		src.none(t, 3*ttl) // real time passes; the store's clock does not
		b.clock.Advance(ttl)
		r := src.next(t, 5*time.Second)
		if r.lease.Token() <= crashed.Token {
			t.Fatalf("token %d after %d", r.lease.Token(), crashed.Token)
		}
		// b keeps it: its renewals hold it while the clock moves on.
		for range 3 {
			time.Sleep(ttl / 2)
			b.clock.Advance(ttl / 2)
		}
		if r.ctx.Err() != nil {
			t.Fatalf("b lost a lease it renews: %v", context.Cause(r.ctx))
		}
	})
}

// A holder whose lease another replica took sees its source's ctx
// cancelled and its state writes refused; when it stops, the other
// replica's source runs at once.
func TestLostLeaseCancelsTheSource(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		ttl := 300 * time.Millisecond
		srcA := newSource(ttl)
		supervise(t, b.replica("a"), srcA)
		ra := srcA.next(t, 5*time.Second)

		// a is paused past its TTL; b takes the lease (a, back, may take it
		// again in between: the clock moves until b holds it).
		var lb connectors.Lease
		for i := 0; lb == nil; i++ {
			b.clock.Advance(2 * ttl)
			l, err := b.replica("b").Acquire(ctx, name, time.Hour)
			switch {
			case err == nil:
				lb = l
			case !errors.Is(err, connectors.ErrLeaseHeld) || i > 50:
				t.Fatalf("acquire: %v", err)
			}
		}
		released(t, lb)
		select {
		case <-ra.done:
		case <-time.After(5 * time.Second):
			t.Fatal("a's source kept running after its lease was lost")
		}
		if !errors.Is(context.Cause(ra.ctx), connectors.ErrLeaseLost) {
			t.Fatalf("cause %v, want ErrLeaseLost", context.Cause(ra.ctx))
		}
		if err := lease.NewState(b.st).Put(ctx, ra.lease, "k", []byte("a")); !errors.Is(err, connectors.ErrLeaseLost) {
			t.Fatalf("a's put after losing the lease: %v", err)
		}
		// a waits while b holds the lease (b renews it; the clock stands).
		for {
			select {
			case r := <-srcA.runs:
				<-r.done // a run that began before b took the lease, lost too
				continue
			case <-time.After(3 * ttl):
			}
			break
		}
		srcA.none(t, 3*ttl)
		// b lets go: a takes it at once.
		if err := lb.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if r := srcA.next(t, 5*time.Second); r.lease.Token() <= lb.Token() {
			t.Fatalf("token %d after %d", r.lease.Token(), lb.Token())
		}
	})
}

// flaky fails renewals while fail is set.
type flaky struct {
	store.Leases
	fail atomic.Bool
}

func (f *flaky) RenewLease(ctx context.Context, name, holder string, token int64, ttl time.Duration) (store.Lease, error) {
	if f.fail.Load() {
		return store.Lease{}, errors.New("store unavailable")
	}
	return f.Leases.RenewLease(ctx, name, holder, token, ttl)
}

// A lease whose renewals fail is kept until its TTL passes on the clock
// since the last successful renewal, then lost: another replica may have it.
func TestFailingRenewalsLoseTheLeaseAtItsDeadline(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		ttl := 300 * time.Millisecond
		f := &flaky{Leases: b.st}
		l, err := lease.New(f, "a", b.clock.Now, nil).Acquire(ctx, name, ttl)
		if err != nil {
			t.Fatal(err)
		}
		released(t, l)
		f.fail.Store(true)
		if closed(l.Lost(), 3*ttl) { // failing renewals, but the clock stands
			t.Fatal("lost before its deadline")
		}
		b.clock.Advance(ttl)
		if !closed(l.Lost(), 5*time.Second) {
			t.Fatal("kept after its deadline passed without a renewal")
		}
	})
}

// The plugin host's poll-style holder: one replica holds; release hands
// it over; a lost lease reads as not held.
func TestHolder(t *testing.T) {
	eachStore(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		ttl := 300 * time.Millisecond
		ha := lease.NewHolder(b.replica("a"), "plugin:tg", ttl)
		hb := lease.NewHolder(b.replica("b"), "plugin:tg", ttl)
		t.Cleanup(func() { ha.Release(ctx); hb.Release(ctx) })
		if ok, err := ha.Hold(ctx); !ok || err != nil {
			t.Fatalf("a: %v %v", ok, err)
		}
		if ok, err := hb.Hold(ctx); ok || err != nil {
			t.Fatalf("b while a holds: %v %v", ok, err)
		}
		if ha.TTL() != ttl {
			t.Fatalf("ttl %v", ha.TTL())
		}
		if err := ha.Release(ctx); err != nil {
			t.Fatal(err)
		}
		if ok, err := hb.Hold(ctx); !ok || err != nil {
			t.Fatalf("b after a released: %v %v", ok, err)
		}
		// b is paused past its TTL and a takes over: b's next poll says so.
		b.clock.Advance(2 * ttl)
		if ok, err := ha.Hold(ctx); !ok || err != nil {
			t.Fatalf("a after b expired: %v %v", ok, err)
		}
		deadline := time.Now().Add(5 * time.Second)
		for {
			ok, err := hb.Hold(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !ok {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("b still holds a lease a took over")
			}
			time.Sleep(20 * time.Millisecond)
		}
	})
}
