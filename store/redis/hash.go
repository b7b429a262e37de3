package redis

import (
	"context"

	"github.com/switchboard-hub/switchboard/store"
)

// Records kept as JSON values of one hash, field → record.

// hashRecord reads one record; store.ErrNotFound when the field is absent.
func hashRecord[T any](ctx context.Context, s *Store, key, field string) (T, error) {
	var v T
	raw, err := s.c.HGet(ctx, key, field).Result()
	if isNil(err) {
		return v, store.ErrNotFound
	}
	if err != nil {
		return v, err
	}
	return v, unmarshal(raw, &v)
}

// hashRecords HMGETs fields in order, skipping the missing ones.
func hashRecords[T any](ctx context.Context, s *Store, key string, fields []string) ([]T, error) {
	if len(fields) == 0 {
		return nil, nil
	}
	raws, err := s.c.HMGet(ctx, key, fields...).Result()
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(raws))
	for _, r := range raws {
		str, ok := r.(string)
		if !ok {
			continue
		}
		var v T
		if err := unmarshal(str, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// hashValues reads every record of the hash, in no particular order.
func hashValues[T any](ctx context.Context, s *Store, key string) ([]T, error) {
	all, err := s.c.HGetAll(ctx, key).Result()
	if err != nil {
		return nil, err
	}
	out := make([]T, 0, len(all))
	for _, raw := range all {
		var v T
		if err := unmarshal(raw, &v); err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}
