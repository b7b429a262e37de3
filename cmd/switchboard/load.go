package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// load is the project's load generator: it pushes messages into a running
// hub's api channel at a fixed offered rate (or as fast as it can) and
// measures, per message, the time from sending the request to the
// entry.created event arriving over server-sent events: the whole
// ingest → queue → router → timeline → realtime path.
func load(args []string, w io.Writer) error {
	fs := flag.NewFlagSet("load", flag.ContinueOnError)
	channel := fs.String("channel", "api", "api channel to post to")
	rate := fs.Int("rate", 0, "offered messages per second (0: as fast as possible)")
	dur := fs.Duration("duration", 10*time.Second, "how long to send")
	conc := fs.Int("concurrency", 64, "concurrent HTTP requests")
	customers := fs.Int("customers", 1000, "distinct senders")
	settle := fs.Duration("settle", 30*time.Second, "how long to wait for the last timeline events")
	c, _, err := newClient(fs, args)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr := &http.Transport{MaxIdleConnsPerHost: *conc * 2, MaxConnsPerHost: *conc * 2}
	hc := &http.Client{Transport: tr, Timeout: 30 * time.Second}

	var mu sync.Mutex
	sent := map[string]time.Time{}
	var e2e []time.Duration
	var accepted, failed, seen atomic.Int64
	pending := map[string]time.Time{} // events that came before the 202 was read

	// Subscribe first so no event is missed.
	req, _ := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(c.base, "/")+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return fmt.Errorf("subscribe to events: %w", err)
	}
	if resp.StatusCode != 200 {
		return fmt.Errorf("subscribe to events: %s", resp.Status)
	}
	go func() {
		defer resp.Body.Close()
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := sc.Text()
			data, ok := strings.CutPrefix(line, "data: ")
			if !ok {
				continue
			}
			var ev struct {
				Type    string `json:"type"`
				EntryID string `json:"entry_id"`
			}
			if json.Unmarshal([]byte(data), &ev) != nil || ev.Type != "entry.created" {
				continue
			}
			now := time.Now()
			mu.Lock()
			if t, ok := sent[ev.EntryID]; ok {
				e2e = append(e2e, now.Sub(t))
				delete(sent, ev.EntryID)
				seen.Add(1)
			} else {
				pending[ev.EntryID] = now
			}
			mu.Unlock()
		}
	}()

	run := fmt.Sprintf("%x", time.Now().UnixNano())
	jobs := make(chan int, *conc*4)
	var accLat []time.Duration
	var wg sync.WaitGroup
	for i := 0; i < *conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local []time.Duration
			for n := range jobs {
				body, _ := json.Marshal(map[string]any{
					"external_id": fmt.Sprintf("load-%s-%d", run, n),
					"sender":      map[string]string{"email": fmt.Sprintf("load%d@example.com", n%*customers)},
					"text":        fmt.Sprintf("load test message %d", n),
				})
				r, _ := http.NewRequest("POST", strings.TrimRight(c.base, "/")+"/api/v1/channels/"+*channel+"/messages", bytes.NewReader(body))
				r.Header.Set("Authorization", "Bearer "+c.token)
				r.Header.Set("Content-Type", "application/json")
				t0 := time.Now()
				resp, err := hc.Do(r)
				if err != nil {
					failed.Add(1)
					continue
				}
				var out struct{ ID string }
				_ = json.NewDecoder(resp.Body).Decode(&out)
				resp.Body.Close()
				if resp.StatusCode != http.StatusAccepted {
					failed.Add(1)
					continue
				}
				local = append(local, time.Since(t0))
				accepted.Add(1)
				mu.Lock()
				if at, ok := pending[out.ID]; ok {
					e2e = append(e2e, at.Sub(t0))
					delete(pending, out.ID)
					seen.Add(1)
				} else {
					sent[out.ID] = t0
				}
				mu.Unlock()
			}
			mu.Lock()
			accLat = append(accLat, local...)
			mu.Unlock()
		}()
	}
	start := time.Now()
	n := 0
	if *rate > 0 {
		interval := time.Second / time.Duration(*rate)
		next := start
		for time.Since(start) < *dur {
			next = next.Add(interval)
			if d := time.Until(next); d > 0 {
				time.Sleep(d)
			}
			jobs <- n
			n++
		}
	} else {
		for time.Since(start) < *dur {
			jobs <- n
			n++
		}
	}
	close(jobs)
	wg.Wait()
	sendTime := time.Since(start)
	deadline := time.Now().Add(*settle)
	for seen.Load() < accepted.Load() && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	total := time.Since(start)
	cancel()
	mu.Lock()
	defer mu.Unlock()
	slices.Sort(e2e)
	slices.Sort(accLat)
	fmt.Fprintf(w, "offered:   %d messages in %s (%.0f/s)\n", n, sendTime.Round(time.Millisecond), float64(n)/sendTime.Seconds())
	fmt.Fprintf(w, "accepted:  %d (%.0f/s), failed: %d\n", accepted.Load(), float64(accepted.Load())/sendTime.Seconds(), failed.Load())
	fmt.Fprintf(w, "on timeline: %d of %d (%.0f/s over %s)\n", seen.Load(), accepted.Load(), float64(seen.Load())/total.Seconds(), total.Round(time.Millisecond))
	fmt.Fprintf(w, "accept latency:   p50 %s  p99 %s\n", pct(accLat, 50), pct(accLat, 99))
	fmt.Fprintf(w, "end-to-end latency (POST → entry.created event): p50 %s  p99 %s  max %s\n", pct(e2e, 50), pct(e2e, 99), pct(e2e, 100))
	if seen.Load() < accepted.Load() {
		return fmt.Errorf("%d accepted messages did not reach a timeline within %s", accepted.Load()-seen.Load(), *settle)
	}
	return nil
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (len(d)*p + 99) / 100
	i = min(max(i-1, 0), len(d)-1)
	return d[i].Round(10 * time.Microsecond)
}
