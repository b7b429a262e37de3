package plugins

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	pb "github.com/switchboard-hub/switchboard/plugins/internal/proto"
)

// States of a plugin channel, as `switchboard plugins list` shows them.
const (
	StateStopped    = "stopped"    // not running (channel off, or hub stopping)
	StateStarting   = "starting"   // launching and handshaking
	StateRunning    = "running"    // healthy
	StateRestarting = "restarting" // crashed or hung; waiting its backoff
	StateFailed     = "failed"     // refused (checksum, protocol, settings); retried after the longest backoff
)

// Options tune a plugin channel. Zero values take the defaults.
type Options struct {
	// Channel is the configured channel name.
	Channel string
	Logger  *slog.Logger
	// Status receives delivery status updates the plugin reports.
	Status connectors.StatusSink
	// MaxText is the largest text a plugin may deliver (DefaultMaxText).
	MaxText int
	// WebhookURL is the public URL of /webhooks/plugin/{channel}.
	WebhookURL string
	// HealthInterval between health checks (1s); HealthTimeout for each (2s);
	// a plugin failing HealthFailures (2) checks in a row is restarted.
	HealthInterval, HealthTimeout time.Duration
	HealthFailures                int
	// MinBackoff (500ms) doubles after each failed start up to MaxBackoff (30s).
	MinBackoff, MaxBackoff time.Duration
	// StartTimeout bounds the handshake and set-up calls (15s).
	StartTimeout time.Duration
	// MaxBodyBytes caps a webhook request forwarded to the plugin (1 MiB).
	MaxBodyBytes int64
	// SendTimeout bounds one Send or Test call into the plugin (60s): a
	// plugin that hangs in Send while answering health checks would
	// otherwise hold one of the hub's few outbound workers for good.
	SendTimeout time.Duration
	// WebhookTimeout bounds one forwarded webhook request (30s).
	WebhookTimeout time.Duration
	// LogLinesPerSecond (DefaultLogLinesPerSecond) and LogBurst
	// (DefaultLogBurst) limit the lines the plugin's stderr and stdout put
	// in the hub's log; the rest are counted and reported as suppressed.
	LogLinesPerSecond float64
	LogBurst          int
	// Lease, when set, is taken before a RunOnce plugin receives: only the
	// replica holding it runs the plugin's Run (Send and webhooks work on
	// every replica). Nil: every plugin receives (one replica).
	Lease Lease
}

// Lease is the lease a RunOnce plugin channel receives under. The hub
// passes its one lease implementation (lease.Holder over the store's
// leases, with their fencing tokens): it renews itself and judges expiry;
// this package only polls it and does not import a store.
type Lease interface {
	// Hold reports whether this replica holds the lease, taking it when it
	// is free: false when another replica holds it or it was lost; an
	// error when it is not held and could not be taken now.
	Hold(ctx context.Context) (bool, error)
	// Release lets the lease go if this replica holds it (best effort).
	Release(ctx context.Context) error
	// TTL is how long the lease lasts without renewal.
	TTL() time.Duration
}

func (o *Options) defaults() {
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.HealthInterval <= 0 {
		o.HealthInterval = time.Second
	}
	if o.HealthTimeout <= 0 {
		o.HealthTimeout = 2 * time.Second
	}
	if o.HealthFailures <= 0 {
		o.HealthFailures = 2
	}
	if o.MinBackoff <= 0 {
		o.MinBackoff = 500 * time.Millisecond
	}
	if o.MaxBackoff <= 0 {
		o.MaxBackoff = 30 * time.Second
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = 1 << 20
	}
	if o.MaxText <= 0 {
		o.MaxText = DefaultMaxText
	}
	if o.StartTimeout <= 0 {
		o.StartTimeout = 15 * time.Second
	}
	if o.SendTimeout <= 0 {
		o.SendTimeout = time.Minute
	}
	if o.WebhookTimeout <= 0 {
		o.WebhookTimeout = 30 * time.Second
	}
	if o.LogLinesPerSecond <= 0 {
		o.LogLinesPerSecond = DefaultLogLinesPerSecond
	}
	if o.LogBurst <= 0 {
		o.LogBurst = DefaultLogBurst
	}
}

