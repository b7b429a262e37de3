package redis

import (
	"context"
	"fmt"
	"time"
)

// ---- single-use ids: string {sessions}:once:ID, expiring after its ttl ----

func (s *Store) UseOnce(ctx context.Context, id string, ttl time.Duration) (bool, error) {
	if ttl < time.Millisecond {
		ttl = time.Millisecond
	}
	ok, err := s.c.SetNX(ctx, s.k.key("sessions", "once:"+esc(id)), "1", ttl).Result()
	if err != nil {
		return false, fmt.Errorf("store/redis: use once: %w", err)
	}
	return ok, nil
}
