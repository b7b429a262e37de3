package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// load is the project's load generator: it pushes messages into a running
// hub's api channel at a fixed offered rate (or as fast as it can) and
// measures, per message, the time from sending the request to the
// entry.created event arriving over server-sent events: the whole
// ingest → queue → router → timeline → realtime path.
//
// With --sms-channel it posts signed Twilio message webhooks to an sms
// channel instead (what Twilio sends for an inbound SMS), measuring the
// webhook's answer (Twilio's ack) and counting the channel's entries that
// reach a timeline; the answer carries no entry id, so there is no
// per-message end-to-end latency in this mode.
func load(args []string, w io.Writer) error {
	fs := newFlagSet("load")
	o := loadFlags(fs)
	channel, rate, dur, conc, customers, settle := o.channel, o.rate, o.dur, o.conc, o.customers, o.settle
	redisAddrs := o.redis
	c, _, err := newClient(fs, args)
	if err != nil {
		return err
	}
	switch {
	case *o.smsChannel == "" && (*o.smsTokenFile != "" || *o.smsPublicURL != ""):
		return usageError("--twilio-auth-token-file and --sms-public-url go with --sms-channel")
	case *o.smsChannel != "" && *o.smsTokenFile == "":
		return usageError("--sms-channel needs --twilio-auth-token-file (the channel's auth token, which signs the webhooks)")
	}
	run := fmt.Sprintf("%x", time.Now().UnixNano())
	// A channel that is not there (or not of the mode's type) fails now,
	// not as a run of silently failed posts.
	var sms *smsLoad
	if *o.smsChannel != "" {
		if err := c.checkChannel(*o.smsChannel, "sms", "--sms-channel"); err != nil {
			return fmt.Errorf("load: %w", err)
		}
		public := *o.smsPublicURL
		if public == "" {
			public = c.base
		}
		if sms, err = newSMSLoad(strings.TrimRight(public, "/")+smsWebhookPath(*o.smsChannel), *o.smsTokenFile, run); err != nil {
			return err
		}
		*channel = *o.smsChannel // the report's and the events' channel
	} else if err := c.checkChannel(*channel, "api", "--channel"); err != nil {
		return fmt.Errorf("load: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr := &http.Transport{}

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
		smsEvent := []byte(`"channel":` + strconv.Quote(*channel))
		for sc.Scan() {
			id, ok := entryCreated(sc.Bytes())
			if !ok {
				continue
			}
			if sms != nil {
				// No id to match: count the channel's new entries.
				if bytes.Contains(sc.Bytes(), smsEvent) {
					seen.Add(1)
				}
				continue
			}
			now := time.Now()
			mu.Lock()
			if t, ok := sent[id]; ok {
				e2e = append(e2e, now.Sub(t))
				delete(sent, id)
				seen.Add(1)
			} else {
				pending[id] = now
			}
			mu.Unlock()
		}
	}()

	cost, err := newCostMeter(ctx, c, *redisAddrs)
	if err != nil {
		return err
	}
	defer cost.close()

	var target *rawTarget
	if sms != nil {
		target, err = newRawTarget(c.base, smsWebhookPath(*channel), "Content-Type: application/x-www-form-urlencoded\r\n")
	} else {
		target, err = newRawTarget(c.base, "/api/v1/channels/"+*channel+"/messages",
			"Authorization: Bearer "+c.token+"\r\nContent-Type: application/json\r\n")
	}
	if err != nil {
		return err
	}
	var failedBy failures
	// A job is a message number and when it was due: latency counts from
	// then, so a generator that falls behind its schedule shows as latency
	// instead of hiding it (no coordinated omission).
	type job struct {
		n   int
		due time.Time
	}
	jobs := make(chan job, *conc*4)
	var accLat, lagLat, rttLat []time.Duration
	var wg sync.WaitGroup
	for i := 0; i < *conc; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var local, lag, rtt []time.Duration
			var conn *rawConn
			var body []byte
			var sr *smsReq
			if sms != nil {
				sr = sms.newReq()
			}
			for j := range jobs {
				if *rate <= 0 {
					j.due = time.Now() // flat out: nothing is due, count from sending
				}
				if sms != nil {
					sms.build(sr, j.n, *customers)
					status, _, err := target.post(&conn, sr.hdr, sr.body)
					if err != nil || status != http.StatusOK {
						// Twilio's ack is a 200 with TwiML; anything
						// else (403: a wrong signature) Twilio retries
						// or gives up on.
						failed.Add(1)
						failedBy.add(status)
						continue
					}
					local = append(local, time.Since(j.due))
					accepted.Add(1)
					continue
				}
				body = loadBody(body[:0], run, j.n, *customers)
				sentAt := time.Now()
				lag = append(lag, sentAt.Sub(j.due))
				status, resp, err := target.post(&conn, nil, body)
				rtt = append(rtt, time.Since(sentAt))
				if err != nil || status != http.StatusAccepted {
					failed.Add(1)
					failedBy.add(status)
					continue
				}
				var out struct{ ID string }
				_ = json.Unmarshal(resp, &out)
				local = append(local, time.Since(j.due))
				accepted.Add(1)
				mu.Lock()
				if at, ok := pending[out.ID]; ok {
					e2e = append(e2e, at.Sub(j.due))
					delete(pending, out.ID)
					seen.Add(1)
				} else {
					sent[out.ID] = j.due
				}
				mu.Unlock()
			}
			if conn != nil {
				conn.c.Close()
			}
			mu.Lock()
			accLat = append(accLat, local...)
			lagLat = append(lagLat, lag...)
			rttLat = append(rttLat, rtt...)
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
			jobs <- job{n, next}
			n++
		}
	} else {
		for time.Since(start) < *dur {
			jobs <- job{n, time.Now()}
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
	slices.Sort(lagLat)
	slices.Sort(rttLat)
	what := "messages"
	if sms != nil {
		what = "signed Twilio webhooks"
	}
	fmt.Fprintf(w, "offered:   %d %s in %s (%.0f/s)\n", n, what, sendTime.Round(time.Millisecond), float64(n)/sendTime.Seconds())
	fmt.Fprintf(w, "accepted:  %d (%.0f/s), failed: %d%s\n", accepted.Load(), float64(accepted.Load())/sendTime.Seconds(), failed.Load(), failedBy.String())
	fmt.Fprintf(w, "on timeline: %d of %d (%.0f/s over %s)\n", seen.Load(), accepted.Load(), float64(seen.Load())/total.Seconds(), total.Round(time.Millisecond))
	fmt.Fprintf(w, "accept latency:   p50 %s  p99 %s\n", pct(accLat, 50), pct(accLat, 99))
	if len(rttLat) > 0 {
		fmt.Fprintf(w, "  of which due → sent (the generator's own delay): p50 %s  p99 %s; sent → 202: p50 %s  p99 %s\n",
			pct(lagLat, 50), pct(lagLat, 99), pct(rttLat, 50), pct(rttLat, 99))
	}
	if sms == nil {
		fmt.Fprintf(w, "end-to-end latency (POST → entry.created event): p50 %s  p99 %s  max %s\n", pct(e2e, 50), pct(e2e, 99), pct(e2e, 100))
	}
	if accepted.Load() == 0 && n > 0 {
		return fmt.Errorf("load: none of %d messages was accepted by channel %q", n, *channel)
	}
	cost.report(context.Background(), w, int(seen.Load())) // ctx is cancelled by now
	if *o.redisMemory {
		cost.families(context.Background(), w, int(seen.Load()))
	}
	if seen.Load() < accepted.Load() {
		return fmt.Errorf("%d accepted messages did not reach a timeline within %s", accepted.Load()-seen.Load(), *settle)
	}
	return nil
}

type loadOpts struct {
	channel, redis        *string
	redisMemory           *bool
	smsChannel            *string
	smsTokenFile          *string
	smsPublicURL          *string
	rate, conc, customers *int
	dur, settle           *time.Duration
}

// loadFlags defines load's own flags on fs (newClient adds --url, --token
// and --config).
func loadFlags(fs *flag.FlagSet) loadOpts {
	return loadOpts{
		channel:     fs.String("channel", "api", "api channel to post to"),
		rate:        fs.Int("rate", 0, "offered messages per second (0: as fast as possible)"),
		dur:         fs.Duration("duration", 10*time.Second, "how long to send"),
		conc:        fs.Int("concurrency", 64, "concurrent HTTP requests"),
		customers:   fs.Int("customers", 1000, "distinct senders (at most 1,000,000 with --sms-channel)"),
		settle:      fs.Duration("settle", 30*time.Second, "how long to wait for the last timeline events"),
		redis:       fs.String("redis", "", "the hub's Redis (host:port, comma-separated for a Cluster): report its commands, bytes written, CPU and memory per message (INFO deltas)"),
		redisMemory: fs.Bool("redis-memory", false, "with --redis, also report the MEMORY USAGE of every key per key family, per message (reads every key: a Redis of the run's own)"),

		smsChannel:   fs.String("sms-channel", "", "post signed Twilio inbound-SMS webhooks to this sms channel instead of messages to --channel"),
		smsTokenFile: fs.String("twilio-auth-token-file", "", "file holding the sms channel's Twilio auth token, which signs the webhooks (with --sms-channel)"),
		smsPublicURL: fs.String("sms-public-url", "", "the sms channel's public_url, the base of the URL Twilio signs (default: --url)"),
	}
}

// checkChannel fails unless the hub has a channel called name of type
// typ (flag names the flag that chose it).
func (c *client) checkChannel(name, typ, flag string) error {
	var ch struct {
		Type string `json:"type"`
	}
	if err := c.do("GET", "/api/v1/channels/"+url.PathEscape(name), nil, &ch); err != nil {
		return fmt.Errorf("channel %q: %w (name an %s channel with %s)", name, err, typ, flag)
	}
	if ch.Type != typ {
		return fmt.Errorf("channel %q is a %s channel; %s names an %s channel", name, ch.Type, flag, typ)
	}
	return nil
}

// failures counts failed requests by HTTP status (0: no answer), for the
// report: a run of 403s says the signature is wrong, 503s that the hub shed
// load, 0s that connections failed.
type failures struct {
	by [600]atomic.Int64
}

func (f *failures) add(status int) {
	if status < 0 || status >= len(f.by) {
		status = 0
	}
	f.by[status].Add(1)
}

// String is " (403: 12, no answer: 3)", or "" with no failure.
func (f *failures) String() string {
	var parts []string
	for st := range f.by {
		if n := f.by[st].Load(); n > 0 {
			k := strconv.Itoa(st)
			if st == 0 {
				k = "no answer"
			}
			parts = append(parts, k+": "+strconv.FormatInt(n, 10))
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func pct(d []time.Duration, p int) time.Duration {
	if len(d) == 0 {
		return 0
	}
	i := (len(d)*p + 99) / 100
	i = min(max(i-1, 0), len(d)-1)
	return d[i].Round(10 * time.Microsecond)
}

// entryCreated extracts the entry id from an SSE line carrying an
// entry.created event. The hub writes its events as compact JSON whose ids
// need no escaping, so a search does what decoding each event would, at a
// fraction of the load generator's CPU.
func entryCreated(line []byte) (string, bool) {
	data, ok := bytes.CutPrefix(line, []byte("data: "))
	if !ok || !bytes.Contains(data, []byte(`"type":"entry.created"`)) {
		return "", false
	}
	_, rest, ok := bytes.Cut(data, []byte(`"entry_id":"`))
	if !ok {
		return "", false
	}
	id, _, ok := bytes.Cut(rest, []byte(`"`))
	return string(id), ok && len(id) > 0
}

// loadBody appends message n's JSON request body to b.
func loadBody(b []byte, run string, n, customers int) []byte {
	b = append(b, `{"external_id":"load-`...)
	b = append(b, run...)
	b = append(b, '-')
	b = strconv.AppendInt(b, int64(n), 10)
	b = append(b, `","sender":{"email":"load`...)
	b = strconv.AppendInt(b, int64(n%max(customers, 1)), 10)
	b = append(b, `@example.com"},"text":"load test message `...)
	b = strconv.AppendInt(b, int64(n), 10)
	return append(b, `"}`...)
}

// rawTarget posts requests over plain HTTP/1.1 keep-alive connections with
// a request head written once: the load generator shares the machine with
// the hub it measures, so it spends as little CPU per request as it can
// (net/http's client cost about as much as the hub's handler).
type rawTarget struct {
	addr, host string
	tls        *tls.Config
	head       []byte // request line and the fixed headers
}

type rawConn struct {
	c  net.Conn
	br *bufio.Reader
	w  []byte
}

// newRawTarget posts to path under base with the fixed header lines
// headers (each ending in CRLF).
func newRawTarget(base, path, headers string) (*rawTarget, error) {
	u, err := url.Parse(strings.TrimRight(base, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("load: --url must be an http(s) URL, got %q", base)
	}
	t := &rawTarget{addr: u.Host, host: u.Host}
	if u.Port() == "" {
		t.addr = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	if u.Scheme == "https" {
		t.tls = &tls.Config{ServerName: u.Hostname()}
	}
	t.head = []byte("POST " + u.EscapedPath() + path + " HTTP/1.1\r\nHost: " + t.host + "\r\n" + headers)
	return t, nil
}

// post sends body, after the request's own header lines hdr (each ending
// in CRLF; nil for none), on *conn (dialling when nil or broken) and
// returns the status and response body. A kept-alive connection that turns out closed
// by the server before any answer (EOF, reset) is redialled once; any other
// failure is returned (the request may have been handled).
func (t *rawTarget) post(conn **rawConn, hdr, body []byte) (int, []byte, error) {
	for attempt := 0; ; attempt++ {
		reused := *conn != nil
		if *conn == nil {
			c, err := net.DialTimeout("tcp", t.addr, 10*time.Second)
			if err != nil {
				return 0, nil, err
			}
			if t.tls != nil {
				c = tls.Client(c, t.tls)
			}
			*conn = &rawConn{c: c, br: bufio.NewReaderSize(c, 4096)}
		}
		rc := *conn
		rc.w = append(append(append(rc.w[:0], t.head...), hdr...), "Content-Length: "...)
		rc.w = strconv.AppendInt(rc.w, int64(len(body)), 10)
		rc.w = append(append(rc.w, "\r\n\r\n"...), body...)
		_ = rc.c.SetDeadline(time.Now().Add(30 * time.Second))
		status, resp, keep, err := rc.roundTrip()
		if err != nil || !keep {
			rc.c.Close()
			*conn = nil
		}
		if err != nil && attempt == 0 && reused && status == 0 && closedConn(err) {
			continue // a kept-alive connection the server had closed
		}
		return status, resp, err
	}
}

func closedConn(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.EPIPE)
}

func (rc *rawConn) roundTrip() (status int, body []byte, keep bool, err error) {
	if _, err := rc.c.Write(rc.w); err != nil {
		return 0, nil, false, err
	}
	line, err := rc.br.ReadSlice('\n')
	if err != nil {
		return 0, nil, false, err
	}
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) {
		return 0, nil, false, fmt.Errorf("load: bad status line %q", line)
	}
	if status, err = strconv.Atoi(string(line[9:12])); err != nil {
		return 0, nil, false, fmt.Errorf("load: bad status line %q", line)
	}
	length, chunked, keep := -1, false, true
	for {
		h, err := rc.br.ReadSlice('\n')
		if err != nil {
			return status, nil, false, err
		}
		h = bytes.TrimRight(h, "\r\n")
		if len(h) == 0 {
			break
		}
		k, v, _ := bytes.Cut(h, []byte(":"))
		v = bytes.TrimSpace(v)
		switch {
		case bytes.EqualFold(k, []byte("Content-Length")):
			length, _ = strconv.Atoi(string(v))
		case bytes.EqualFold(k, []byte("Transfer-Encoding")):
			chunked = bytes.EqualFold(v, []byte("chunked"))
		case bytes.EqualFold(k, []byte("Connection")):
			keep = !bytes.EqualFold(v, []byte("close"))
		}
	}
	switch {
	case status/100 == 1 || status == http.StatusNoContent || status == http.StatusNotModified:
		return status, nil, keep, nil
	case chunked:
		for {
			l, err := rc.br.ReadString('\n')
			if err != nil {
				return status, nil, false, err
			}
			n, err := strconv.ParseInt(strings.TrimSpace(strings.SplitN(l, ";", 2)[0]), 16, 32)
			if err != nil {
				return status, nil, false, fmt.Errorf("load: bad chunk size %q", l)
			}
			if n == 0 {
				_, err = rc.br.ReadString('\n')
				return status, body, keep, err
			}
			chunk := make([]byte, n+2)
			if _, err := io.ReadFull(rc.br, chunk); err != nil {
				return status, nil, false, err
			}
			body = append(body, chunk[:n]...)
		}
	case length >= 0:
		body = make([]byte, length)
		_, err = io.ReadFull(rc.br, body)
		return status, body, keep && err == nil, err
	default: // until the server closes
		body, err = io.ReadAll(rc.br)
		return status, body, false, err
	}
}