// Status is what `switchboard plugins list` shows for one plugin channel.
type Status struct {
	Plugin   string `json:"plugin"`
	Channel  string `json:"channel,omitempty"`
	Path     string `json:"path"`
	State    string `json:"state"`
	Version  string `json:"version,omitempty"`
	PID      int    `json:"pid,omitempty"`
	Restarts int    `json:"restarts"`
	// Receiving: the plugin's Run is running here (false on a replica
	// without the lease of a RunOnce plugin).
	Receiving bool      `json:"receiving"`
	LastError string    `json:"last_error,omitempty"`
	Since     time.Time `json:"since"`
	Info      *Info     `json:"info,omitempty"`
}

// Channel is a channel served by a plugin binary. Run supervises the
// process; Send, the webhook routes and Test go to whichever process is
// running.
type Channel struct {
	spec Spec
	o    Options
	// output limits the plugin's log lines, across restarts.
	output *outputLimiter

	mu     sync.Mutex
	cur    *process
	status Status
}

var (
	_ connectors.Source = (*Channel)(nil)
	_ connectors.Sender = (*Channel)(nil)
	_ connectors.Router = (*Channel)(nil)
	_ connectors.Tester = (*Channel)(nil)
)

// NewChannel returns a plugin channel; nothing runs until Run.
func NewChannel(spec Spec, o Options) *Channel {
	o.defaults()
	o.Logger = o.Logger.With("plugin", spec.Plugin)
	return &Channel{spec: spec, o: o, output: newOutputLimiter(o.Logger.With("channel", o.Channel), o.LogLinesPerSecond, o.LogBurst),
		status: Status{Plugin: spec.Plugin, Channel: o.Channel, Path: spec.Path, State: StateStopped, Since: time.Now()}}
}

// Status returns the channel's current state.
func (c *Channel) Status() Status {
	c.mu.Lock()
	defer c.mu.Unlock()
	s := c.status
	return s
}

func (c *Channel) setState(state string, f func(s *Status)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.status.State != state {
		c.status.Since = time.Now()
	}
	c.status.State = state
	if f != nil {
		f(&c.status)
	}
}

func (c *Channel) current() *process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur
}

// Run launches the plugin, keeps it healthy and restarts it with
// exponential backoff when it crashes, hangs or fails to start, until ctx
// is cancelled; then it stops the plugin and returns nil. Messages the
// plugin delivered but never saw acknowledged are its to redeliver.
func (c *Channel) Run(ctx context.Context, sink connectors.Sink) error {
	backoff := c.o.MinBackoff
	defer c.setState(StateStopped, func(s *Status) { s.PID = 0; s.Receiving = false })
	defer c.output.flush()
	if c.o.Lease != nil {
		defer func() {
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
			defer cancel()
			if err := c.o.Lease.Release(rctx); err != nil {
				c.o.Logger.Warn("plugin lease not released", "channel", c.o.Channel, "err", err)
			}
		}()
	}
	for attempt := 0; ctx.Err() == nil; attempt++ {
		c.setState(StateStarting, func(s *Status) {
			if attempt > 0 {
				s.Restarts++ // after a crash, a hang or a failed start alike
			}
		})
		p, err := launch(ctx, c.spec, launchOptions{channel: c.o.Channel, sink: sink, status: c.o.Status, log: c.o.Logger,
			maxText: c.o.MaxText, webhookURL: c.o.WebhookURL, startTimeout: c.o.StartTimeout, receive: c.receiveAtStart(ctx), output: c.output})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			wait := backoff
			state := StateRestarting
			if errors.Is(err, ErrRefused) {
				state, wait = StateFailed, c.o.MaxBackoff
			}
			c.o.Logger.Error("plugin did not start", "channel", c.o.Channel, "err", err, "retry_in", wait)
			c.setState(state, func(s *Status) { s.LastError = err.Error(); s.PID = 0 })
			if connectors.Sleep(ctx, wait) != nil {
				return nil
			}
			backoff = min(backoff*2, c.o.MaxBackoff)
			continue
		}
		info := p.info
		c.mu.Lock()
		c.cur = p
		c.mu.Unlock()
		c.setState(StateRunning, func(s *Status) { s.PID = p.pid; s.Version = info.Version; s.Info = &info; s.Receiving = p.receiving })
		c.o.Logger.Info("plugin running", "channel", c.o.Channel, "version", info.Version, "pid", p.pid, "receiving", p.receiving)
		started := time.Now()
		err = c.watch(ctx, p)
		c.mu.Lock()
		c.cur = nil
		c.mu.Unlock()
		if ctx.Err() != nil {
			p.stop(5 * time.Second)
			return nil
		}
		p.kill()
		if time.Since(started) > 2*c.o.MaxBackoff {
			backoff = c.o.MinBackoff // it ran well for a while: this is a fresh failure
		}
		c.o.Logger.Error("plugin failed; restarting", "channel", c.o.Channel, "err", err, "retry_in", backoff)
		c.setState(StateRestarting, func(s *Status) { s.LastError = err.Error(); s.PID = 0; s.Receiving = false })
		if connectors.Sleep(ctx, backoff) != nil {
			return nil
		}
		backoff = min(backoff*2, c.o.MaxBackoff)
	}
	return nil
}

