package router

import (
	"context"
	"log/slog"
	"time"
)

// persist calls f until it succeeds or ctx ends, waiting 50 ms, doubling up
// to 1 s, between tries. It is for the writes that finish a queue item
// (ack, retry, the status of a reply already sent): when the store does not
// answer (Redis down or restarting), giving up would leave the item pending
// with this live consumer, where nobody takes it before claim_after, or
// would send a reply twice. It returns f's last error only if ctx ended.
func persist(ctx context.Context, log *slog.Logger, what string, f func() error) error {
	for wait := 50 * time.Millisecond; ; wait = min(2*wait, time.Second) {
		err := f()
		if err == nil || ctx.Err() != nil {
			return err
		}
		log.Warn(what+" failed; trying again", "err", err)
		if !sleep(ctx, wait) {
			return err
		}
	}
}

// sleep waits d or until ctx ends; it reports whether the wait completed.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}
