package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"github.com/switchboard-hub/switchboard/internal/driver"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
	"github.com/slack-go/slack/slacktest"

	"github.com/switchboard-hub/switchboard/internal/redisnodes"
	"github.com/switchboard-hub/switchboard/plugins/examples/telegram/telegramtest"
)

const (
	adminToken  = "cluster-admin-token"
	botToken    = "5551234:cluster-bot-token"
	prefix      = "cl"
	slackSecret = "cluster-signing-secret-0123456789"
	slackToken  = "xoxb-cluster-bot-token"
	slackTeam   = "T0CLUSTER"
	twilioSID   = "AC0123456789abcdef0123456789abcdef"
	twilioToken = "clustertokenclustertokenclustert"
	smsFrom     = "+14155550100"
	formSecret  = "cluster-form-signing-secret-42"
	senders     = 12 // per channel
)

var (
	hubsN      = flag.Int("hubs", 3, "hub replicas")
	nodeTO     = flag.Duration("node-timeout", 2*time.Second, "cluster-node-timeout")
	rate       = flag.Int("rate", 100, "api messages per second offered (other channels add about 25/s)")
	stepDur    = flag.Duration("step", 4*time.Second, "load before and after each fault")
	steps      = flag.String("steps", "e2e,planned,unplanned,rolling", "steps to run, in order")
	minAck     = flag.Int("min-replicas-ack", 0, "store.redis.min_replicas_ack of the hubs")
	work       = flag.String("dir", "", "working directory (default: a new temp dir)")
	bin        = flag.String("bin", "", "switchboard binary (default: built from ./cmd/switchboard)")
	pluginBin  = flag.String("plugin", "", "telegram plugin binary (default: built)")
	imapAddr   = flag.String("imap", "", "a Dovecot's plain IMAP address (scripts/peers/email.sh); empty: no email channel")
	lmtpAddr   = flag.String("lmtp", "", "that Dovecot's LMTP address")
	settle     = flag.Duration("settle", 90*time.Second, "how long to wait at the end for every accepted message")
	sentinel   = flag.Bool("sentinel", false, "instead of a Cluster: one primary, one replica and three Sentinels (store.redis.master_name); the failovers are SENTINEL FAILOVER and SIGKILL of the primary")
	throughput = flag.Duration("throughput", 0, "only measure: post as fast as possible for this long to all replicas and report messages/s (no faults)")
)

// mailbox is this run's own Dovecot user (scripts/peers/email.sh accepts
// any name): mail of earlier runs must not be read again.
var mailbox = fmt.Sprintf("cl-%d@example.com", time.Now().UnixNano())

func main() {
	flag.Parse()
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "cluster:", err)
		os.Exit(1)
	}
}

var logf = driver.Logf

var freeAddr = driver.FreeAddr

// ---- hub processes ----

type hub struct {
	i     int
	addr  string
	cmd   *exec.Cmd
	done  chan struct{}
	ready atomic.Bool // as the load balancer last saw /readyz
}

func (h *hub) alive() bool {
	select {
	case <-h.done:
		return false
	default:
		return true
	}
}

type env struct {
	dir   string
	cfg   string
	nodes *redisnodes.Set
	cl    *redisnodes.Cluster // nil with -sentinel
	sents []*redisnodes.Node  // the Sentinels with -sentinel
	rc    goredis.UniversalClient
	mu    sync.Mutex
	hubs  []*hub
	slack *slackPeer
	sock  *sockPeer // the Slack channel in Socket Mode (socket.go)
	tg    *telegramtest.Server
	email bool
	rr    atomic.Int64

	faults []fault // the failovers' times, for the lost messages' report
}

// fault is one failover: when it started and when the replica was master.
type fault struct {
	name         string
	at, promoted time.Time
}

// lostReport groups lost messages by channel and by when they were accepted
// relative to the failovers: "planned -0.2s" is 0.2 s before that failover
// began, "planned +0.4s (promoted +0.2s)" after it, so a reader sees whether
// the losses cluster between the promotion and the hubs' switch.
func (e *env) lostReport(lost map[string]time.Time) []string {
	type bucket struct {
		n  int
		ex []string
	}
	buckets := map[string]*bucket{}
	var names []string
	for tok, at := range lost {
		ch := strings.Trim(strings.Split(tok, "-")[0], "[")
		where := "no failover within 10s"
		for _, f := range e.faults {
			if d := at.Sub(f.at); d > -10*time.Second && d < 10*time.Second {
				where = fmt.Sprintf("%s %+.0fs (promoted %+.1fs)", f.name, d.Seconds(), f.promoted.Sub(f.at).Seconds())
				break
			}
		}
		k := ch + ": " + where
		b := buckets[k]
		if b == nil {
			b = &bucket{}
			buckets[k] = b
			names = append(names, k)
		}
		b.n++
		if len(b.ex) < 3 {
			b.ex = append(b.ex, tok)
		}
	}
	slices.Sort(names)
	var out []string
	for _, k := range names {
		out = append(out, fmt.Sprintf("lost %s: %d %v", k, buckets[k].n, buckets[k].ex))
	}
	return out
}

func (e *env) startHub(i int) (*hub, error) {
	f, err := os.OpenFile(filepath.Join(e.dir, fmt.Sprintf("hub%d.log", i)), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, err
	}
	e.mu.Lock()
	addr := e.hubs[i].addr
	e.mu.Unlock()
	cmd := exec.Command(*bin, "serve", "--config", e.cfg)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_HTTP_ADDR="+addr)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return nil, err
	}
	h := &hub{i: i, addr: addr, cmd: cmd, done: make(chan struct{})}
	go func() { cmd.Wait(); f.Close(); close(h.done) }()
	e.mu.Lock()
	e.hubs[i] = h
	e.mu.Unlock()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		if readyz(addr) == 200 {
			return h, nil
		}
		if !h.alive() {
			return nil, fmt.Errorf("hub%d exited before it was ready; see hub%d.log", i, i)
		}
		time.Sleep(20 * time.Millisecond)
	}
	return nil, fmt.Errorf("hub%d did not become ready", i)
}