// runOnce reports whether in's receiving is bound to the lease here.
func (c *Channel) runOnce(in Info) bool { return in.RunOnce && c.o.Lease != nil }

// receiveAtStart decides whether a freshly described plugin receives: yes,
// unless it is RunOnce and another replica holds the lease.
func (c *Channel) receiveAtStart(ctx context.Context) func(Info) bool {
	return func(in Info) bool {
		if !c.runOnce(in) {
			return true
		}
		held, err := c.o.Lease.Hold(ctx)
		if err != nil {
			c.o.Logger.Warn("plugin lease unknown; not receiving for now", "channel", c.o.Channel, "err", err)
		}
		return held && err == nil
	}
}

// watch returns when ctx is done (nil) or the process exited or failed its
// health checks. For a RunOnce plugin it also follows the lease: receiving
// starts when this replica takes it and stops when it is lost (or cannot
// be renewed before it expires).
func (c *Channel) watch(ctx context.Context, p *process) error {
	exit := time.NewTicker(50 * time.Millisecond)
	defer exit.Stop()
	health := time.NewTicker(c.o.HealthInterval)
	defer health.Stop()
	var leaseC <-chan time.Time
	if c.runOnce(p.info) {
		t := time.NewTicker(max(c.o.Lease.TTL()/3, 10*time.Millisecond))
		defer t.Stop()
		leaseC = t.C
	}
	fails := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-leaseC:
			held, err := c.o.Lease.Hold(ctx)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				c.o.Logger.Warn("plugin lease not taken", "channel", c.o.Channel, "err", err)
			}
			// The lease judges its own expiry: not held means another
			// replica may receive now.
			on := held && err == nil
			if on != p.receiving {
				if err := p.setReceive(ctx, on, c.o.StartTimeout); err != nil {
					return fmt.Errorf("could not switch receiving %v: %w", on, err)
				}
				c.o.Logger.Info("plugin receiving switched with the lease", "channel", c.o.Channel, "receiving", on)
				c.setState(StateRunning, func(s *Status) { s.Receiving = on })
			}
		case <-exit.C:
			if p.exited() {
				return errors.New("the plugin process exited")
			}
		case <-health.C:
			err := p.health(ctx, c.o.HealthTimeout)
			if err == nil {
				fails = 0
				continue
			}
			if ctx.Err() != nil {
				return nil
			}
			if p.exited() {
				return errors.New("the plugin process exited")
			}
			fails++
			c.o.Logger.Warn("plugin health check failed", "channel", c.o.Channel, "err", err, "failures", fails)
			if fails >= c.o.HealthFailures {
				return fmt.Errorf("unhealthy after %d failed health checks: %w", fails, err)
			}
		}
	}
}

