package lease

import (
	"context"
	"errors"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Source adapts src to a connectors.Source that runs it on one replica at
// a time: Run takes src's lease (waiting while another replica holds it),
// runs src.RunLeased with a ctx cancelled when the lease is lost, releases
// the lease when RunLeased returns, and takes it again (here or elsewhere).
// After an error it waits without the lease (1s doubling to 1m; reset
// after a run that lasted a minute), so another replica may try its luck.
// Run returns nil when ctx ends.
func (ls *Leases) Source(src connectors.LeasedSource) connectors.Source {
	return &leasedSource{ls: ls, src: src}
}

type leasedSource struct {
	ls  *Leases
	src connectors.LeasedSource
}

func (s *leasedSource) Run(ctx context.Context, sink connectors.Sink) error {
	name, ttl := s.src.LeaseSpec()
	log := s.ls.log.With("lease", name)
	wait := max(min(ttl/3, 5*time.Second), time.Millisecond) // between tries while another replica holds it
	backoff := time.Second                                   // between failed lease calls
	retry := time.Second                                     // after a run that ended in an error
	for ctx.Err() == nil {
		l, err := s.ls.Acquire(ctx, name, ttl)
		switch {
		case errors.Is(err, connectors.ErrLeaseHeld):
			backoff = time.Second
			if connectors.Sleep(ctx, wait) != nil {
				return nil
			}
			continue
		case err != nil:
			if ctx.Err() != nil {
				return nil
			}
			log.Warn("lease not acquired", "err", err, "retry_in", backoff)
			if connectors.Sleep(ctx, backoff) != nil {
				return nil
			}
			backoff = min(2*backoff, time.Minute)
			continue
		}
		backoff = time.Second
		log.Info("lease acquired; source running here", "holder", s.ls.holder, "token", l.Token())
		started := time.Now()
		err = s.runUnder(ctx, sink, l)
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if rerr := l.Release(rctx); rerr != nil {
			log.Warn("lease not released", "err", rerr)
		}
		cancel()
		if ctx.Err() != nil {
			return nil
		}
		lost := false
		select {
		case <-l.Lost():
			lost = err == nil
		default:
		}
		if lost {
			log.Warn("lease lost; source stopped here")
			continue
		}
		if err == nil {
			err = errors.New("source returned while holding its lease")
		}
		if time.Since(started) > time.Minute {
			retry = time.Second
		}
		log.Warn("source ended; waiting without the lease", "err", err, "retry_in", retry)
		if connectors.Sleep(ctx, retry) != nil {
			return nil
		}
		retry = min(2*retry, time.Minute)
	}
	return nil
}

// runUnder runs the source with a ctx cancelled when l is lost.
func (s *leasedSource) runUnder(ctx context.Context, sink connectors.Sink, l connectors.Lease) error {
	lctx, cancel := context.WithCancelCause(ctx)
	defer cancel(nil)
	go func() {
		select {
		case <-l.Lost():
			cancel(connectors.ErrLeaseLost)
		case <-lctx.Done():
		}
	}()
	return s.src.RunLeased(lctx, sink, l)
}
