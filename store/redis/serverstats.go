package redis

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// ServerStats is what the Redis server says it has done so far (summed over
// a Cluster's masters): the calls per command (INFO commandstats; a
// script's or function's inner commands count under their own names too,
// flagged by InnerCommands), the bytes it has read from clients, its CPU
// time and its memory. Two readings taken around a run give the cost of a
// message on the server side (issue 23): Sub, then divide by the messages.
type ServerStats struct {
	Calls      map[string]int64 // command name (lower case, "xadd", "fcall") → calls
	InputBytes int64            // total_net_input_bytes: what clients wrote
	CPU        time.Duration    // used_cpu_user + used_cpu_sys
	UsedMemory int64            // used_memory
}

// ReadServerStats reads c's server statistics (every master of a Cluster).
func ReadServerStats(ctx context.Context, c goredis.UniversalClient) (ServerStats, error) {
	out := ServerStats{Calls: map[string]int64{}}
	var mu sync.Mutex
	read := func(ctx context.Context, n *goredis.Client) error {
		info, err := n.Info(ctx, "commandstats", "stats", "cpu", "memory").Result()
		if err != nil {
			return err
		}
		one, err := parseServerStats(info)
		if err != nil {
			return err
		}
		mu.Lock()
		defer mu.Unlock()
		out.add(one, 1)
		return nil
	}
	var err error
	switch cc := c.(type) {
	case *goredis.ClusterClient:
		err = cc.ForEachMaster(ctx, read)
	case *goredis.Client:
		err = read(ctx, cc)
	default:
		return out, fmt.Errorf("server stats: unsupported client %T", c)
	}
	return out, err
}

// parseServerStats reads the fields ServerStats keeps from an INFO reply.
func parseServerStats(info string) (ServerStats, error) {
	s := ServerStats{Calls: map[string]int64{}}
	var cpu float64
	for _, line := range strings.Split(info, "\n") {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ":")
		if !ok {
			continue
		}
		switch {
		case strings.HasPrefix(k, "cmdstat_"):
			// cmdstat_xadd:calls=3,usec=12,...
			calls, _, _ := strings.Cut(strings.TrimPrefix(v, "calls="), ",")
			n, err := strconv.ParseInt(calls, 10, 64)
			if err != nil {
				return s, fmt.Errorf("server stats: bad %s line %q", k, line)
			}
			s.Calls[strings.TrimPrefix(k, "cmdstat_")] = n
		case k == "total_net_input_bytes":
			s.InputBytes, _ = strconv.ParseInt(v, 10, 64)
		case k == "used_memory":
			s.UsedMemory, _ = strconv.ParseInt(v, 10, 64)
		case k == "used_cpu_user" || k == "used_cpu_sys":
			f, _ := strconv.ParseFloat(v, 64)
			cpu += f
		}
	}
	s.CPU = time.Duration(cpu * float64(time.Second))
	return s, nil
}

func (s *ServerStats) add(o ServerStats, sign int64) {
	for k, v := range o.Calls {
		s.Calls[k] += sign * v
	}
	s.InputBytes += sign * o.InputBytes
	s.CPU += time.Duration(sign) * o.CPU
	s.UsedMemory += sign * o.UsedMemory
}

// Sub is s minus an earlier reading: what happened in between.
func (s ServerStats) Sub(earlier ServerStats) ServerStats {
	d := ServerStats{Calls: map[string]int64{}}
	d.add(s, 1)
	d.add(earlier, -1)
	for k, v := range d.Calls {
		if v == 0 || k == "info" {
			delete(d.Calls, k) // the readings' own INFO calls are not the run's
		}
	}
	return d
}

// Commands is the number of commands the server ran: those clients sent
// and those scripts and functions ran inside (commandstats counts both;
// a client-side count, such as CountCommands, tells them apart).
func (s ServerStats) Commands() int64 {
	var n int64
	for _, v := range s.Calls {
		n += v
	}
	return n
}

// PerMessage formats the delta s over n messages: commands per message and
// the largest few by name, bytes clients wrote, server CPU and memory.
func (s ServerStats) PerMessage(n int) string {
	if n <= 0 {
		return "no messages"
	}
	type kv struct {
		k string
		v int64
	}
	var all []kv
	for k, v := range s.Calls {
		all = append(all, kv{k, v})
	}
	slices.SortFunc(all, func(a, b kv) int {
		if a.v != b.v {
			return int(b.v - a.v)
		}
		return strings.Compare(a.k, b.k)
	})
	var parts []string
	for _, e := range all {
		if float64(e.v)/float64(n) < 0.05 {
			continue
		}
		parts = append(parts, fmt.Sprintf("%s %.2f", e.k, float64(e.v)/float64(n)))
	}
	f := float64(n)
	return fmt.Sprintf("%.2f commands/msg (%s); %.0f B written/msg; %.1f µs Redis CPU/msg; %.0f B memory/msg",
		float64(s.Commands())/f, strings.Join(parts, ", "), float64(s.InputBytes)/f,
		float64(s.CPU.Microseconds())/f, float64(s.UsedMemory)/f)
}

