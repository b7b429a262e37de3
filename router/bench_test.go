package router_test

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
)

// BenchmarkIngestToTimeline measures sustained throughput of the whole
// inbound path below HTTP: Deliver (durable enqueue) by parallel producers,
// router workers consuming, resolving, threading and appending, until the
// last message is on a timeline. Reported as msgs/s.
func BenchmarkIngestToTimeline(b *testing.B) {
	b.Run("embedded", func(b *testing.B) {
		st, err := embedded.Open(b.TempDir(), embedded.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchPipeline(b, st, nil)
		commits, writes := st.CommitStats()
		b.ReportMetric(float64(writes)/float64(max(commits, 1)), "writes/commit")
		b.ReportMetric(float64(commits)/float64(b.N), "commits/msg")
	})
	b.Run("redis", func(b *testing.B) {
		c, prefix := testenv.Redis(b)
		sent := &sbredis.CommandCounter{}
		c.AddHook(sent)
		st := sbredis.New(c, sbredis.Options{Prefix: prefix, AutoPipeline: os.Getenv("BENCH_NOPIPE") == ""})
		defer st.Close()
		s0 := serverStats(b, c)
		n0, w0 := sent.Sent(), sent.Waits()
		benchPipeline(b, st, func() time.Duration { return redisCPU(b, c) })
		reportServerStats(b, serverStats(b, c).Sub(s0), sent.Sent()-n0)
		if os.Getenv("BENCH_MEMORY") != "" {
			logMemoryByFamily(b, c, prefix)
		}
		// Round trips the hub's callers waited for (a command alone or a
		// pipeline each; the queue's reads and acks are shared by many).
		b.ReportMetric(float64(sent.Waits()-w0)/float64(b.N), "waits/msg")
	})
}

// benchPipeline also reports CPU time per message: the benchmark process's
// own (hub side: producers and router) and, when serverCPU is given, the
// server's. CPU time is steadier than wall time on a shared machine, and it
// says what a message costs: on a machine of C cores, C / (hub + server CPU
// per message) is the ceiling on throughput.
func benchPipeline(b *testing.B, st store.Store, serverCPU func() time.Duration) {
	dir := directory.New(st, []directory.Channel{{Name: "api", Type: "api", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
	m := router.NewMetrics(nil)
	rt := router.New(st, dir, router.Options{Workers: benchWorkers(), Metrics: m, Routing: router.Routing{Teams: []string{"support"}}, NoFigures: benchNoFigures})
	in := router.NewIngest(st, dir, "FI", store.SystemClock, m)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { rt.Run(ctx); close(done) }()
	defer func() { cancel(); <-done }()

	var seq atomic.Int64
	run := fmt.Sprint(time.Now().UnixNano())
	b.SetParallelism(8)
	b.ResetTimer()
	start := time.Now()
	cpu0 := processCPU()
	var srv0 time.Duration
	if serverCPU != nil {
		srv0 = serverCPU()
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1)
			_, err := in.Deliver(ctx, connectors.Message{Channel: "api", ProviderID: fmt.Sprintf("%s-%d", run, n),
				Identities: []connectors.Identity{{Type: "email", Value: fmt.Sprintf("bench%d@example.com", n%5000)}},
				Text:       "benchmark message with a typical short body of about eighty characters......"})
			if err != nil {
				b.Error(err)
				return
			}
		}
	})
	for {
		if testutil.ToFloat64(m.Processed.WithLabelValues("api"))+testutil.ToFloat64(m.Deduped.WithLabelValues("api")) >= float64(b.N) {
			break
		}
		time.Sleep(time.Millisecond)
	}
	el := time.Since(start)
	hubCPU := processCPU() - cpu0
	if serverCPU != nil {
		b.ReportMetric(float64((serverCPU()-srv0).Microseconds())/float64(b.N), "server-cpu-µs/msg")
	}
	b.ReportMetric(float64(hubCPU.Microseconds())/float64(b.N), "hub-cpu-µs/msg")
	b.StopTimer()
	b.ReportMetric(float64(b.N)/el.Seconds(), "msgs/s")
	b.ReportMetric(testutil.ToFloat64(m.Processed.WithLabelValues("api")), "processed")
}

// benchWorkers is the router's worker count in benchmarks ($BENCH_WORKERS, default 16).
func benchWorkers() int {
	var n int
	if _, err := fmt.Sscan(os.Getenv("BENCH_WORKERS"), &n); err != nil || n <= 0 {
		return 16
	}
	return n
}

// processCPU is this process's user+system CPU time so far.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// redisCPU is the Redis server's user+system CPU time so far (INFO cpu; the
// first node's on a Cluster).
func redisCPU(b *testing.B, c goredis.UniversalClient) time.Duration {
	info, err := c.Info(context.Background(), "cpu").Result()
	if err != nil {
		b.Fatal(err)
	}
	var total float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if ok && (k == "used_cpu_sys" || k == "used_cpu_user") {
			f, _ := strconv.ParseFloat(v, 64)
			total += f
		}
	}
	return time.Duration(total * float64(time.Second))
}

func serverStats(b *testing.B, c goredis.UniversalClient) sbredis.ServerStats {
	s, err := sbredis.ReadServerStats(context.Background(), c)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// reportServerStats reports, per message, the commands the hub sent
// (client-side count), every command Redis ran (INFO commandstats, which
// counts the commands inside scripts too), the bytes the hub wrote to
// Redis and the growth of Redis's memory; the breakdown goes to the log.
func reportServerStats(b *testing.B, d sbredis.ServerStats, sent int64) {
	n := float64(b.N)
	b.ReportMetric(float64(sent)/n, "sent-cmds/msg")
	b.ReportMetric(float64(d.Commands())/n, "redis-cmds/msg")
	b.ReportMetric(float64(d.InputBytes)/n, "B-written/msg")
	b.ReportMetric(float64(d.UsedMemory)/n, "B-memory/msg")
	b.Logf("per message (N=%d): %s", b.N, d.PerMessage(b.N))
}

// logMemoryByFamily logs MEMORY USAGE of the benchmark's keys per key
// family, per message ($BENCH_MEMORY): where a message's Redis memory
// goes.
func logMemoryByFamily(b *testing.B, c goredis.UniversalClient, prefix string) {
	fams, err := sbredis.MemoryByFamily(context.Background(), c, prefix+":*")
	if err != nil {
		b.Fatal(err)
	}
	b.Logf("%s", sbredis.FormatFamilies(fams, b.N))
}
