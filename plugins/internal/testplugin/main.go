package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/switchboard-hub/switchboard/plugins/internal/wire"
	"github.com/switchboard-hub/switchboard/plugins/sdk"
)

var variant = ""

func main() {
	switch variant {
	case "wrongversion":
		wire.Handshake.ProtocolVersion = wire.ProtocolVersion + 1
	case "garbage":
		fmt.Println("hello from a plugin that prints to stdout")
	}
	sdk.Serve(&channel{})
}

type channel struct {
	cfg  sdk.Config
	dir  string
	host sdk.Host
	mu   sync.Mutex
	// inflight: pending files being delivered now.
	inflight map[string]bool
}

func (c *channel) Describe() sdk.Description {
	return sdk.Description{Name: "testplugin", Version: "0.1.0-" + variant,
		Identities: []sdk.IdentityKind{{Kind: "testkit", Verified: true}, {Kind: "email", Verified: true}},
		Routes:     []sdk.Route{{Method: "POST", Path: "/raw"}}, RunOnce: true}
}

func (c *channel) Configure(ctx context.Context, cfg sdk.Config) error {
	c.cfg = cfg
	c.mu.Lock()
	c.host = cfg.Host // webhooks deliver also where Run is not running
	c.inflight = map[string]bool{}
	c.mu.Unlock()
	if cfg.Settings["freeze_configure"] != "" {
		// Frozen mid-start, as a process stopped by a debugger or the OOM
		// killer's cgroup freezer.
		syscall.Kill(os.Getpid(), syscall.SIGSTOP)
	}
	c.dir = cfg.Settings["state_dir"]
	if c.dir == "" {
		return errors.New("setting state_dir is required")
	}
	return os.MkdirAll(filepath.Join(c.dir, "pending"), 0o755)
}

type pending struct {
	Key, Text string
}

func (c *channel) Run(ctx context.Context, host sdk.Host) error {
	if c.cfg.Settings["fail_run"] != "" {
		time.Sleep(50 * time.Millisecond)
		return errors.New(c.cfg.Settings["fail_run"])
	}
	log := c.cfg.Logger
	log.Info("receiving", "dir", c.dir)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
		ents, err := os.ReadDir(filepath.Join(c.dir, "pending"))
		if err != nil {
			log.Warn("read pending", "err", err)
			continue
		}
		names := make([]string, 0, len(ents))
		for _, e := range ents {
			if strings.HasSuffix(e.Name(), ".json") {
				names = append(names, e.Name())
			}
		}
		sort.Strings(names)
		// Deliver concurrently (pipelined on one stream), each pending
		// message once at a time, and confirm each to the "provider" only
		// once acknowledged.
		for _, n := range names {
			c.mu.Lock()
			busy := c.inflight[n]
			if !busy {
				c.inflight[n] = true
			}
			c.mu.Unlock()
			if busy {
				continue
			}
			go func() {
				c.deliverPending(ctx, n)
				c.mu.Lock()
				delete(c.inflight, n)
				c.mu.Unlock()
			}()
		}
	}
}

func (c *channel) deliverPending(ctx context.Context, name string) {
	path := filepath.Join(c.dir, "pending", name)
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	var p pending
	if json.Unmarshal(b, &p) != nil {
		os.Remove(path)
		return
	}
	_, err = c.host.Deliver(ctx, c.message(p.Key, p.Text))
	if sdk.Retryable(err) {
		c.cfg.Logger.Warn("delivery not acknowledged; will redeliver", "key", p.Key, "err", err)
		return
	}
	if err != nil {
		c.cfg.Logger.Error("the hub refused a message", "key", p.Key, "err", err)
	}
	os.Remove(path)
}

func (c *channel) message(key, text string) sdk.Message {
	return sdk.Message{ProviderID: key, Identities: []sdk.Identity{{Type: "testkit", Value: "kit-user", Verified: true}},
		SenderName: "Kit User", Text: text, OccurredAt: time.Now()}
}

func (c *channel) Inject(ctx context.Context, key, text string) error {
	if strings.HasPrefix(key, "bench:") {
		return c.bench(ctx, key)
	}
	b, _ := json.Marshal(pending{Key: key, Text: text})
	// Keys sort by injection time so a batch is delivered in order.
	name := fmt.Sprintf("%020d-%s.json", time.Now().UnixNano(), strings.NewReplacer("/", "_", ".", "_").Replace(key))
	tmp := filepath.Join(c.dir, name+".tmp")
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, filepath.Join(c.dir, "pending", name))
}