// CommandCounter counts the commands a client sends (each command of a
// pipeline once); add it with c.AddHook. Unlike INFO commandstats it does
// not count what scripts run inside, so it is the client's side of the
// work: what travels, what the server parses.
type CommandCounter struct{ n, w atomic.Int64 }

// Sent is the number of commands sent so far.
func (cc *CommandCounter) Sent() int64 { return cc.n.Load() }

// Waits is the number of times a caller waited for the server so far: one
// per command sent alone, one per pipeline (the auto-pipeline's shared
// pipelines are not counted: each caller in them waited once already).
func (cc *CommandCounter) Waits() int64 { return cc.w.Load() }

func (cc *CommandCounter) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (cc *CommandCounter) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		cc.n.Add(1)
		cc.w.Add(1)
		return next(ctx, cmd)
	}
}

func (cc *CommandCounter) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		if ctx.Value(apInternal{}) == nil { // the auto-pipeline's own: counted when issued
			cc.n.Add(int64(len(cmds)))
			cc.w.Add(1)
		}
		return next(ctx, cmds)
	}
}

// FamilyMemory is what MEMORY USAGE says the keys of one key family take.
type FamilyMemory struct {
	Family string // the key without its prefix, its hash tag's data replaced by its kind: {c:*}:entries, {e:*}:owner
	Keys   int64
	Bytes  int64
}

// MemoryByFamily sums MEMORY USAGE (every element counted: SAMPLES 0) of
// the keys matching pattern, per key family, largest first (on every
// master of a Cluster): where the hub's Redis memory goes (issue 23). It
// reads every key: for a benchmark's or a load run's server, not a
// production one.
func MemoryByFamily(ctx context.Context, c goredis.UniversalClient, pattern string) ([]FamilyMemory, error) {
	var mu sync.Mutex
	fams := map[string]*FamilyMemory{}
	scan := func(ctx context.Context, n *goredis.Client) error {
		iter := n.Scan(ctx, 0, pattern, 1000).Iterator()
		var batch []string
		flush := func() error {
			cmds, err := n.Pipelined(ctx, func(p goredis.Pipeliner) error {
				for _, k := range batch {
					p.MemoryUsage(ctx, k, 0)
				}
				return nil
			})
			if err != nil && !isNil(err) {
				return err
			}
			mu.Lock()
			defer mu.Unlock()
			for i, k := range batch {
				b, err := cmds[i].(*goredis.IntCmd).Result()
				if err != nil {
					continue // gone since the scan
				}
				name := keyFamily(k)
				f := fams[name]
				if f == nil {
					f = &FamilyMemory{Family: name}
					fams[name] = f
				}
				f.Keys++
				f.Bytes += b
			}
			batch = batch[:0]
			return nil
		}
		for iter.Next(ctx) {
			batch = append(batch, iter.Val())
			if len(batch) == 1000 {
				if err := flush(); err != nil {
					return err
				}
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
		if len(batch) > 0 {
			return flush()
		}
		return nil
	}
	var err error
	switch cc := c.(type) {
	case *goredis.ClusterClient:
		err = cc.ForEachMaster(ctx, scan)
	case *goredis.Client:
		err = scan(ctx, cc)
	default:
		return nil, fmt.Errorf("memory by family: unsupported client %T", c)
	}
	out := make([]FamilyMemory, 0, len(fams))
	for _, f := range fams {
		out = append(out, *f)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Bytes != out[j].Bytes {
			return out[i].Bytes > out[j].Bytes
		}
		return out[i].Family < out[j].Family
	})
	return out, err
}

// keyFamily is key's family: PREFIX:{c:ID}:entries → {c:*}:entries,
// PREFIX:{f:api}:cell:DAY:PHASE → {f:*}:cell:*.
func keyFamily(key string) string {
	i := strings.Index(key, "{")
	if i < 0 {
		return key
	}
	j := strings.Index(key[i:], "}")
	if j < 0 {
		return key[i:]
	}
	tag := key[i+1 : i+j]
	if t, _, ok := strings.Cut(tag, ":"); ok {
		tag = t + ":*"
	}
	rest := key[i+j+1:]
	if a, _, ok := strings.Cut(strings.TrimPrefix(rest, ":"), ":"); ok {
		rest = ":" + a + ":*"
	}
	return "{" + tag + "}" + rest
}

// FormatFamilies is families per message of n, one line each, with the
// total.
func FormatFamilies(fams []FamilyMemory, n int) string {
	var b strings.Builder
	var total int64
	for _, f := range fams {
		total += f.Bytes
	}
	fmt.Fprintf(&b, "MEMORY USAGE by key family per message (%d messages): %.1f B in all\n", n, float64(total)/float64(n))
	for _, f := range fams {
		fmt.Fprintf(&b, "  %-28s %8d keys %9.1f B/msg\n", f.Family, f.Keys, float64(f.Bytes)/float64(n))
	}
	return b.String()
}
