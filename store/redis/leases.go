package redis

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// A lease is a hash {l:NAME}:lease (holder, token, exp as padded ns of the
// injected clock); its fencing token comes from INCR on {l:NAME}:fence, which
// is never deleted, so tokens increase forever.

func (s *Store) AcquireLease(ctx context.Context, name, holder string, ttl time.Duration) (_ store.Lease, err error) {
	defer opErr(&err, "acquire lease", name)
	now := s.now()
	r, err := leaseAcquire.Run(ctx, s.c, []string{s.k.lease(name), s.k.leaseSeq(name)},
		holder, nanos(now), nanos(now.Add(ttl))).Slice()
	if err != nil {
		return store.Lease{}, err
	}
	if len(r) != 4 {
		return store.Lease{}, fmt.Errorf("store/redis: unexpected lease reply %v", r)
	}
	h, _ := r[1].(string)
	ts, _ := r[2].(string)
	exp, _ := r[3].(string)
	tok, _ := strconv.ParseInt(ts, 10, 64)
	l := store.Lease{Name: name, Holder: h, Token: tok, ExpiresAt: parseNanos(exp)}
	if ok, _ := r[0].(int64); ok != 1 {
		return l, store.ErrLeaseHeld
	}
	return l, nil
}

func (s *Store) RenewLease(ctx context.Context, name, holder string, token int64, ttl time.Duration) (_ store.Lease, err error) {
	defer opErr(&err, "renew lease", name)
	now := s.now()
	exp := now.Add(ttl)
	ok, err := leaseRenew.Run(ctx, s.c, []string{s.k.lease(name)},
		holder, strconv.FormatInt(token, 10), nanos(now), nanos(exp)).Int()
	if err != nil {
		return store.Lease{}, err
	}
	if ok != 1 {
		return store.Lease{}, store.ErrLeaseHeld
	}
	return store.Lease{Name: name, Holder: holder, Token: token, ExpiresAt: parseNanos(nanos(exp))}, nil
}

func (s *Store) ReleaseLease(ctx context.Context, name, holder string, token int64) (err error) {
	defer opErr(&err, "release lease", name)
	return leaseRelease.Run(ctx, s.c, []string{s.k.lease(name)}, holder, strconv.FormatInt(token, 10)).Err()
}