func (c *channel) Send(ctx context.Context, out sdk.Outgoing) (sdk.SendResult, error) {
	if out.To.Value == "" {
		return sdk.SendResult{}, fmt.Errorf("%w: no recipient", sdk.ErrPermanent)
	}
	if strings.Contains(out.Text, "PERMANENT") {
		return sdk.SendResult{}, fmt.Errorf("%w: the provider refused the content", sdk.ErrPermanent)
	}
	if strings.Contains(out.Text, "HANG") {
		<-ctx.Done()
		return sdk.SendResult{}, ctx.Err()
	}
	if st, ok := strings.CutPrefix(out.Text, "STATUS:"); ok {
		return sdk.SendResult{ProviderID: "sent-" + out.EntryID, Status: st}, nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	f, err := os.OpenFile(filepath.Join(c.dir, "sent.jsonl"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return sdk.SendResult{}, err
	}
	defer f.Close()
	b, _ := json.Marshal(out)
	if _, err := f.Write(append(b, '\n')); err != nil {
		return sdk.SendResult{}, err
	}
	id := "sent-" + out.EntryID
	if c.host != nil && out.EntryID != "" {
		go c.host.UpdateStatus(context.Background(), id, "delivered", "")
	}
	return sdk.SendResult{ProviderID: id, Status: "sent"}, nil
}

func (c *channel) Test(ctx context.Context) (string, error) {
	return "state dir " + c.dir + " is reachable", nil
}

// ServeHTTP serves POST /raw?kind=headers|status|logflood (see below) and
// kind=noidentity|huge|badutf8|undeclared|badflag|badpurpose|email|ok:
// it delivers the message and answers 200 with the hub's id, or 422 with
// the hub's error.
func (c *channel) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	kind := r.URL.Query().Get("kind")
	switch kind {
	case "headers":
		// A hostile answer: a cookie for the hub's origin, a redirect, a
		// sign-out, a password prompt, a proxy's file-serving header, HTML
		// without a content type; and the headers a plugin may set. The
		// body lists the request headers received.
		w.Header().Set("Set-Cookie", "sb_session=stolen")
		w.Header().Set("Location", "https://evil.example/login")
		w.Header().Set("Refresh", "0; url=https://evil.example/login")
		w.Header().Set("Clear-Site-Data", `"*"`)
		w.Header().Set("WWW-Authenticate", `Basic realm="Switchboard"`)
		w.Header().Set("Content-Disposition", "attachment; filename=invoice.html")
		w.Header().Set("Link", "<https://evil.example/x.css>; rel=stylesheet")
		w.Header().Set("X-Accel-Redirect", "/internal/secrets")
		w.Header().Set("Access-Control-Allow-Origin", "*")
		w.Header().Set("Cache-Control", "no-store")
		w.Header().Set("ETag", `"v1"`)
		w.Header().Set("Retry-After", "7")
		names := make([]string, 0, len(r.Header))
		for k := range r.Header {
			names = append(names, k)
		}
		sort.Strings(names)
		fmt.Fprintf(w, "<script>alert(1)</script> %s", strings.Join(names, ","))
		return
	case "status":
		code, _ := strconv.Atoi(r.URL.Query().Get("code"))
		w.WriteHeader(code)
		return
	case "logflood":
		// A plugin that floods its stderr (raw lines and through the
		// SDK's logger alike).
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		for i := 0; i < n; i++ {
			fmt.Fprintf(os.Stderr, "flood line %d\n", i)
		}
		fmt.Fprintln(w, "flooded")
		return
	}
	key := r.URL.Query().Get("key")
	if key == "" {
		key = "raw-" + kind
	}
	m := c.message(key, "raw "+kind)
	switch kind {
	case "ok":
	case "noidentity":
		m.Identities = nil
	case "huge":
		m.Text = strings.Repeat("x", c.cfg.MaxTextBytes+1)
	case "badutf8":
		m.Text = "bad \xff\xfe utf-8"
	case "undeclared":
		m.Identities = []sdk.Identity{{Type: "phone", Value: "+14155550123", Verified: true}}
	case "badflag":
		m.Flags = []string{"bad \xff flag"}
	case "badpurpose":
		m.Consent = &sdk.Consent{Purpose: "\xfesms", Granted: false}
	case "email":
		// A hub kind, declared verified: verified only if the operator allows it.
		m.Identities = []sdk.Identity{{Type: "email", Value: "kit@example.com", Verified: true}}
	default:
		http.Error(w, "unknown kind", http.StatusBadRequest)
		return
	}
	c.mu.Lock()
	host := c.host
	c.mu.Unlock()
	if host == nil {
		http.Error(w, "not running", http.StatusServiceUnavailable)
		return
	}
	id, err := host.Deliver(r.Context(), m)
	if err != nil {
		status := http.StatusUnprocessableEntity
		if sdk.Retryable(err) {
			status = http.StatusServiceUnavailable
		}
		http.Error(w, err.Error(), status)
		return
	}
	fmt.Fprintln(w, id)
}

// bench ("bench:N:C") delivers N messages from C goroutines, timing each
// round trip (Deliver until the ack), and writes the figures to
// state_dir/bench.json before returning.
func (c *channel) bench(ctx context.Context, key string) error {
	var n, conc int
	if _, err := fmt.Sscanf(key, "bench:%d:%d", &n, &conc); err != nil || conc < 1 {
		return fmt.Errorf("bad bench key %q", key)
	}
	c.mu.Lock()
	host := c.host
	c.mu.Unlock()
	lat := make([]time.Duration, n)
	var next atomic.Int64
	var firstErr atomic.Value
	start := time.Now()
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				m := c.message(fmt.Sprintf("bench-%d", i), "a benchmark message of about the size of a short chat line, 100 bytes long......")
				t0 := time.Now()
				if _, err := host.Deliver(ctx, m); err != nil {
					firstErr.CompareAndSwap(nil, err)
				}
				lat[i] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err, _ := firstErr.Load().(error); err != nil {
		return err
	}
	slices.Sort(lat)
	b, _ := json.Marshal(map[string]int64{"n": int64(n), "elapsed_ns": elapsed.Nanoseconds(),
		"p50_ns": lat[n/2].Nanoseconds(), "p99_ns": lat[n*99/100].Nanoseconds()})
	return os.WriteFile(filepath.Join(c.dir, "bench.json"), b, 0o644)
}