// Send hands an agent's reply to the running plugin. With no plugin
// running it fails with connectors.ErrNotConnected (the hub retries).
func (c *Channel) Send(ctx context.Context, out connectors.Outgoing) (connectors.SendResult, error) {
	p := c.current()
	if p == nil {
		return connectors.SendResult{}, fmt.Errorf("plugin %s: %w: not running", c.spec.Plugin, connectors.ErrNotConnected)
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.SendTimeout)
	defer cancel()
	resp, err := p.rpc.Send(ctx, &pb.SendRequest{Out: toprotoOutgoing(out)})
	if err != nil {
		return connectors.SendResult{}, fmt.Errorf("plugin %s: send: %w: %v", c.spec.Plugin, connectors.ErrNotConnected, err)
	}
	if e := resp.Error; e != nil {
		if e.Reason == pb.Reason_REASON_PERMANENT {
			msg := strings.TrimPrefix(e.Message, connectors.ErrPermanent.Error()+": ")
			return connectors.SendResult{}, fmt.Errorf("plugin %s: %w: %s", c.spec.Plugin, connectors.ErrPermanent, msg)
		}
		return connectors.SendResult{}, fmt.Errorf("plugin %s: send: %s", c.spec.Plugin, e.Message)
	}
	if resp.ProviderId == "" {
		return connectors.SendResult{}, fmt.Errorf("plugin %s: send returned no provider id", c.spec.Plugin)
	}
	st := resp.Status
	switch st {
	case "":
		st = "sent"
	case "sent", "delivered":
	default:
		// The provider took the message (it has an id): failing the send
		// now would send it twice. Later statuses go through UpdateStatus.
		c.o.Logger.Warn("the plugin's Send returned a status other than sent or delivered; recording sent",
			"channel", c.o.Channel, "status", st)
		st = "sent"
	}
	return connectors.SendResult{ProviderID: resp.ProviderId, Status: st}, nil
}

// Test runs the plugin's credentials check (or reports that it runs).
func (c *Channel) Test(ctx context.Context) (string, error) {
	p := c.current()
	if p == nil {
		s := c.Status()
		return "", fmt.Errorf("plugin %s is %s: %s", c.spec.Plugin, s.State, s.LastError)
	}
	ctx, cancel := context.WithTimeout(ctx, c.o.SendTimeout)
	defer cancel()
	resp, err := p.rpc.Test(ctx, &pb.TestRequest{})
	if err != nil {
		return "", fmt.Errorf("plugin %s: test: %w", c.spec.Plugin, err)
	}
	report := fmt.Sprintf("plugin %s %s (pid %d): %s", p.info.Name, p.info.Version, p.pid, resp.Report)
	if resp.Error != "" {
		return report, errors.New(resp.Error)
	}
	return report, nil
}

// RoutePattern is where every plugin channel's webhooks are mounted; the
// plugin's declared routes are paths below it.
const RoutePattern = "/webhooks/plugin/{channel}/{path...}"

// Routes mounts the plugin's webhooks. The routes a plugin serves are only
// known once it runs, so one pattern takes them all and the handler checks
// the path against what the running plugin declared.
func (c *Channel) Routes() []connectors.Route {
	return []connectors.Route{{Pattern: RoutePattern, Handler: http.HandlerFunc(c.serveWebhook)}}
}

func (c *Channel) serveWebhook(w http.ResponseWriter, r *http.Request) {
	p := c.current()
	if p == nil {
		w.Header().Set("Retry-After", "5")
		http.Error(w, "the channel's plugin is not running", http.StatusServiceUnavailable)
		return
	}
	path := "/" + r.PathValue("path")
	found := false
	for _, rt := range p.info.Routes {
		if rt.Path == path && rt.Method == r.Method {
			found = true
		}
	}
	if !found {
		http.Error(w, "no such route", http.StatusNotFound)
		return
	}
	if r.ContentLength > c.o.MaxBodyBytes {
		http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, c.o.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			http.Error(w, "body too large", http.StatusRequestEntityTooLarge)
			return
		}
		http.Error(w, "cannot read body", http.StatusBadRequest)
		return
	}
	req := &pb.HTTPRequest{Method: r.Method, Path: path, RawQuery: r.URL.RawQuery, Body: body, RemoteAddr: r.RemoteAddr}
	for k, vs := range r.Header {
		if forwardRequestHeader(k) {
			req.Headers = append(req.Headers, &pb.Header{Name: k, Values: vs})
		}
	}
	ctx, cancel := context.WithTimeout(r.Context(), c.o.WebhookTimeout)
	defer cancel()
	resp, err := p.rpc.HandleHTTP(ctx, req)
	if err != nil {
		// The provider must retry: nothing was confirmed.
		c.o.Logger.Warn("plugin webhook failed", "channel", c.o.Channel, "err", err)
		http.Error(w, "the channel's plugin failed", http.StatusBadGateway)
		return
	}
	hd := w.Header()
	for _, h := range resp.Headers {
		if !forwardResponseHeader(h.Name) {
			continue
		}
		for _, v := range h.Values {
			hd.Add(h.Name, v)
		}
	}
	// The answer is served on the hub's (and the inbox's) origin: it must
	// never be a page a browser runs.
	if hd.Get("Content-Type") == "" {
		hd.Set("Content-Type", "text/plain; charset=utf-8")
	}
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Content-Security-Policy", "sandbox; default-src 'none'")
	status := int(resp.Status)
	if status < 200 || status > 599 {
		c.o.Logger.Warn("plugin webhook answered an invalid status", "channel", c.o.Channel, "status", status)
		status = http.StatusBadGateway
	}
	w.WriteHeader(status)
	w.Write(resp.Body)
}

