package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/switchboard-hub/switchboard/internal/driver"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/plugins/examples/telegram/telegramtest"
)

const (
	adminToken = "chaos-admin-token"
	botToken   = "5551234:chaos-bot-token"
	prefix     = "chaos"
	customers  = 20 // api senders
	tgUsers    = 5  // telegram senders
	mailFrom   = 4  // email senders
	mailbox    = "chaos@example.com"
)

var (
	cycles     = flag.Int("cycles", 3, "fault cycles")
	cycleDur   = flag.Duration("cycle", 4*time.Second, "duration of one cycle (its faults are spread over it)")
	work       = flag.String("dir", "", "working directory (default: a new temp dir)")
	bin        = flag.String("bin", "", "switchboard binary (default: built from ./cmd/switchboard)")
	pluginBin  = flag.String("plugin", "", "telegram plugin binary (default: built from ./plugins/examples/telegram)")
	dovecotCfg = flag.String("dovecot-conf", "", "a Dovecot config (scripts/peers/email.sh's) to restart each cycle; empty: no Dovecot step")
	imapAddr   = flag.String("imap", "", "that Dovecot's plain IMAP address (with -dovecot-conf)")
	lmtpAddr   = flag.String("lmtp", "", "that Dovecot's LMTP address (with -dovecot-conf)")
	rate       = flag.Int("rate", 200, "api messages per second offered")
	settle     = flag.Duration("settle", 3*time.Minute, "how long to wait at the end for every accepted message")
	overlap    = flag.Bool("overlap", false, "run each cycle's Dovecot restart alongside its other faults instead of after them")
	until      = flag.String("until", "", "stop starting cycles at this time (RFC 3339 or 15:04 UTC today) and report the cycles completed")
)

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "chaos:", err)
		os.Exit(1)
	}
}

var logf = driver.Logf

var freePort = driver.FreePort

// ---- processes ----

type proc struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
}

func spawn(name, logPath string, env []string, path string, args ...string) (*proc, error) {
	f, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(path, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	p := &proc{name: name, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(p.done) }()
	return p, nil
}

// kill sends SIGKILL to this process (by its pid) and waits for it.
func (p *proc) kill() {
	select {
	case <-p.done:
	default:
		p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
}

func (p *proc) alive() bool {
	select {
	case <-p.done:
		return false
	default:
		return true
	}
}

// ---- the hub ----

type cluster struct {
	dir      string
	cfg      string
	redisArg []string
	redis    *proc
	rc       *goredis.Client
	addrs    []string
	hubs     []*proc
	mu       sync.Mutex // guards hubs (the load reads them)
	plugin   string
}

func (c *cluster) startRedis() error {
	p, err := spawn("redis", filepath.Join(c.dir, "redis.log"), nil, "redis-server", c.redisArg...)
	if err != nil {
		return err
	}
	c.redis = p
	// Loading the AOF of a long run takes a while (65 s for 180 MB on a
	// loaded 2-core machine): wait as long as Redis lives and is loading.
	deadline := time.Now().Add(5 * time.Minute)
	for time.Now().Before(deadline) {
		if c.rc.Ping(context.Background()).Err() == nil {
			return nil
		}
		if !p.alive() {
			return errors.New("redis exited while starting; see redis.log")
		}
		time.Sleep(25 * time.Millisecond)
	}
	return errors.New("redis did not start within 5 minutes; see redis.log")
}

func (c *cluster) startHub(i int) error {
	p, err := spawn(fmt.Sprintf("hub%d", i), filepath.Join(c.dir, fmt.Sprintf("hub%d.log", i)),
		[]string{"SWITCHBOARD_HTTP_ADDR=" + c.addrs[i]}, *bin, "serve", "--config", c.cfg)
	if err != nil {
		return err
	}
	c.mu.Lock()
	c.hubs[i] = p
	c.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := http.Get("http://" + c.addrs[i] + "/readyz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return nil
			}
		}
		if !p.alive() {
			return fmt.Errorf("hub%d exited before it was ready; see hub%d.log", i, i)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("hub%d did not become ready", i)
}

// pluginPids are the plugin processes started by the hubs (children of a
// hub pid running the plugin binary): processes this tool started, found by
// their parent's pid.
func (c *cluster) pluginPids() []int {
	c.mu.Lock()
	parents := map[int]bool{}
	for _, h := range c.hubs {
		if h != nil && h.alive() {
			parents[h.cmd.Process.Pid] = true
		}
	}
	c.mu.Unlock()
	var out []int
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		st, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...
		rest := st[bytes.LastIndexByte(st, ')')+2:]
		f := strings.Fields(string(rest))
		if len(f) < 2 {
			continue
		}
		ppid, _ := strconv.Atoi(f[1])
		if !parents[ppid] {
			continue
		}
		// The hub runs a private copy of the plugin binary (hashed, then
		// started): match its file name.
		if exe, _ := os.Readlink(filepath.Join("/proc", e.Name(), "exe")); strings.HasPrefix(filepath.Base(exe), filepath.Base(c.plugin)) {
			out = append(out, pid)
		}
	}
	return out
}

func (c *cluster) liveAddr() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var live []string
	for i, h := range c.hubs {
		if h != nil && h.alive() {
			live = append(live, c.addrs[i])
		}
	}
	if len(live) == 0 {
		return c.addrs[0]
	}
	return live[rand.IntN(len(live))]
}

