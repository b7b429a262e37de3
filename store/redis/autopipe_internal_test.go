package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/internal/testenv"
)

// slowBigWrites delays every write larger than 16 KiB: a large command that
// takes long to send (or, what the shared pipeline sees the same way, to
// run in Redis).
type slowBigWrites struct {
	net.Conn
	delay time.Duration
}

func (c slowBigWrites) Write(p []byte) (int, error) {
	if len(p) > 16<<10 {
		time.Sleep(c.delay)
	}
	return c.Conn.Write(p)
}

// A short command issued while a large one (a search index flush, a batch
// of audit records) is in flight does not wait for the large one's reply:
// with one shared pipeline in flight it used to, and so did every command
// issued meanwhile (issue 23's tail latency at 5,000 msgs/s).
func TestAutoPipelineShortCommandNotHeldBehindLargeOne(t *testing.T) {
	const delay = 600 * time.Millisecond
	c := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr(),
		Dialer: func(ctx context.Context, network, addr string) (net.Conn, error) {
			conn, err := (&net.Dialer{}).DialContext(ctx, network, addr)
			if err != nil {
				return nil, err
			}
			return slowBigWrites{conn, delay}, nil
		}})
	ctx := context.Background()
	if err := c.Ping(ctx).Err(); err != nil {
		c.Close()
		testenv.Absent(t, "Redis at "+testenv.RedisAddr(), err)
	}
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	prefix := "sbtest:ap:" + hex.EncodeToString(b) + ":"
	a := newAutoPipeline(c)
	c.AddHook(a)
	t.Cleanup(func() {
		a.close()
		keys, _ := c.Keys(ctx, prefix+"*").Result()
		if len(keys) > 0 {
			c.Del(ctx, keys...)
		}
		c.Close()
	})
	// A connection for each command below, opened before either is sent.
	for range 3 {
		if err := c.Ping(ctx).Err(); err != nil {
			t.Fatal(err)
		}
	}

	// 100 fields of 1 KiB: about 100 KiB to send, 202 arguments.
	var pairs []any
	for i := range 100 {
		pairs = append(pairs, "f"+strconv.Itoa(i), strings.Repeat("x", 1024))
	}
	bigDone := make(chan error, 1)
	go func() { bigDone <- c.HSet(ctx, prefix+"big", pairs...).Err() }()
	time.Sleep(100 * time.Millisecond) // the large command is being sent

	start := time.Now()
	if err := c.Set(ctx, prefix+"small", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	took := time.Since(start)
	if err := <-bigDone; err != nil {
		t.Fatal(err)
	}
	if took > delay/2 {
		t.Errorf("a short command took %s while a large one was in flight: it waited for the large one (%s)", took, delay)
	}
	if n, err := c.HLen(ctx, prefix+"big").Result(); err != nil || n != 100 {
		t.Errorf("fields written: %d, %v; want 100", n, err)
	}
}