// hopByHop are the connection-level headers (RFC 9110 §7.6.1) never
// forwarded either way.
var hopByHop = map[string]bool{"Connection": true, "Keep-Alive": true, "Proxy-Connection": true, "Te": true,
	"Trailer": true, "Transfer-Encoding": true, "Upgrade": true, "Proxy-Authenticate": true, "Proxy-Authorization": true}

// forwardRequestHeader: the hub's own credentials (an agent's session
// cookie, a bearer token) never reach a plugin.
func forwardRequestHeader(name string) bool {
	name = http.CanonicalHeaderKey(name)
	return !hopByHop[name] && name != "Cookie" && name != "Authorization"
}

// responseHeaders are the only headers of a plugin's webhook answer the
// hub passes on (docs/PLUGINS.md). The answer is served on the hub's (and
// the inbox's) origin, so everything else is dropped: Set-Cookie, Location
// and Refresh (redirects from the inbox's origin), Clear-Site-Data (signs
// agents out), Content-Disposition, WWW-Authenticate (a password prompt
// on the inbox's origin), Link, security policies, CORS, framing headers
// net/http computes itself, and any X-* a proxy in front of the hub may
// act on (X-Accel-Redirect, X-Sendfile).
var responseHeaders = map[string]bool{
	"Content-Type":     true, // then X-Content-Type-Options: nosniff and a sandbox CSP are added
	"Content-Language": true,
	"Cache-Control":    true,
	"Etag":             true,
	"Last-Modified":    true,
	"Retry-After":      true, // a provider backs off
}

// forwardResponseHeader reports whether a plugin may set header name on
// its webhook answer.
func forwardResponseHeader(name string) bool {
	return responseHeaders[http.CanonicalHeaderKey(name)]
}

// Inject asks the running plugin to make its provider produce a message
// (the conformance kit's hook; see sdk.Injector).
func (c *Channel) Inject(ctx context.Context, key, text string) error {
	p := c.current()
	if p == nil {
		return fmt.Errorf("plugin %s: %w: not running", c.spec.Plugin, connectors.ErrNotConnected)
	}
	resp, err := p.rpc.Inject(ctx, &pb.InjectRequest{Key: key, Text: text})
	if err != nil {
		return fmt.Errorf("plugin %s: inject: %w", c.spec.Plugin, err)
	}
	if resp.Error != "" {
		return fmt.Errorf("plugin %s: inject: %s", c.spec.Plugin, resp.Error)
	}
	return nil
}

// Kill ends the running plugin process at once (SIGKILL), as a crash would
// (for tests and the conformance kit's redelivery check).
func (c *Channel) Kill() error {
	p := c.current()
	if p == nil || p.cmd.Process == nil {
		return errors.New("no plugin process is running")
	}
	return p.cmd.Process.Kill()
}

// WaitRunning waits until a plugin process is running and healthy, or
// returns the last error once ctx is done.
func (c *Channel) WaitRunning(ctx context.Context) error {
	for {
		s := c.Status()
		if s.State == StateRunning {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("plugin %s is %s: %s", c.spec.Plugin, s.State, s.LastError)
		case <-time.After(20 * time.Millisecond):
		}
	}
}