// oldestUnacked is the enqueue time (Redis's clock, ms) of the oldest ingest
// item not yet acked (acked items are deleted from the stream); zero when
// none.
func (c *cluster) oldestUnacked(ctx context.Context) (time.Time, bool, error) {
	ms, err := c.rc.XRangeN(ctx, prefix+":{q:ingest}:stream", "-", "+", 1).Result()
	if err != nil {
		return time.Time{}, false, err
	}
	if len(ms) == 0 {
		return time.Time{}, true, nil
	}
	a, _, _ := strings.Cut(ms[0].ID, "-")
	n, _ := strconv.ParseInt(a, 10, 64)
	return time.UnixMilli(n), true, nil
}

// drainedSince waits until every ingest item enqueued before t is acked
// (on its timeline, or dead-lettered: counted at the end) and returns when.
func (c *cluster) drainedSince(t time.Time, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		old, ok, err := c.oldestUnacked(ctx)
		cancel()
		if err == nil && ok && (old.IsZero() || !old.Before(t)) {
			return time.Now(), nil
		}
		time.Sleep(10 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("work enqueued before %s still unacked after %v", t.Format("15:04:05.000"), limit)
}

// ---- load ----

type ledger struct {
	mu       sync.Mutex
	accepted map[string]bool // api external ids answered 202
	tg       map[string]bool // telegram texts the fake API queued
	mail     map[string]bool // mail texts Dovecot accepted over LMTP
	failed   atomic.Int64
}

func postOne(client *http.Client, base, ext string, n int64) (int, error) {
	body, _ := json.Marshal(map[string]any{"external_id": ext, "text": ext,
		"sender": map[string]string{"email": fmt.Sprintf("chaos%d@example.com", n%customers)}})
	req, _ := http.NewRequest("POST", "http://"+base+"/api/v1/channels/crm/messages", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp.StatusCode, nil
}

func run() error {
	dir, plugin, err := driver.Workspace("switchboard-chaos.", work, bin, pluginBin)
	if err != nil {
		return err
	}
	tg := telegramtest.New(botToken)
	defer tg.Close()

	rport := freePort()
	os.MkdirAll(filepath.Join(dir, "redis"), 0o755)
	c := &cluster{dir: dir, plugin: plugin, addrs: []string{fmt.Sprintf("127.0.0.1:%d", freePort()), fmt.Sprintf("127.0.0.1:%d", freePort())}, hubs: make([]*proc, 2),
		redisArg: []string{"--bind", "127.0.0.1", "--port", strconv.Itoa(rport), "--appendonly", "yes", "--appendfsync", "always",
			"--save", "", "--dir", filepath.Join(dir, "redis"), "--daemonize", "no"},
		rc: goredis.NewClient(&goredis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", rport), MaxRetries: -1})}
	defer func() {
		for _, h := range c.hubs {
			if h != nil {
				h.kill()
			}
		}
		if c.redis != nil {
			c.redis.kill()
		}
	}()
	// Interrupted (scripts/chaos.sh's time bound): stop what this tool
	// started, by pid, before exiting.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sig
		logf("%v: stopping the hubs and Redis", s)
		c.mu.Lock()
		hubs := slices.Clone(c.hubs)
		c.mu.Unlock()
		for _, h := range hubs {
			if h != nil {
				h.kill()
			}
		}
		if r := c.redis; r != nil {
			r.kill()
		}
		os.Exit(2)
	}()
	if err := c.startRedis(); err != nil {
		return err
	}
	sum, _ := exec.Command("sha256sum", plugin).Output()
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte(adminToken+"\n"), 0o600)
	cfg := fmt.Sprintf(`store:
  blobs_path: %s
  redis:
    addrs: [127.0.0.1:%d]
    prefix: %s
identity:
  default_region: FI
log:
  level: warn
teams:
  - name: support
agents:
  - name: root
    role: admin
    token_file: %s
    teams: [support]
channels:
  - name: crm
    type: api
    phase: live
    trusted: true
  - name: tg
    type: plugin
    phase: live
    plugin: {name: telegram-bot, lease_ttl: 2s}
%splugins:
  - name: telegram-bot
    path: %s
    sha256: %s
    settings: {bot_token: "%s", api_base_url: "%s", poll_timeout: "1"}
`, filepath.Join(dir, "blobs"), rport, prefix, filepath.Join(dir, "admin.token"), emailChannel(), plugin, strings.Fields(string(sum))[0], botToken, tg.URL)
	c.cfg = filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(c.cfg, []byte(cfg), 0o600); err != nil {
		return err
	}
	for i := range c.hubs {
		if err := c.startHub(i); err != nil {
			return err
		}
	}
	logf("redis (appendonly, appendfsync always) on 127.0.0.1:%d, hubs on %v", rport, c.addrs)

	// Load: api messages at *rate per second from 16 senders, and a
	// Telegram message every 100ms.
	led := &ledger{accepted: map[string]bool{}, tg: map[string]bool{}, mail: map[string]bool{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var next atomic.Int64
	client := &http.Client{Timeout: 5 * time.Second}
	tick := time.Second / time.Duration(max(*rate, 1))
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(tick * 16)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				n := next.Add(1)
				ext := fmt.Sprintf("chaos-%d", n)
				code, err := postOne(client, c.liveAddr(), ext, n)
				if err == nil && code == 202 {
					led.mu.Lock()
					led.accepted[ext] = true
					led.mu.Unlock()
				} else {
					led.failed.Add(1)
				}
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; ; i++ {
			select {
			case <-stop:
				return
			case <-time.After(100 * time.Millisecond):
			}
			text := fmt.Sprintf("tg-%d", i)
			tg.UserSays(telegramtest.User{ID: 880000 + int64(i%tgUsers), FirstName: "Chaos", LastName: strconv.Itoa(i % tgUsers)}, text)
			led.mu.Lock()
			led.tg[text] = true
			led.mu.Unlock()
		}
	}()

	var stopAt time.Time
	if *until != "" {
		var err error
		if stopAt, err = time.Parse(time.RFC3339, *until); err != nil {
			hm, err2 := time.Parse("15:04", *until)
			if err2 != nil {
				return fmt.Errorf("-until %q: %v", *until, err)
			}
			now := time.Now().UTC()
			stopAt = time.Date(now.Year(), now.Month(), now.Day(), hm.Hour(), hm.Minute(), 0, 0, time.UTC)
		}
	}
	rec := map[string][]time.Duration{}
	var errs []string
	step := *cycleDur / 4
	done := 0
	for cyc := 1; cyc <= *cycles; cyc++ {
		if !stopAt.IsZero() && time.Now().After(stopAt) {
			logf("-until %s reached after %d of %d cycles", *until, done, *cycles)
			break
		}
		cycleStart := time.Now()
		type stepResult struct {
			d   time.Duration
			err string
		}
		var dovecotDone chan stepResult
		dovecotStep := func() (time.Duration, string) {
			for i := 0; i < 5; i++ {
				if text, err := deliverMail(); err == nil {
					led.mu.Lock()
					led.mail[text] = true
					led.mu.Unlock()
				}
			}
			t0 := time.Now()
			if err := restartDovecot(*dovecotCfg); err != nil {
				return 0, fmt.Sprintf("cycle %d dovecot restart: %v", cyc, err)
			}
			text, err := deliverMailRetrying(10 * time.Second)
			if err != nil {
				return 0, fmt.Sprintf("cycle %d dovecot: delivering the probe after the restart: %v", cyc, err)
			}
			led.mu.Lock()
			led.mail[text] = true
			led.mu.Unlock()
			at, err := waitProbe(c, "email:"+mailSender(text), text, 90*time.Second)
			if err != nil {
				return 0, fmt.Sprintf("cycle %d dovecot restart: %v", cyc, err)
			}
			return at.Sub(t0), ""
		}
		if *dovecotCfg != "" && *overlap {
			dovecotDone = make(chan stepResult, 1)
			go func() {
				d, msg := dovecotStep()
				dovecotDone <- stepResult{d, msg}
			}()
		}
		// 1. SIGKILL a hub replica, restart it; recovered when every item
		// enqueued before the kill is acked.
		victim := cyc % 2
		c.mu.Lock()
		h := c.hubs[victim]
		c.mu.Unlock()
		h.kill()
		killed := time.Now()
		if err := c.startHub(victim); err != nil {
			return err
		}
		ready := time.Now()
		if at, err := c.drainedSince(killed, 90*time.Second); err != nil {
			errs = append(errs, fmt.Sprintf("cycle %d hub kill: %v", cyc, err))
		} else {
			rec["hub"] = append(rec["hub"], at.Sub(killed))
			rec["hub-after-ready"] = append(rec["hub-after-ready"], max(at.Sub(ready), 0))
		}
		sleepUntil(cycleStart.Add(step))

		// 2. SIGKILL Redis, restart it on the same AOF.
		c.redis.kill()
		killed = time.Now()
		if err := c.startRedis(); err != nil {
			return err
		}
		if at, err := c.drainedSince(killed, 90*time.Second); err != nil {
			errs = append(errs, fmt.Sprintf("cycle %d redis kill: %v", cyc, err))
		} else {
			rec["redis"] = append(rec["redis"], at.Sub(killed))
		}
		sleepUntil(cycleStart.Add(2 * step))

		// 3. SIGKILL the plugin process; recovered when a Telegram message
		// sent right after the kill is on its timeline.
		if pids := c.pluginPids(); len(pids) > 0 {
			for _, pid := range pids {
				syscall.Kill(pid, syscall.SIGKILL)
			}
			killed = time.Now()
			probe := fmt.Sprintf("tgprobe-%d", cyc)
			tg.UserSays(telegramtest.User{ID: 889999, FirstName: "Probe"}, probe)
			led.mu.Lock()
			led.tg[probe] = true
			led.mu.Unlock()
			if at, err := waitProbe(c, "telegram:889999", probe, 90*time.Second); err != nil {
				errs = append(errs, fmt.Sprintf("cycle %d plugin kill: %v", cyc, err))
			} else {
				rec["plugin"] = append(rec["plugin"], at.Sub(killed))
			}
		} else {
			errs = append(errs, fmt.Sprintf("cycle %d: no plugin process found to kill", cyc))
		}
		sleepUntil(cycleStart.Add(3 * step))

		// 4. Restart Dovecot (when given), with mail flowing: a few mails
		// before, and a probe right after; recovered when the probe is on
		// its timeline. With -overlap it runs alongside steps 1-3 (the
		// faults of a cycle then overlap, and a cycle takes as long as its
		// longest part rather than the sum).
		if *dovecotCfg != "" {
			var d time.Duration
			var msg string
			if dovecotDone != nil {
				r := <-dovecotDone
				d, msg = r.d, r.err
			} else {
				d, msg = dovecotStep()
			}
			if msg != "" {
				errs = append(errs, msg)
			} else {
				rec["dovecot"] = append(rec["dovecot"], d)
			}
		}
		sleepUntil(cycleStart.Add(*cycleDur))
		done = cyc
		if cyc%10 == 0 || cyc == *cycles {
			led.mu.Lock()
			logf("cycle %d/%d: %d api accepted, %d telegram sent, %d refused or failed", cyc, *cycles, len(led.accepted), len(led.tg), led.failed.Load())
			led.mu.Unlock()
		}
	}
	close(stop)
	wg.Wait()

	// Every accepted message on a timeline exactly once.
	led.mu.Lock()
	defer led.mu.Unlock()
	want := map[string]bool{}
	for k := range led.accepted {
		want[k] = true
	}
	for k := range led.tg {
		want[k] = true
	}
	for k := range led.mail {
		want[k] = true
	}
	var seen map[string]int
	deadline := time.Now().Add(*settle)
	for {
		var err error
		seen, err = scan(c.liveAddr())
		missing := 0
		for k := range want {
			if seen[k] == 0 {
				missing++
			}
		}
		if err == nil && missing == 0 || time.Now().After(deadline) {
			if err != nil {
				errs = append(errs, "final scan: "+err.Error())
			}
			break
		}
		time.Sleep(time.Second)
	}
	lost, dup := 0, 0
	var lostEx, dupEx []string
	for k := range want {
		if seen[k] == 0 {
			lost++
			if len(lostEx) < 10 {
				lostEx = append(lostEx, k)
			}
		}
	}
	for k, n := range seen {
		if n > 1 {
			dup++
			if len(dupEx) < 10 {
				dupEx = append(dupEx, fmt.Sprintf("%s×%d", k, n))
			}
		}
	}
	dead, _ := c.rc.XLen(context.Background(), prefix+":{q:ingest}:dead").Result()
	fmt.Printf("\nchaos: %d cycles (of %d asked) of %v (hub SIGKILL+restart, redis SIGKILL+restart with appendfsync always, plugin SIGKILL", done, *cycles, *cycleDur)
	if *dovecotCfg != "" {
		fmt.Printf(", dovecot restart")
	}
	fmt.Printf(")\n")
	fmt.Printf("messages: %d accepted (%d api, %d telegram, %d email), %d api requests refused or failed during faults\n", len(want), len(led.accepted), len(led.tg), len(led.mail), led.failed.Load())
	fmt.Printf("lost: %d %v\nduplicated: %d %v\ndead letters: %d\n", lost, lostEx, dup, dupEx, dead)
	for _, k := range []string{"hub", "hub-after-ready", "redis", "plugin", "dovecot"} {
		ds := rec[k]
		if len(ds) == 0 {
			continue
		}
		slices.Sort(ds)
		fmt.Printf("recovery %-16s n=%-5d p50=%-8v p99=%-8v max=%v\n", k, len(ds), pct(ds, 50), pct(ds, 99), ds[len(ds)-1].Round(time.Millisecond))
	}
	for _, e := range errs {
		fmt.Println("error:", e)
	}
	if lost > 0 || dup > 0 || len(errs) > 0 {
		return fmt.Errorf("%d lost, %d duplicated, %d errors", lost, dup, len(errs))
	}
	return nil
}

func pct(ds []time.Duration, p int) time.Duration {
	i := (len(ds)*p+99)/100 - 1
	return ds[max(min(i, len(ds)-1), 0)].Round(time.Millisecond)
}

func sleepUntil(t time.Time) {
	if d := time.Until(t); d > 0 {
		time.Sleep(d)
	}
}

func restartDovecot(conf string) error {
	if b, err := exec.Command("doveadm", "-c", conf, "stop").CombinedOutput(); err != nil {
		return fmt.Errorf("doveadm stop: %v %s", err, b)
	}
	var last error
	for i := 0; i < 100; i++ {
		cmd := exec.Command("dovecot", "-c", conf)
		if last = cmd.Run(); last == nil {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("dovecot start: %v", last)
}

// ---- reading timelines through the API ----

func get(base, path string, out any) (int, error) {
	return driver.Get(&http.Client{Timeout: 10 * time.Second}, base, adminToken, path, out)
}

// texts returns the text of every entry on the timeline of the customer
// with identity (nil when there is no such customer yet).
func texts(base, identity string) ([]string, error) {
	entries, err := driver.Timeline(&http.Client{Timeout: 10 * time.Second}, base, adminToken, identity)
	if entries == nil {
		return nil, err
	}
	out := make([]string, len(entries))
	for i, e := range entries {
		out[i] = e.Text
	}
	return out, err
}

func scan(base string) (map[string]int, error) {
	seen := map[string]int{}
	ids := []string{"telegram:889999"}
	for i := 0; i < customers; i++ {
		ids = append(ids, fmt.Sprintf("email:chaos%d@example.com", i))
	}
	for i := 0; i < tgUsers; i++ {
		ids = append(ids, fmt.Sprintf("telegram:%d", 880000+i))
	}
	if *dovecotCfg != "" {
		for i := 0; i < mailFrom; i++ {
			ids = append(ids, fmt.Sprintf("email:m%d@mail.example", i))
		}
	}
	for _, id := range ids {
		ts, err := texts(base, id)
		if err != nil {
			return seen, err
		}
		for _, t := range ts {
			seen[t]++
		}
	}
	return seen, nil
}

func waitProbe(c *cluster, identity, text string, limit time.Duration) (time.Time, error) {
	deadline := time.Now().Add(limit)
	for time.Now().Before(deadline) {
		ts, _ := texts(c.liveAddr(), identity)
		if slices.Contains(ts, text) {
			return time.Now(), nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return time.Time{}, fmt.Errorf("%s not on the timeline of %s after %v", text, identity, limit)
}

// ---- email through Dovecot ----

func emailChannel() string {
	if *dovecotCfg == "" {
		return ""
	}
	return fmt.Sprintf(`  - name: mail
    type: email
    phase: live
    email:
      lease_ttl: 2s
      imap: {addr: "%s", username: "%s", password: secret, tls: none, allow_insecure: true, backfill_since: "2000-01-01"}
      smtp: {addr: "127.0.0.1:1", from: support@hub.example, tls: none, allow_insecure: true}
`, *imapAddr, mailbox)
}

var mailSeq atomic.Int64

// mailSender is the sender address of a mail text "mail-N".
func mailSender(text string) string {
	n, _ := strconv.Atoi(strings.TrimPrefix(text, "mail-"))
	return fmt.Sprintf("m%d@mail.example", n%mailFrom)
}

// deliverMail hands one mail to Dovecot over LMTP and returns its text
// once Dovecot accepted it.
func deliverMail() (string, error) {
	n := mailSeq.Add(1)
	text := fmt.Sprintf("mail-%d", n)
	msg := fmt.Sprintf("From: Sender <%s>\r\nTo: support@hub.example\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s-%d@chaos>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n%s\r\n",
		mailSender(text), text, time.Now().UTC().Format(time.RFC1123Z), text, time.Now().UnixNano(), text)
	if err := driver.DeliverLMTP(*lmtpAddr, mailbox, msg); err != nil {
		return "", err
	}
	return text, nil
}

func deliverMailRetrying(limit time.Duration) (string, error) {
	deadline := time.Now().Add(limit)
	for {
		text, err := deliverMail()
		if err == nil || time.Now().After(deadline) {
			return text, err
		}
		time.Sleep(50 * time.Millisecond)
	}
}
