package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// ---- provider ids: hash {p:CHANNEL:ID}:provider (entry, customer), listed
// in the customer's set {c:ID}:providers ----
//
// The set member is written before the record, so a record always has its
// member and erasure (DeleteEntries) finds it; a member whose record is gone
// or belongs to another customer is only skipped.

func providerMember(channel, providerID string) string { return channel + "\x00" + providerID }

func (s *Store) PutProviderID(ctx context.Context, channel, providerID, customerID, entryID string) error {
	if err := s.c.SAdd(ctx, s.k.customerProviders(customerID), providerMember(channel, providerID)).Err(); err != nil {
		return fmt.Errorf("store/redis: list provider id %s/%s of customer %s: %w", channel, providerID, customerID, err)
	}
	if err := s.c.HSet(ctx, s.k.providerID(channel, providerID), "entry", entryID, "customer", customerID).Err(); err != nil {
		return fmt.Errorf("store/redis: put provider id %s/%s: %w", channel, providerID, err)
	}
	return nil
}

func (s *Store) GetProviderID(ctx context.Context, channel, providerID string) (string, error) {
	id, err := s.c.HGet(ctx, s.k.providerID(channel, providerID), "entry").Result()
	if isNil(err) {
		id, err = s.c.Get(ctx, s.k.checkpoint(store.LegacyProviderIDCheckpoint(channel, providerID))).Result()
	}
	if isNil(err) {
		return "", store.ErrNotFound
	}
	if err != nil {
		return "", fmt.Errorf("store/redis: get provider id %s/%s: %w", channel, providerID, err)
	}
	return id, nil
}

func (s *Store) DeleteProviderID(ctx context.Context, channel, providerID string) error {
	k := s.k.providerID(channel, providerID)
	cust, err := s.c.HGet(ctx, k, "customer").Result()
	if isNil(err) {
		return nil
	}
	if err == nil {
		err = providerDel.Run(ctx, s.c, []string{k}, cust).Err()
	}
	if err == nil {
		err = s.c.SRem(ctx, s.k.customerProviders(cust), providerMember(channel, providerID)).Err()
	}
	if err != nil {
		return fmt.Errorf("store/redis: delete provider id %s/%s: %w", channel, providerID, err)
	}
	return nil
}

// deleteCustomerProviderIDs removes the provider-id records of the
// customer (for DeleteEntries): the records first, then their members, so
// a failure midway leaves every remaining record findable for a retry.
func (s *Store) deleteCustomerProviderIDs(ctx context.Context, customerID string) error {
	set := s.k.customerProviders(customerID)
	members, err := s.c.SMembers(ctx, set).Result()
	if err != nil {
		return fmt.Errorf("store/redis: list provider ids of customer %s: %w", customerID, err)
	}
	for start := 0; start < len(members); start += 500 {
		batch := members[start:min(start+500, len(members))]
		_, err := s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
			for _, m := range batch {
				channel, providerID, _ := strings.Cut(m, "\x00")
				providerDel.Eval(ctx, p, []string{s.k.providerID(channel, providerID)}, customerID)
			}
			return nil
		})
		if err != nil {
			return fmt.Errorf("store/redis: delete provider ids of customer %s: %w", customerID, err)
		}
		if err := s.c.SRem(ctx, set, toAny(batch)...).Err(); err != nil {
			return fmt.Errorf("store/redis: delete provider ids of customer %s: %w", customerID, err)
		}
	}
	return nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, v := range ss {
		out[i] = v
	}
	return out
}

// ---- sign-in sessions: string {sessions}:key, hash {sessions}:epochs ----

func (s *Store) GetOrCreateSessionKey(ctx context.Context, key []byte) ([]byte, error) {
	if len(key) == 0 {
		return nil, fmt.Errorf("store/redis: session key: empty key")
	}
	cur, _, err := s.createIfAbsent(ctx, s.k.sessionKey(), string(key))
	if err != nil {
		return nil, fmt.Errorf("store/redis: session key: %w", err)
	}
	return []byte(cur), nil
}

func (s *Store) SessionEpoch(ctx context.Context, agent string) (int64, error) {
	raw, err := s.c.HGet(ctx, s.k.sessionEpochs(), agent).Result()
	if isNil(err) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("store/redis: session epoch of %s: %w", agent, err)
	}
	n, err := strconv.ParseInt(raw, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("store/redis: session epoch of %s: corrupt value %q", agent, raw)
	}
	return n, nil
}

func (s *Store) BumpSessionEpoch(ctx context.Context, agent string) (int64, error) {
	n, err := s.c.HIncrBy(ctx, s.k.sessionEpochs(), agent, 1).Result()
	if err != nil {
		return 0, fmt.Errorf("store/redis: bump session epoch of %s: %w", agent, err)
	}
	return n, nil
}
