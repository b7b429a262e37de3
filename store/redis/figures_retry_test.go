package redis_test

import (
	"bytes"
	"context"
	"io"
	"net"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
)

// slowReplyProxy forwards to Redis and holds back, once, the reply to the
// first request that contains marker until after the client's read
// timeout: the write is applied, its reply is lost, and go-redis retries.
func slowReplyProxy(t *testing.T, target string, marker []byte, hold time.Duration) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	var once atomic.Bool
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			var hit atomic.Bool
			go func() {
				defer s.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := c.Read(buf)
					if n > 0 {
						if bytes.Contains(buf[:n], marker) && once.CompareAndSwap(false, true) {
							hit.Store(true)
						}
						if _, werr := s.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						return
					}
				}
			}()
			go func() {
				defer c.Close()
				buf := make([]byte, 64<<10)
				for {
					n, err := s.Read(buf)
					if n > 0 {
						if hit.Load() {
							time.Sleep(hold)
						}
						if _, werr := c.Write(buf[:n]); werr != nil {
							return
						}
					}
					if err != nil {
						if err != io.EOF {
							return
						}
						return
					}
				}
			}()
		}
	}()
	return l.Addr().String()
}

// TestAddFiguresReplyLost: a figure write whose reply times out is retried
// by go-redis (MaxRetries), and the retry must not count again; nor must
// the caller's own retry with the same write id.
func TestAddFiguresReplyLost(t *testing.T) {
	_, prefix := testenv.Redis(t)
	addr := slowReplyProxy(t, testenv.RedisAddr(), []byte("retried-channel"), 400*time.Millisecond)
	c := goredis.NewClient(&goredis.Options{Addr: addr, ReadTimeout: 150 * time.Millisecond, MaxRetries: 3,
		MinRetryBackoff: time.Millisecond, MaxRetryBackoff: 2 * time.Millisecond})
	defer c.Close()
	st := sbredis.New(c, sbredis.Options{Prefix: prefix})
	defer st.Close()
	ctx := context.Background()
	add := store.FigureAdd{Channel: "retried-channel", Day: "2026-12-06", Counts: map[string]int64{"conversations": 1}}
	if err := st.AddFigures(ctx, add); err != nil {
		t.Fatalf("add: %v (the proxy should only delay one reply)", err)
	}
	cells := []store.FigureDayPhase{{Day: "2026-12-06"}}
	sum, _, err := st.SumFigures(ctx, "retried-channel", cells, nil)
	if err != nil || sum["conversations"] != 1 {
		t.Fatalf("after a lost reply and the client's retry: %v %v, want 1", sum, err)
	}
	// The caller's retry of a write id it did not learn the outcome of.
	add = store.FigureAdd{Channel: "other", Day: "2026-12-06", Counts: map[string]int64{"conversations": 2}, ID: "flush-1"}
	for range 2 {
		if err := st.AddFigures(ctx, add); err != nil {
			t.Fatal(err)
		}
	}
	add.ID = "flush-2"
	if err := st.AddFigures(ctx, add); err != nil {
		t.Fatal(err)
	}
	if sum, _, err := st.SumFigures(ctx, "other", cells, nil); err != nil || sum["conversations"] != 4 {
		t.Fatalf("two writes, one replayed: %v %v, want 4", sum, err)
	}
}
