package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	sbredis "github.com/switchboard-hub/switchboard/store/redis"
)

// costMeter reads what a load run cost per message (issue 23): the hub's
// CPU (process_cpu_seconds_total from its /metrics) and, given the hub's
// Redis, the server's commands, bytes written to it, CPU and memory (INFO
// deltas). Every figure is read before and after the run; nothing is
// estimated.
type costMeter struct {
	c      *client
	rc     goredis.UniversalClient // nil: no Redis given
	hub0   float64
	hubOK  bool
	redis0 sbredis.ServerStats
}

func newCostMeter(ctx context.Context, c *client, redisAddrs string) (*costMeter, error) {
	m := &costMeter{c: c}
	m.hub0, m.hubOK = hubCPU(ctx, c)
	if redisAddrs == "" {
		return m, nil
	}
	var addrs []string
	for _, a := range strings.Split(redisAddrs, ",") {
		if a = strings.TrimSpace(a); a != "" {
			addrs = append(addrs, a)
		}
	}
	opts := &goredis.UniversalOptions{Addrs: addrs}
	if len(addrs) > 1 {
		opts.IsClusterMode = true
	}
	m.rc = goredis.NewUniversalClient(opts)
	var err error
	if m.redis0, err = sbredis.ReadServerStats(ctx, m.rc); err != nil {
		m.rc.Close()
		return nil, fmt.Errorf("--redis %s: %w", redisAddrs, err)
	}
	return m, nil
}

func (m *costMeter) close() {
	if m.rc != nil {
		m.rc.Close()
	}
}

// report prints the cost per message of the n messages that reached a
// timeline since the meter was made.
func (m *costMeter) report(ctx context.Context, w io.Writer, n int) {
	if n <= 0 {
		return
	}
	if cpu, ok := hubCPU(ctx, m.c); ok && m.hubOK {
		fmt.Fprintf(w, "hub CPU per message: %.0f µs (process_cpu_seconds_total)\n", (cpu-m.hub0)/float64(n)*1e6)
	}
	if m.rc == nil {
		return
	}
	s, err := sbredis.ReadServerStats(ctx, m.rc)
	if err != nil {
		fmt.Fprintf(w, "redis: %v\n", err)
		return
	}
	fmt.Fprintf(w, "redis per message: %s\n", s.Sub(m.redis0).PerMessage(n))
}

// families prints the MEMORY USAGE of the Redis's keys per key family,
// per message of n (--redis-memory).
func (m *costMeter) families(ctx context.Context, w io.Writer, n int) {
	if m.rc == nil || n <= 0 {
		return
	}
	fams, err := sbredis.MemoryByFamily(ctx, m.rc, "*")
	if err != nil {
		fmt.Fprintf(w, "redis memory by family: %v\n", err)
		return
	}
	fmt.Fprint(w, sbredis.FormatFamilies(fams, n))
}

// hubCPU is the hub's process_cpu_seconds_total; false when its /metrics
// does not answer with it.
func hubCPU(ctx context.Context, c *client) (float64, bool) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", strings.TrimRight(c.base, "/")+"/metrics", nil)
	if err != nil {
		return 0, false
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, false
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, false
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "process_cpu_seconds_total "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			return f, err == nil
		}
	}
	return 0, false
}
