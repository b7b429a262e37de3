package redis

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
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

// BenchmarkShortBesideLargeCommands: short commands at an offered rate
// (5,000/s from 64 goroutines, like the accept's XADDs) while a script of
// 1,500 arguments runs every 2 ms (like the search index's flush), through
// the auto-pipeline, with large commands shared (as before h23tail) or
// straight through. Reports the short commands' p50 and p99.
//
//	SWITCHBOARD_TEST_REDIS=127.0.0.1:PORT go test -run '^$' -bench ShortBesideLarge ./store/redis/
func BenchmarkShortBesideLargeCommands(b *testing.B) {
	for _, c := range []struct {
		name string
		max  int
	}{{"shared", 1 << 30}, {"straight", apMaxArgsDefault}} {
		b.Run(c.name, func(b *testing.B) {
			old := apMaxArgs
			apMaxArgs = c.max
			defer func() { apMaxArgs = old }()
			cl := goredis.NewClient(&goredis.Options{Addr: testenv.RedisAddr(), PoolSize: 32})
			if err := cl.Ping(context.Background()).Err(); err != nil {
				testenv.Absent(b, "Redis", err)
			}
			a := newAutoPipeline(cl)
			cl.AddHook(a)
			defer func() { a.close(); cl.Close() }()
			ctx := context.Background()
			rb := make([]byte, 6)
			_, _ = rand.Read(rb)
			prefix := "sbbench:ap:" + hex.EncodeToString(rb) + ":"
			defer func() {
				keys, _ := cl.Keys(ctx, prefix+"*").Result()
				if len(keys) > 0 {
					cl.Del(ctx, keys...)
				}
			}()
			big := goredis.NewScript(`for i = 1, #ARGV do redis.call('ZADD', KEYS[1], i, ARGV[i]) end redis.call('DEL', KEYS[1]) return 1`)
			args := make([]any, 1500)
			for i := range args {
				args[i] = "term" + strconv.Itoa(i) + strings.Repeat("x", 40)
			}
			stop := make(chan struct{})
			var bg sync.WaitGroup
			bg.Add(1)
			go func() {
				defer bg.Done()
				for {
					select {
					case <-stop:
						return
					default:
					}
					_ = big.Run(ctx, cl, []string{prefix + "big"}, args...).Err()
					time.Sleep(2 * time.Millisecond)
				}
			}()
			const senders, rate = 64, 5000
			per := time.Second * senders / rate
			var mu sync.Mutex
			var lat []time.Duration
			b.ResetTimer()
			for range b.N {
				var wg sync.WaitGroup
				for s := range senders {
					wg.Add(1)
					go func() {
						defer wg.Done()
						local := make([]time.Duration, 0, 128)
						next := time.Now().Add(time.Duration(s) * per / senders)
						end := time.Now().Add(2 * time.Second)
						for next.Before(end) {
							time.Sleep(time.Until(next))
							t0 := time.Now()
							_ = cl.Set(ctx, prefix+"s"+strconv.Itoa(s), "v", 0).Err()
							local = append(local, time.Since(t0))
							next = next.Add(per)
						}
						mu.Lock()
						lat = append(lat, local...)
						mu.Unlock()
					}()
				}
				wg.Wait()
			}
			b.StopTimer()
			close(stop)
			bg.Wait()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