func readyz(addr string) int {
	resp, err := (&http.Client{Timeout: 500 * time.Millisecond}).Get("http://" + addr + "/readyz")
	if err != nil {
		return 0
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (e *env) hub(i int) *hub {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.hubs[i]
}

// balance is the load balancer's view: it polls every replica's /readyz
// every 100 ms and sends only to the ready ones.
func (e *env) balance(stop <-chan struct{}) {
	for {
		select {
		case <-stop:
			return
		case <-time.After(100 * time.Millisecond):
		}
		for i := range e.hubs {
			h := e.hub(i)
			h.ready.Store(h.alive() && readyz(h.addr) == 200)
		}
	}
}

// pick returns a ready replica's address, round robin.
func (e *env) pick() string {
	n := len(e.hubs)
	for k := 0; k < n; k++ {
		h := e.hub(int(e.rr.Add(1)) % n)
		if h.ready.Load() {
			return h.addr
		}
	}
	return e.hub(0).addr
}

// ---- the ledger of accepted messages ----

type ledger struct {
	mu        sync.Mutex
	accepted  map[string]time.Time // token → when the hub (or Dovecot/Telegram) accepted it
	lastOK    time.Time
	gaps      []gap // refusals and their span, per step
	failed    atomic.Int64
	refused   map[int]int // status → count
	identites map[string]bool
	// tgUpdate: a Telegram message's update id. It counts as accepted
	// once the plugin confirmed the update to Telegram (the plugin
	// confirms only what the hub took); one still unconfirmed at the end
	// was never accepted (the hub refused it, e.g. 503 not_replicated)
	// and is waiting at Telegram, not lost.
	tgUpdate map[string]int64
}

type gap struct {
	step       string
	start, end time.Time
}

var tokenRe = regexp.MustCompile(`\[[a-z]+-\d+\]`)

func (l *ledger) ok(token, identity string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := time.Now()
	l.accepted[token] = now
	l.identites[identity] = true
	if now.After(l.lastOK) {
		l.lastOK = now
	}
}

func (l *ledger) fail(code int) {
	l.failed.Add(1)
	l.mu.Lock()
	l.refused[code]++
	l.mu.Unlock()
}

// ---- channels' senders ----

var client = &http.Client{Timeout: 5 * time.Second}

func do(req *http.Request) (int, []byte) {
	resp, err := client.Do(req)
	if err != nil {
		return 0, nil
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

func postAPI(base, channel, ext, email string) (int, []byte) {
	body, _ := json.Marshal(map[string]any{"external_id": ext, "text": "api " + ext, "sender": map[string]string{"email": email}})
	req, _ := http.NewRequest("POST", "http://"+base+"/api/v1/channels/"+channel+"/messages", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+adminToken)
	req.Header.Set("Content-Type", "application/json")
	return do(req)
}

func twilioSign(fullURL string, form url.Values) string {
	keys := make([]string, 0, len(form))
	for k := range form {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	s := fullURL
	for _, k := range keys {
		s += k + form.Get(k)
	}
	m := hmac.New(sha1.New, []byte(twilioToken))
	m.Write([]byte(s))
	return base64.StdEncoding.EncodeToString(m.Sum(nil))
}

func postSMS(base string, n int64, from, text string) int {
	sid := fmt.Sprintf("SM%032x", n)
	form := url.Values{"MessageSid": {sid}, "SmsSid": {sid}, "AccountSid": {twilioSID}, "From": {from}, "To": {smsFrom},
		"Body": {text}, "NumMedia": {"0"}, "SmsStatus": {"received"}, "ApiVersion": {"2010-04-01"}}
	// Every replica has the same public URL (behind one load balancer):
	// the signature is for it, whichever replica receives the request.
	req, _ := http.NewRequest("POST", "http://"+base+"/webhooks/twilio/sms", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twilioSign(publicURL+"/webhooks/twilio/sms", form))
	code, _ := do(req)
	return code
}

func postSlack(base string, n int64, user, text string) int {
	e := map[string]any{"type": "message", "channel": "C0CLUSTER", "channel_type": "channel", "user": user, "team": slackTeam, "text": text,
		"ts": fmt.Sprintf("1767261600.%06d", n)}
	body, _ := json.Marshal(map[string]any{"type": "event_callback", "team_id": slackTeam, "event_id": fmt.Sprintf("EvCL%d", n), "event": e})
	ts := time.Now().Unix()
	m := hmac.New(sha256.New, []byte(slackSecret))
	fmt.Fprintf(m, "v0:%d:%s", ts, body)
	req, _ := http.NewRequest("POST", "http://"+base+"/webhooks/slack/slack", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", "v0="+hex.EncodeToString(m.Sum(nil)))
	code, _ := do(req)
	return code
}

func postForm(base, email, text string) int {
	req, _ := http.NewRequest("GET", "http://"+base+"/forms/form/token", nil)
	code, b := do(req)
	if code != 200 {
		return code
	}
	var tok struct{ Token string }
	json.Unmarshal(b, &tok)
	v := url.Values{"email": {email}, "message": {text}, "_token": {tok.Token}}
	req, _ = http.NewRequest("POST", "http://"+base+"/forms/form", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	code, _ = do(req)
	return code
}

var mailSeq atomic.Int64

func deliverMail(token, from string) error {
	return driver.DeliverLMTP(*lmtpAddr, mailbox, fmt.Sprintf("From: <%s>\r\nTo: support@hub.example\r\nSubject: %s\r\nDate: %s\r\nMessage-ID: <%s-%d@cluster>\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nmail %s\r\n",
		from, token, time.Now().UTC().Format(time.RFC1123Z), strings.Trim(token, "[]"), time.Now().UnixNano(), token))
}

// load runs every channel's senders until stop.
func (e *env) load(l *ledger, stop <-chan struct{}, wg *sync.WaitGroup) {
	var seq atomic.Int64
	every := func(d time.Duration, f func(n int64)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			t := time.NewTicker(d)
			defer t.Stop()
			for {
				select {
				case <-stop:
					return
				case <-t.C:
				}
				f(seq.Add(1))
			}
		}()
	}
	workers := 8
	for w := 0; w < workers; w++ {
		every(time.Second*time.Duration(workers)/time.Duration(max(*rate, 1)), func(n int64) {
			tok := fmt.Sprintf("[api-%d]", n)
			email := fmt.Sprintf("api%d@example.com", n%senders)
			if code, _ := postAPI(e.pick(), "crm", tok, email); code == 202 {
				l.ok(tok, "email:"+email)
			} else {
				l.fail(code)
			}
		})
	}
	every(50*time.Millisecond, func(n int64) {
		tok := fmt.Sprintf("[sms-%d]", n)
		from := fmt.Sprintf("+1415555%04d", n%senders)
		if code := postSMS(e.pick(), n, from, "sms "+tok); code == 200 || code == 204 {
			l.ok(tok, "phone:"+from)
		} else {
			l.fail(code)
		}
	})
	every(100*time.Millisecond, func(n int64) {
		tok := fmt.Sprintf("[slack-%d]", n)
		user := fmt.Sprintf("U0CL%04d", n%senders)
		if code := postSlack(e.pick(), n, user, "slack "+tok); code == 200 {
			l.ok(tok, "slack:"+slackTeam+":"+user)
		} else {
			l.fail(code)
		}
	})
	every(250*time.Millisecond, func(n int64) {
		// Socket Mode: accepted once the hub acknowledged the envelope.
		// Events sent while no replica holds the connection (a lease
		// take-over) are not counted: Slack would send them again.
		tok := fmt.Sprintf("[sock-%d]", n)
		user := fmt.Sprintf("U0SK%04d", n%senders)
		if e.sock.say(n, user, "sock "+tok) {
			l.ok(tok, "slack:"+slackTeam+":"+user)
		}
	})
	every(200*time.Millisecond, func(n int64) {
		tok := fmt.Sprintf("[form-%d]", n)
		email := fmt.Sprintf("form%d@example.com", n%senders)
		if code := postForm(e.pick(), email, "form "+tok); code >= 200 && code < 400 {
			l.ok(tok, "email:"+email)
		} else {
			l.fail(code)
		}
	})
	every(200*time.Millisecond, func(n int64) {
		tok := fmt.Sprintf("[tg-%d]", n)
		id := 770000 + n%senders
		u := e.tg.UserSays(telegramtest.User{ID: id, FirstName: "Cl", LastName: strconv.FormatInt(n%senders, 10)}, "tg "+tok)
		l.ok(tok, fmt.Sprintf("telegram:%d", id))
		l.mu.Lock()
		l.tgUpdate[tok] = u
		l.mu.Unlock()
	})
	if e.email {
		every(time.Second, func(n int64) {
			tok := fmt.Sprintf("[mail-%d]", n)
			from := fmt.Sprintf("m%d@mail.example", n%4)
			if err := deliverMail(tok, from); err == nil {
				l.ok(tok, "email:"+from)
			}
		})
	}
}

// ---- reading the hub ----

func get(base, path string, out any) (int, error) {
	return driver.Get(client, base, adminToken, path, out)
}

type entry = driver.Entry

func timeline(base, identity string) ([]entry, error) {
	return driver.Timeline(client, base, adminToken, identity)
}

func (e *env) scan(ids []string) (map[string]int, error) {
	seen := map[string]int{}
	for _, id := range ids {
		es, err := timeline(e.pick(), id)
		if err != nil {
			return seen, err
		}
		for _, en := range es {
			if en.Direction == "outbound" {
				continue
			}
			for _, t := range tokenRe.FindAllString(en.Text, -1) {
				seen[t]++
			}
		}
	}
	return seen, nil
}

// ---- leases ----

// leaseHolder is the hub holding the lease name (-1 when none or unknown).
func (e *env) leaseHolder(name string) int {
	key := prefix + ":{l:" + strings.ReplaceAll(name, ":", "%3A") + "}:lease"
	v, err := e.rc.HMGet(context.Background(), key, "holder", "exp").Result()
	if err != nil || v[0] == nil {
		return -1
	}
	exp, _ := strconv.ParseInt(fmt.Sprint(v[1]), 10, 64)
	if exp < time.Now().UnixNano() {
		return -1
	}
	holder := fmt.Sprint(v[0])
	for i := range e.hubs {
		h := e.hub(i)
		if h.alive() && strings.HasSuffix(holder, "-"+strconv.Itoa(h.cmd.Process.Pid)) {
			return i
		}
	}
	return -1
}

func waitFor(limit time.Duration, f func() bool) (time.Duration, bool) {
	start := time.Now()
	for time.Since(start) < limit {
		if f() {
			return time.Since(start), true
		}
		time.Sleep(20 * time.Millisecond)
	}
	return limit, false
}

// ---- topology: Cluster or Sentinel ----

const masterName = "sbm"

// ingestMaster is the primary holding the ingest stream now.
func (e *env) ingestMaster(ctx context.Context) (string, error) {
	if e.cl != nil {
		return e.cl.MasterOfKey(ctx, prefix+":{q:ingest}:stream")
	}
	for _, sn := range e.sents {
		if !sn.Alive() {
			continue
		}
		c := sn.Client()
		v, err := c.Do(ctx, "sentinel", "get-master-addr-by-name", masterName).StringSlice()
		c.Close()
		if err == nil && len(v) == 2 {
			return v[0] + ":" + v[1], nil
		}
	}
	return "", errors.New("no sentinel answers")
}

func (e *env) replicaOf(ctx context.Context, addr string) *redisnodes.Node {
	if e.cl != nil {
		return e.cl.ReplicaOf(ctx, addr)
	}
	for _, n := range e.nodes.Nodes {
		if n.Alive() && !slices.Contains(e.sents, n) {
			if r, p, err := redisnodes.Role(ctx, n.Addr); err == nil && r == "slave" && p == addr {
				return n
			}
		}
	}
	return nil
}

// inSync reports whether the replica at addr has its link to the primary up.
func inSync(ctx context.Context, addr string) bool {
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1})
	defer c.Close()
	info, err := c.Info(ctx, "replication").Result()
	return err == nil && strings.Contains(info, "master_link_status:up")
}

// plannedFailover promotes replica: CLUSTER FAILOVER on it, or SENTINEL
// FAILOVER (the Sentinels pick the replica: there is one).
func (e *env) plannedFailover(ctx context.Context, replica string) error {
	if e.cl != nil {
		return e.cl.Failover(ctx, replica)
	}
	c := e.sents[0].Client()
	err := c.Do(ctx, "sentinel", "failover", masterName).Err()
	c.Close()
	if err != nil {
		return fmt.Errorf("SENTINEL FAILOVER: %w", err)
	}
	if _, ok := waitFor(30*time.Second, func() bool { r, _, err := redisnodes.Role(ctx, replica); return err == nil && r == "master" }); !ok {
		return fmt.Errorf("%s not promoted within 30s of SENTINEL FAILOVER", replica)
	}
	return nil
}

func (e *env) primaries(ctx context.Context) []*redisnodes.Node {
	if e.cl != nil {
		return e.cl.Primaries(ctx)
	}
	var out []*redisnodes.Node
	for _, n := range e.nodes.Nodes {
		if n.Alive() && !slices.Contains(e.sents, n) {
			if r, _, err := redisnodes.Role(ctx, n.Addr); err == nil && r == "master" {
				out = append(out, n)
			}
		}
	}
	return out
}

// ---- the run ----

var publicURL = "https://hub.example"

type report struct {
	lines []string
	errs  []string
}

func (r *report) add(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	logf("%s", s)
	r.lines = append(r.lines, s)
}

func (r *report) fail(format string, args ...any) {
	s := fmt.Sprintf(format, args...)
	logf("FAIL %s", s)
	r.errs = append(r.errs, s)
}

func run() error {
	if err := redisnodes.Available(); err != nil {
		return err
	}
	dir, plugin, err := driver.Workspace("switchboard-cluster.", work, bin, pluginBin)
	if err != nil {
		return err
	}

	nodes := redisnodes.New(filepath.Join(dir, "redis"))
	e := &env{dir: dir, nodes: nodes, email: *imapAddr != "" && *lmtpAddr != ""}
	stopAll := func() {
		for i := range e.hubs {
			if h := e.hub(i); h != nil && h.alive() {
				h.cmd.Process.Signal(syscall.SIGKILL)
				<-h.done
			}
		}
		nodes.Stop()
	}
	defer stopAll()
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sig
		logf("%v: stopping the hubs and Redis", s)
		stopAll()
		os.Exit(2)
	}()

	var redisYAML string
	if *sentinel {
		primary, _, err := nodes.Replicated(1)
		if err != nil {
			return err
		}
		if e.sents, err = nodes.Sentinels(3, masterName, primary, *nodeTO, 1); err != nil {
			return err
		}
		var sa []string
		for _, sn := range e.sents {
			sa = append(sa, sn.Addr)
		}
		e.rc = goredis.NewFailoverClient(&goredis.FailoverOptions{MasterName: masterName, SentinelAddrs: sa})
		redisYAML = fmt.Sprintf("addrs: [%s]\n    master_name: %s", strings.Join(sa, ", "), masterName)
		logf("redis primary %s with one replica, sentinels %v (down-after %v)", primary.Addr, sa, *nodeTO)
	} else {
		cl, err := nodes.Cluster(3, 1, *nodeTO)
		if err != nil {
			return err
		}
		e.cl = cl
		e.rc = goredis.NewClusterClient(&goredis.ClusterOptions{Addrs: cl.Addrs(), MaxRetries: 3})
		redisYAML = fmt.Sprintf("addrs: [%s]\n    cluster: true", strings.Join(cl.Addrs(), ", "))
		logf("redis cluster (3 primaries, 1 replica each, node timeout %v) on %v", *nodeTO, cl.Addrs())
	}
	defer e.rc.Close()

	e.sock = newSockPeer()
	e.slack = newSlackPeer(e.sock)
	defer e.slack.Stop()
	e.tg = telegramtest.New(botToken)
	defer e.tg.Close()

	sum, _ := exec.Command("sha256sum", plugin).Output()
	os.WriteFile(filepath.Join(dir, "admin.token"), []byte(adminToken+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "slack.token"), []byte(slackToken+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "slack-app.token"), []byte(sockAppToken+"\n"), 0o600)
	emailYAML := ""
	if e.email {
		emailYAML = fmt.Sprintf(`  - name: mail
    type: email
    phase: live
    email:
      lease_ttl: 2s
      imap: {addr: "%s", username: "%s", password: secret, tls: none, allow_insecure: true, backfill_since: "2000-01-01"}
      smtp: {addr: "127.0.0.1:1", from: support@hub.example, tls: none, allow_insecure: true}
`, *imapAddr, mailbox)
	}
	cfg := fmt.Sprintf(`http:
  public_url: %s
  drain_delay: 1s
store:
  blobs_path: %s
  redis:
    %s
    prefix: %s
    min_replicas_ack: %d
    min_replicas_timeout: 500ms
log:
  level: warn
teams:
  - name: support
agents:
  - name: root
    role: admin
    token_file: %s
    teams: [support]
routing:
  - {channel: crm, team: support}
channels:
  - name: crm
    type: api
    phase: live
    trusted: true
  - name: spare
    type: api
    phase: live
    pilot_team: support
  - name: sms
    type: sms
    phase: live
    sms:
      account_sid: %s
      auth_token: %s
      from: "%s"
      public_url: %s
      api_base_url: http://127.0.0.1:1
  - name: slack
    type: slack
    phase: live
    slack:
      bot_token_file: %s
      signing_secret: %s
      api_url: %s
  - name: form
    type: webform
    phase: live
    webform:
      fields:
        - {name: email, type: email, label: Email, required: true}
        - {name: message, type: textarea, label: Message, required: true}
      secret: %s
      min_fill_time: 0s
      rate_limit: {per_ip: 1000000, per_channel: 1000000}
  - name: %s
    type: slack
    phase: live
    slack:
      mode: socket
      app_token_file: %s
      bot_token_file: %s
      api_url: %s
      lease_ttl: 2s
  - name: tg
    type: plugin
    phase: live
    plugin: {name: telegram-bot, lease_ttl: 2s}
%splugins:
  - name: telegram-bot
    path: %s
    sha256: %s
    settings: {bot_token: "%s", api_base_url: "%s", poll_timeout: "1"}
`, publicURL, filepath.Join(dir, "blobs"), redisYAML, prefix, *minAck, filepath.Join(dir, "admin.token"),
		twilioSID, twilioToken, smsFrom, publicURL, filepath.Join(dir, "slack.token"), slackSecret, e.slack.GetAPIURL(), formSecret,
		sockChannel, filepath.Join(dir, "slack-app.token"), filepath.Join(dir, "slack.token"), e.slack.GetAPIURL(),
		emailYAML, plugin, strings.Fields(string(sum))[0], botToken, e.tg.URL)
	e.cfg = filepath.Join(dir, "switchboard.yaml")
	if err := os.WriteFile(e.cfg, []byte(cfg), 0o600); err != nil {
		return err
	}
	e.hubs = make([]*hub, *hubsN)
	for i := range e.hubs {
		e.hubs[i] = &hub{i: i, addr: freeAddr(), done: make(chan struct{})}
	}
	for i := range e.hubs {
		if _, err := e.startHub(i); err != nil {
			return err
		}
		e.hub(i).ready.Store(true)
	}
	logf("hubs on %v (min_replicas_ack %d)", func() (a []string) {
		for _, h := range e.hubs {
			a = append(a, h.addr)
		}
		return
	}(), *minAck)

	if *throughput > 0 {
		return measureThroughput(e)
	}

	l := &ledger{accepted: map[string]time.Time{}, refused: map[int]int{}, identites: map[string]bool{}, tgUpdate: map[string]int64{}}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	lbStop := make(chan struct{})
	go e.balance(lbStop)
	defer close(lbStop)
	e.load(l, stop, &wg)
	r := &report{}
	var unplannedFrom, unplannedTo time.Time
	time.Sleep(*stepDur)
	for _, step := range strings.Split(*steps, ",") {
		switch strings.TrimSpace(step) {
		case "e2e":
			e.stepE2E(r)
		case "planned":
			e.stepFailover(r, l, false)
		case "unplanned":
			unplannedFrom = time.Now().Add(-2 * time.Second)
			e.stepFailover(r, l, true)
			unplannedTo = time.Now()
		case "rolling":
			e.stepRolling(r, l)
		case "":
		default:
			return fmt.Errorf("unknown step %q", step)
		}
		time.Sleep(*stepDur)
	}
	close(stop)
	wg.Wait()

	// Every accepted message on its timeline exactly once.
	l.mu.Lock()
	var ids []string
	for id := range l.identites {
		ids = append(ids, id)
	}
	want := l.accepted
	tgUpdate := l.tgUpdate
	l.mu.Unlock()
	taken := func(k string) bool { u, ok := tgUpdate[k]; return !ok || e.tg.Confirmed(u) }
	var seen map[string]int
	err = nil
	deadline := time.Now().Add(*settle)
	for {
		seen, err = e.scan(ids)
		missing := 0
		for k := range want {
			if seen[k] == 0 && taken(k) {
				missing++
			}
		}
		if err == nil && missing == 0 || time.Now().After(deadline) {
			if err != nil {
				r.fail("final scan: %v", err)
			}
			break
		}
		time.Sleep(time.Second)
	}
	lost, lostUnplanned, dup := 0, 0, 0
	var lostEx, dupEx []string
	lostAt := map[string]time.Time{}
	atTelegram := 0
	byChannel := map[string]int{}
	for k, at := range want {
		if seen[k] == 0 && !taken(k) {
			atTelegram++
			continue
		}
		byChannel[strings.Trim(strings.Split(k, "-")[0], "[")]++
		if seen[k] > 0 {
			continue
		}
		lostAt[k] = at
		if !unplannedFrom.IsZero() && !at.Before(unplannedFrom) && !at.After(unplannedTo) {
			lostUnplanned++
			continue
		}
		lost++
		if len(lostEx) < 10 {
			lostEx = append(lostEx, k)
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
	topo := "3 primaries + 3 replicas (Cluster)"
	if *sentinel {
		topo = "1 primary + 1 replica + 3 Sentinels"
	}
	fmt.Printf("\ncluster: %d hubs on %s, min_replicas_ack %d, steps %s\n", *hubsN, topo, *minAck, *steps)
	fmt.Printf("messages accepted: %d %v; requests refused or failed: %d %v; Telegram messages never taken from Telegram: %d\n", len(want)-atTelegram, byChannel, l.failed.Load(), l.refused, atTelegram)
	fmt.Printf("lost: %d %v\nlost around the unplanned failover: %d\nduplicated: %d %v\n", lost, lostEx, lostUnplanned, dup, dupEx)
	opens, conns, open, maxOpen := e.sock.stats()
	fmt.Printf("slack socket mode: %d connections opened (%d apps.connections.open), %d open at the end, at most %d open at once\n", conns, opens, open, maxOpen)
	if maxOpen > 1 {
		r.fail("slack socket mode: %d connections were open at once (one replica at a time expected)", maxOpen)
	}
	for _, s := range e.lostReport(lostAt) {
		fmt.Println("  " + s)
	}
	for _, s := range r.lines {
		fmt.Println("  " + s)
	}
	for _, s := range r.errs {
		fmt.Println("error:", s)
	}
	if lost > 0 || dup > 0 || len(r.errs) > 0 || (*minAck > 0 && lostUnplanned > 0) {
		return fmt.Errorf("%d lost, %d lost in the unplanned failover, %d duplicated, %d errors", lost, lostUnplanned, dup, len(r.errs))
	}
	return nil
}

// stepE2E checks live events, phases, leases and outbound across replicas.
func (e *env) stepE2E(r *report) {
	n := len(e.hubs)
	// 1. Live events: subscribed on replica 1, the message posted to 0.
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", "http://"+e.hub(1%n).addr+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+adminToken)
	resp, err := (&http.Client{}).Do(req)
	if err != nil || resp.StatusCode != 200 {
		r.fail("e2e: subscribe to events on hub1: %v", err)
	} else {
		got := make(chan string, 1024)
		go func() {
			defer resp.Body.Close()
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				line := sc.Bytes()
				if d, ok := bytes.CutPrefix(line, []byte("data: ")); ok && bytes.Contains(d, []byte(`"entry.created"`)) {
					got <- string(d)
				}
			}
		}()
		time.Sleep(200 * time.Millisecond)
		sent := time.Now()
		code, b := postAPI(e.hub(0).addr, "crm", "[sse-1]", "sse@example.com")
		var out struct {
			ID string `json:"id"`
		}
		json.Unmarshal(b, &out)
		if code != 202 || out.ID == "" {
			r.fail("e2e: post to hub0: %d %s", code, b)
		} else {
			ok := false
			for !ok {
				select {
				case d := <-got:
					ok = strings.Contains(d, out.ID)
				case <-ctx.Done():
					r.fail("e2e: entry.created for %s (posted to hub0) not seen on hub1 in 15s", out.ID)
					ok = true
					sent = time.Time{}
				}
			}
			if !sent.IsZero() {
				r.add("live event: posted to hub0, entry.created on hub1's /api/v1/events after %v", time.Since(sent).Round(time.Millisecond))
			}
		}
		cancel()
	}

	// 2. Routing: the crm customer's conversation went to team support.
	// (Checked through the conversation of the SSE message.)
	if es, err := timeline(e.hub(2%n).addr, "email:sse@example.com"); err == nil && len(es) > 0 {
		var conv struct {
			Team string `json:"team"`
		}
		if code, _ := get(e.hub(2%n).addr, "/api/v1/conversations/"+es[0].ConversationID, &conv); code == 200 {
			if conv.Team != "support" {
				r.fail("routing: conversation %s team %q, want support (routing rule of crm)", es[0].ConversationID, conv.Team)
			} else {
				r.add("routing: the crm message's conversation is in team support (read on hub2)")
			}
		}
	}

	// 3. Phases: a change through hub0 seen by every replica within 1 s.
	for _, phase := range []string{"pilot", "live"} {
		body := fmt.Sprintf(`{"phase":%q,"force":true}`, phase)
		req, _ := http.NewRequest("PUT", "http://"+e.hub(0).addr+"/api/v1/channels/spare/phase", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		req.Header.Set("Content-Type", "application/json")
		if code, b := do(req); code != 200 {
			r.fail("phase %s through hub0: %d %s", phase, code, b)
			continue
		}
		changed := time.Now()
		var worst time.Duration
		for i := 1; i < n; i++ {
			addr := e.hub(i).addr
			d, ok := waitFor(3*time.Second, func() bool {
				var list []struct {
					Name  string `json:"name"`
					Phase string `json:"phase"`
				}
				var wrapped struct {
					Channels []struct {
						Name  string `json:"name"`
						Phase string `json:"phase"`
					} `json:"channels"`
				}
				var raw json.RawMessage
				if code, _ := get(addr, "/api/v1/channels", &raw); code != 200 {
					return false
				}
				if json.Unmarshal(raw, &list) != nil {
					json.Unmarshal(raw, &wrapped)
					list = nil
					for _, c := range wrapped.Channels {
						list = append(list, struct {
							Name  string `json:"name"`
							Phase string `json:"phase"`
						}{c.Name, c.Phase})
					}
				}
				for _, c := range list {
					if c.Name == "spare" {
						return c.Phase == phase
					}
				}
				return false
			})
			d = time.Since(changed)
			if !ok || d > time.Second {
				r.fail("phase %s set through hub0 seen by hub%d after %v (limit 1s)", phase, i, d.Round(time.Millisecond))
			}
			worst = max(worst, d)
		}
		r.add("phase %s set through hub0: seen by every replica within %v", phase, worst.Round(time.Millisecond))
	}

	// 4. Leases: exactly one holder; SIGKILL it and another takes over.
	leases := []string{"plugin:tg", "slack:" + sockChannel}
	if e.email {
		leases = append(leases, "email:mail")
	}
	for _, name := range leases {
		var holder int
		if _, ok := waitFor(10*time.Second, func() bool { holder = e.leaseHolder(name); return holder >= 0 }); !ok {
			r.fail("lease %s: no live replica holds it", name)
			continue
		}
		h := e.hub(holder)
		h.ready.Store(false)
		h.cmd.Process.Signal(syscall.SIGKILL)
		<-h.done
		killed := time.Now()
		var next int
		d, ok := waitFor(30*time.Second, func() bool { next = e.leaseHolder(name); return next >= 0 && next != holder })
		if !ok {
			r.fail("lease %s: not taken over within 30s of SIGKILL of hub%d", name, holder)
		} else {
			r.add("lease %s: held by hub%d only; SIGKILLed, hub%d took it over after %v (lease_ttl 2s)", name, holder, next, d.Round(time.Millisecond))
		}
		// A message right after the kill arrives through the new holder.
		probe := fmt.Sprintf("[probe-%d]", killed.UnixNano()%1e9)
		identity := ""
		if strings.HasPrefix(name, "plugin:") {
			e.tg.UserSays(telegramtest.User{ID: 779999, FirstName: "Probe"}, "probe "+probe)
			identity = "telegram:779999"
		} else if strings.HasPrefix(name, "slack:") {
			// Slack sends on whichever connection is open: wait for the
			// new holder's, then send until one is acknowledged.
			if _, ok := waitFor(30*time.Second, func() bool {
				return e.sock.say(killed.UnixNano()%1e9, "U0SKPROBE", "probe "+probe)
			}); ok {
				identity = "slack:" + slackTeam + ":U0SKPROBE"
			} else {
				r.fail("lease %s: no Socket Mode connection acknowledged an event within 30s of the kill", name)
			}
		} else if err := deliverMail(probe, "probe@mail.example"); err == nil {
			identity = "email:probe@mail.example"
		}
		if identity != "" {
			d, ok := waitFor(60*time.Second, func() bool {
				es, _ := timeline(e.pick(), identity)
				for _, en := range es {
					if strings.Contains(en.Text, probe) {
						return true
					}
				}
				return false
			})
			if !ok {
				r.fail("lease %s: a message sent after the kill not on its timeline in 60s", name)
			} else {
				r.add("lease %s: a message sent right after the kill on its timeline after %v", name, (time.Since(killed)).Round(time.Millisecond))
			}
			_ = d
		}
		if _, err := e.startHub(holder); err != nil {
			r.fail("restart hub%d: %v", holder, err)
		}
	}

	// 5. Outbound: replies through each replica to one Slack conversation,
	// each posted to Slack exactly once.
	before := len(e.slack.posted())
	es, _ := timeline(e.pick(), "slack:"+slackTeam+":U0CL0001")
	if len(es) == 0 {
		r.fail("outbound: no Slack conversation to reply to")
		return
	}
	conv := es[len(es)-1].ConversationID
	for i := 0; i < n; i++ {
		for k := 0; k < 3; k++ {
			body := fmt.Sprintf(`{"text":"reply %d from hub%d"}`, k, i)
			req, _ := http.NewRequest("POST", "http://"+e.hub(i).addr+"/api/v1/conversations/"+conv+"/messages", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer "+adminToken)
			req.Header.Set("Content-Type", "application/json")
			if code, b := do(req); code != 202 {
				r.fail("outbound: reply through hub%d: %d %s", i, code, b)
			}
		}
	}
	wantPosts := 3 * n
	waitFor(20*time.Second, func() bool { return len(e.slack.posted())-before >= wantPosts })
	time.Sleep(2 * time.Second) // a second copy would come now
	posts := e.slack.posted()[before:]
	count := map[string]int{}
	for _, p := range posts {
		count[p.Get("text")]++
	}
	bad := 0
	for i := 0; i < n; i++ {
		for k := 0; k < 3; k++ {
			if count[fmt.Sprintf("reply %d from hub%d", k, i)] != 1 {
				bad++
			}
		}
	}
	if bad > 0 || len(posts) != wantPosts {
		r.fail("outbound: %d replies through %d replicas: %d posts to Slack, %d not exactly once", wantPosts, n, len(posts), bad)
	} else {
		r.add("outbound: %d replies through %d replicas, each posted to Slack exactly once", wantPosts, n)
	}
}

// stepFailover fails the ingest stream's primary over: planned (CLUSTER
// FAILOVER on its replica) or unplanned (SIGKILL; the replica is promoted
// after cluster-node-timeout).
func (e *env) stepFailover(r *report, l *ledger, unplanned bool) {
	ctx := context.Background()
	master, err := e.ingestMaster(ctx)
	if err != nil {
		r.fail("failover: %v", err)
		return
	}
	// After a Sentinel failover the old primary becomes a replica once the
	// Sentinels reconfigure it: wait for a replica in sync.
	var replica *redisnodes.Node
	waitFor(20*time.Second, func() bool {
		replica = e.replicaOf(ctx, master)
		return replica != nil && inSync(ctx, replica.Addr)
	})
	if replica == nil {
		r.fail("failover: no replica of %s", master)
		return
	}
	kind := "planned (CLUSTER FAILOVER)"
	if e.cl == nil {
		kind = "planned (SENTINEL FAILOVER)"
	}
	failedBefore := l.failed.Load()
	at := time.Now()
	var watch *oldMasterWatch // Sentinel planned: the old master's writes after the promotion
	if unplanned {
		kind = "unplanned (SIGKILL of the primary)"
		e.nodes.Node(master).Kill()
		// Promoted once the others mark it failed (node timeout) and elect.
		if _, ok := waitFor(60*time.Second, func() bool { role, _, err := redisnodes.Role(ctx, replica.Addr); return err == nil && role == "master" }); !ok {
			r.fail("failover: %s not promoted within 60s", replica.Addr)
			return
		}
	} else {
		if e.cl == nil {
			watch = watchOldMaster(master)
		}
		fctx, cancel := context.WithTimeout(ctx, 30*time.Second)
		err := e.plannedFailover(fctx, replica.Addr)
		cancel()
		if err != nil {
			r.fail("failover: %v", err)
			return
		}
		if watch != nil {
			watch.promotedAt(time.Now())
		}
	}
	promoted := time.Since(at)
	name := "planned"
	if unplanned {
		name = "unplanned"
	}
	e.faults = append(e.faults, fault{name: name, at: at, promoted: at.Add(promoted)})
	// Accepting again: the first 202 of the api channel after the fault.
	l.mu.Lock()
	l.lastOK = time.Time{}
	l.mu.Unlock()
	var firstOK time.Duration
	waitFor(60*time.Second, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		if !l.lastOK.IsZero() {
			firstOK = l.lastOK.Sub(at)
			return true
		}
		return false
	})
	// The longest stretch without any 202, around the fault: from a second
	// before it to 3 s after the promotion, or to a second after the first
	// api message accepted again if that is later (with min_replicas_ack
	// the new master refuses until it has a replica in sync, which after a
	// Sentinel failover takes as long as the Sentinels take to demote the
	// old master and it to resync; a fixed window cut that stretch short).
	end := at.Add(promoted + 3*time.Second)
	first, accepting := firstAPIAfter(l, at.Add(promoted), 30*time.Second)
	if accepting && first.Add(time.Second).After(end) {
		end = first.Add(time.Second)
	}
	gap := e.longestGap(l, at.Add(-time.Second), end)
	time.Sleep(3 * time.Second)
	again := ""
	if !accepting {
		again = " (no api message accepted within 30 s of the promotion)"
	}
	r.add("failover %s of %s to %s: promoted after %v; longest stretch without an accepted message %v%s; %d requests refused meanwhile",
		kind, master, replica.Addr, promoted.Round(time.Millisecond), gap.Round(time.Millisecond), again, l.failed.Load()-failedBefore)
	if watch != nil {
		// The Sentinels demote it about 8 s after the switch
		// (+convert-to-slave); wait for that, at most 20 s.
		waitFor(20*time.Second, func() bool {
			role, _, err := redisnodes.Role(ctx, master)
			return err == nil && role == "slave"
		})
		r.add("failover %s: %s", kind, watch.report())
	}
	_ = firstOK
}

// firstAPIAfter waits (at most limit) for an api message accepted after t
// and returns when it was accepted.
func firstAPIAfter(l *ledger, t time.Time, limit time.Duration) (time.Time, bool) {
	var first time.Time
	_, ok := waitFor(limit, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		for k, a := range l.accepted {
			if strings.HasPrefix(k, "[api-") && a.After(t) && (first.IsZero() || a.Before(first)) {
				first = a
			}
		}
		return !first.IsZero()
	})
	return first, ok
}

// longestGap is the longest time between two accepted messages in
// [from, to] (waiting until to has passed).
func (e *env) longestGap(l *ledger, from, to time.Time) time.Duration {
	if d := time.Until(to); d > 0 {
		time.Sleep(d)
	}
	l.mu.Lock()
	var ts []time.Time
	for k, at := range l.accepted {
		if strings.HasPrefix(k, "[api-") && !at.Before(from) && !at.After(to) {
			ts = append(ts, at)
		}
	}
	l.mu.Unlock()
	slices.SortFunc(ts, func(a, b time.Time) int { return a.Compare(b) })
	ts = append([]time.Time{from}, append(ts, to)...)
	var worst time.Duration
	for i := 1; i < len(ts); i++ {
		worst = max(worst, ts[i].Sub(ts[i-1]))
	}
	return worst
}

// stepRolling restarts every replica in turn with SIGTERM under load.
func (e *env) stepRolling(r *report, l *ledger) {
	failedBefore := l.failed.Load()
	start := time.Now()
	for i := range e.hubs {
		h := e.hub(i)
		h.cmd.Process.Signal(syscall.SIGTERM)
		sent := time.Now()
		d503, ok := waitFor(5*time.Second, func() bool { return readyz(h.addr) == 503 })
		if !ok {
			r.fail("rolling: hub%d's /readyz did not answer 503 after SIGTERM", i)
		}
		select {
		case <-h.done:
		case <-time.After(30 * time.Second):
			r.fail("rolling: hub%d did not exit within 30s of SIGTERM", i)
			h.cmd.Process.Signal(syscall.SIGKILL)
			<-h.done
		}
		exited := time.Since(sent)
		if _, err := e.startHub(i); err != nil {
			r.fail("rolling: restart hub%d: %v", i, err)
			return
		}
		r.add("rolling: hub%d SIGTERM → /readyz 503 after %v, exited after %v, restarted and ready after %v", i, d503.Round(time.Millisecond), exited.Round(time.Millisecond), time.Since(sent).Round(time.Millisecond))
		time.Sleep(time.Second)
	}
	r.add("rolling restart of %d replicas in %v: %d requests refused or failed meanwhile", len(e.hubs), time.Since(start).Round(time.Millisecond), l.failed.Load()-failedBefore)
}

// measureThroughput posts api messages as fast as 64 clients can to every
// replica for -throughput and reports accepted/s and processed/s.
func measureThroughput(e *env) error {
	var acc, fail atomic.Int64
	cmds0, cpu0 := e.redisWork()
	stop := make(chan struct{})
	var wg sync.WaitGroup
	var seq atomic.Int64
	t0 := time.Now()
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				n := seq.Add(1)
				if code, _ := postAPI(e.hub(int(n)%len(e.hubs)).addr, "crm", fmt.Sprintf("[tp-%d]", n), fmt.Sprintf("tp%d@example.com", n%1000)); code == 202 {
					acc.Add(1)
				} else {
					fail.Add(1)
				}
			}
		}()
	}
	time.Sleep(*throughput)
	close(stop)
	wg.Wait()
	sendDur := time.Since(t0)
	// Processed: the ingest stream drained (acked items are deleted).
	d, _ := waitFor(5*time.Minute, func() bool {
		n, err := e.rc.XLen(context.Background(), prefix+":{q:ingest}:stream").Result()
		return err == nil && n == 0
	})
	total := sendDur + d
	cmds1, cpu1 := e.redisWork()
	if n := float64(acc.Load()); n > 0 {
		fmt.Printf("redis work per message (all primaries): %.1f commands, %.0f µs CPU; per primary at the measured rate: %.0f%% of a core\n",
			float64(cmds1-cmds0)/n, (cpu1-cpu0)*1e6/n, (cpu1-cpu0)/total.Seconds()/3*100)
	}
	fmt.Printf("\nthroughput: %d hubs, 3 primaries, min_replicas_ack %d: %d accepted in %v (%.0f/s accepted), all processed after %v (%.0f/s end to end), %d refused\n",
		len(e.hubs), *minAck, acc.Load(), sendDur.Round(time.Millisecond), float64(acc.Load())/sendDur.Seconds(), total.Round(time.Millisecond),
		float64(acc.Load())/total.Seconds(), fail.Load())
	return nil
}

// redisWork sums commands processed and CPU seconds (user+sys) over the
// primaries.
func (e *env) redisWork() (cmds int64, cpu float64) {
	for _, n := range e.primaries(context.Background()) {
		c := n.Client()
		info, err := c.Info(context.Background(), "stats", "cpu").Result()
		c.Close()
		if err != nil {
			continue
		}
		for _, line := range strings.Split(info, "\r\n") {
			k, v, _ := strings.Cut(line, ":")
			switch k {
			case "total_commands_processed":
				x, _ := strconv.ParseInt(v, 10, 64)
				cmds += x
			case "used_cpu_sys", "used_cpu_user":
				x, _ := strconv.ParseFloat(v, 64)
				cpu += x
			}
		}
	}
	return cmds, cpu
}

// ---- Slack Web API peer ----

type slackPeer struct {
	*slacktest.Server
	mu    sync.Mutex
	posts []url.Values
}

func newSlackPeer(sock *sockPeer) *slackPeer {
	p := &slackPeer{}
	reply := func(w http.ResponseWriter, v any) {
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(v)
	}
	p.Server = slacktest.NewTestServer(func(c slacktest.Customize) {
		c.Handle("/auth.test", func(w http.ResponseWriter, r *http.Request) {
			reply(w, map[string]any{"ok": true, "team": "Cluster Co", "team_id": slackTeam, "user": "hub", "user_id": "U0CLBOT1", "bot_id": "B0CLBOT1"})
		})
		c.Handle("/users.info", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			reply(w, map[string]any{"ok": true, "user": map[string]any{"id": r.Form.Get("user"), "name": "u", "profile": map[string]any{"display_name": "U"}}})
		})
		c.Handle("/apps.connections.open", func(w http.ResponseWriter, r *http.Request) {
			sock.connectionsOpen(p.ServerAddr)(w, r)
		})
		c.Handle("/link", sock.serve)
		c.Handle("/chat.postMessage", func(w http.ResponseWriter, r *http.Request) {
			r.ParseForm()
			p.mu.Lock()
			p.posts = append(p.posts, r.Form)
			n := len(p.posts)
			p.mu.Unlock()
			reply(w, map[string]any{"ok": true, "channel": r.Form.Get("channel"), "ts": fmt.Sprintf("1770000000.%06d", n)})
		})
	})
	p.Start()
	return p
}

func (p *slackPeer) posted() []url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]url.Values(nil), p.posts...)
}

var _ = errors.New
