package webhooks

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"regexp"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-hub/switchboard/store"
)

// Errors of the admin operations.
var (
	// ErrInvalid: a spec or change that can never apply (a bad name, URL,
	// event type or secret).
	ErrInvalid = errors.New("invalid webhook endpoint")
	// ErrFromConfig: the endpoint is defined in the config file, which is
	// where it changes (only enabled may be changed at run time).
	ErrFromConfig = errors.New("webhook endpoint is defined in the config file")
)

// Sources of an endpoint.
const (
	SourceConfig = "config"
	SourceAPI    = "api"
)

// DefaultSchedule is the delay before each retry of a failed delivery
// (the n-th retry waits Schedule[n-1] plus up to a fifth more, at random):
// the first within 10 s, the last about 3 days 4 hours after the first
// attempt (75 h 35 min without the jitter). A delivery that still fails
// then is failed (replayable).
var DefaultSchedule = []time.Duration{
	5 * time.Second, 5 * time.Minute, 30 * time.Minute, 2 * time.Hour,
	5 * time.Hour, 10 * time.Hour, 14 * time.Hour, 20 * time.Hour, 24 * time.Hour,
}

var nameRe = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,62}$`)

// Spec is an endpoint as configured or posted.
type Spec struct {
	Name                  string   `json:"name"`
	URL                   string   `json:"url"`
	Events                []string `json:"events"`
	Secrets               []string `json:"-"`
	AllowHTTP             bool     `json:"allow_http"`
	AllowPrivateAddresses bool     `json:"allow_private_addresses"`
	Enabled               bool     `json:"enabled"`
}

// Check reports every problem of s (nil when none); secrets are checked
// when present.
func (s Spec) Check() error {
	var errs []error
	if !nameRe.MatchString(s.Name) {
		errs = append(errs, fmt.Errorf("name %q must match %s", s.Name, nameRe))
	}
	if err := CheckURL(s.URL, s.AllowHTTP); err != nil {
		errs = append(errs, err)
	}
	if len(s.Events) == 0 {
		errs = append(errs, fmt.Errorf("events must name at least one event type (or \"*\")"))
	}
	for _, t := range s.Events {
		if !ValidType(t) {
			errs = append(errs, fmt.Errorf("event type %q is not one of %v or \"*\"", t, Types))
		}
	}
	if len(s.Secrets) > 2 {
		errs = append(errs, fmt.Errorf("at most two secrets (the new and the old one during a rotation)"))
	}
	for _, sec := range s.Secrets {
		if err := CheckSecret(sec); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// View is an endpoint as the API shows it: never its secrets.
type View struct {
	Name                  string    `json:"name"`
	URL                   string    `json:"url"`
	Events                []string  `json:"events"`
	AllowHTTP             bool      `json:"allow_http"`
	AllowPrivateAddresses bool      `json:"allow_private_addresses"`
	Enabled               bool      `json:"enabled"`
	Active                bool      `json:"active"`
	DisabledReason        string    `json:"disabled_reason,omitempty"`
	Source                string    `json:"source"`
	Secrets               int       `json:"secrets"`
	CreatedAt             time.Time `json:"created_at"`
	UpdatedAt             time.Time `json:"updated_at"`
}

func viewOf(e store.WebhookEndpoint) View {
	return View{Name: e.Name, URL: e.URL, Events: e.Events, AllowHTTP: e.AllowHTTP, AllowPrivateAddresses: e.AllowPrivateAddresses,
		Enabled: e.Enabled, Active: e.Active(), DisabledReason: e.DisabledReason, Source: e.Source, Secrets: len(e.Secrets),
		CreatedAt: e.CreatedAt, UpdatedAt: e.UpdatedAt}
}

// Options configure a Service.
type Options struct {
	Store  store.Store
	Clock  store.Clock
	Logger *slog.Logger
	// Registerer takes the per-endpoint metrics (nil: not registered).
	Registerer prometheus.Registerer
	// Timeout bounds one delivery request (default 10 s).
	Timeout time.Duration
	// Schedule overrides DefaultSchedule (tests).
	Schedule []time.Duration
	// Poll is how often the dispatcher looks for new events and due
	// retries when nothing woke it (default 250 ms).
	Poll time.Duration
	// Concurrency bounds one endpoint's requests in flight (default 32;
	// one customer's deliveries are never in flight together).
	Concurrency int
	// IngestShare, between 0 and 1 exclusive, puts ingest first: while
	// the Outbox records events and the process is short of CPU, the
	// dispatcher sends only during that share of every 100 ms; with CPU
	// to spare, or 250 ms after ingest pauses, at full speed (yield.go).
	// 0 (the default here; the hub's config default is 0.1,
	// webhook_delivery.ingest_share) or 1: never paced.
	IngestShare float64
}

// Service is the hub's outgoing webhooks: the endpoints, the Outbox, the
// dispatcher (RunLeased, on one replica) and the admin operations.
type Service struct {
	st       store.Store
	clock    store.Clock
	log      *slog.Logger
	timeout  time.Duration
	schedule []time.Duration
	poll     time.Duration
	conc     int
	m        *metrics
	pace     *pacer
	strict   *client // no private addresses
	open     *client // allow_private_addresses

	// Outbox records events; producers hold it (nil-safe).
	Outbox *Outbox

	wake chan struct{} // a new event or replay: the dispatcher looks now

	rndMu sync.Mutex
	rnd   *rand.Rand
}

// New returns the service over o.Store. Call Refresh (or RunRefresh) so
// the Outbox knows which event types are wanted.
func New(o Options) *Service {
	if o.Clock == nil {
		o.Clock = store.SystemClock
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Timeout <= 0 {
		o.Timeout = 10 * time.Second
	}
	if len(o.Schedule) == 0 {
		o.Schedule = DefaultSchedule
	}
	if o.Poll <= 0 {
		o.Poll = 250 * time.Millisecond
	}
	if o.Concurrency <= 0 {
		o.Concurrency = 32
	}
	s := &Service{st: o.Store, clock: o.Clock, log: o.Logger, timeout: o.Timeout, schedule: o.Schedule, poll: o.Poll,
		conc: o.Concurrency, m: newMetrics(o.Registerer), strict: newLeanClient(false, o.Timeout), open: newLeanClient(true, o.Timeout),
		wake: make(chan struct{}, 1), rnd: rand.New(rand.NewPCG(rand.Uint64(), rand.Uint64()))}
	s.pace = newPacer(o.IngestShare)
	s.Outbox = &Outbox{st: o.Store, clock: o.Clock, pace: s.pace}
	s.Outbox.setEndpoints(nil)
	return s
}

// Refresh reloads the endpoints into the Outbox's wanted types.
func (s *Service) Refresh(ctx context.Context) error {
	eps, err := s.st.ListWebhookEndpoints(ctx)
	if err != nil {
		return err
	}
	s.Outbox.setEndpoints(eps)
	return nil
}

// RunRefresh calls Refresh every interval until ctx ends (every replica
// runs it: an endpoint created on another replica is recorded for here
// within that interval).
func (s *Service) RunRefresh(ctx context.Context, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if err := s.Refresh(ctx); err != nil && ctx.Err() == nil {
			s.log.Warn("reloading webhook endpoints failed", "err", err)
		}
	}
}

// Configure writes the config file's endpoints to the store: new ones are
// created, existing ones take the config's settings (keeping a 410's
// disabling unless the URL changed). Endpoints once configured and since
// removed from the file are deleted. API endpoints of the same name are
// replaced by the config's.
func (s *Service) Configure(ctx context.Context, specs []Spec) error {
	names := map[string]bool{}
	for _, sp := range specs {
		if err := sp.Check(); err != nil {
			return fmt.Errorf("webhook %s: %w", sp.Name, err)
		}
		names[sp.Name] = true
		e := store.WebhookEndpoint{Name: sp.Name, URL: sp.URL, Events: sp.Events, Secrets: sp.Secrets, AllowHTTP: sp.AllowHTTP,
			AllowPrivateAddresses: sp.AllowPrivateAddresses, Enabled: sp.Enabled, Source: SourceConfig}
		err := s.st.CreateWebhookEndpoint(ctx, e)
		if errors.Is(err, store.ErrConflict) {
			_, err = s.st.UpdateWebhookEndpoint(ctx, sp.Name, func(x *store.WebhookEndpoint) error {
				if x.URL != e.URL || x.Source != SourceConfig {
					x.DisabledReason = ""
				}
				x.URL, x.Events, x.Secrets, x.AllowHTTP, x.AllowPrivateAddresses, x.Enabled, x.Source =
					e.URL, e.Events, e.Secrets, e.AllowHTTP, e.AllowPrivateAddresses, e.Enabled, SourceConfig
				return nil
			})
		}
		if err != nil {
			return fmt.Errorf("webhook %s: %w", sp.Name, err)
		}
	}
	eps, err := s.st.ListWebhookEndpoints(ctx)
	if err != nil {
		return err
	}
	for _, e := range eps {
		if e.Source == SourceConfig && !names[e.Name] {
			if err := s.st.DeleteWebhookEndpoint(ctx, e.Name); err != nil {
				return fmt.Errorf("webhook %s (no longer configured): %w", e.Name, err)
			}
		}
	}
	return s.Refresh(ctx)
}

// List returns every endpoint.
func (s *Service) List(ctx context.Context) ([]View, error) {
	eps, err := s.st.ListWebhookEndpoints(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]View, 0, len(eps))
	for _, e := range eps {
		out = append(out, viewOf(e))
	}
	return out, nil
}

// Get returns one endpoint (store.ErrNotFound).
func (s *Service) Get(ctx context.Context, name string) (View, error) {
	e, err := s.st.GetWebhookEndpoint(ctx, name)
	if err != nil {
		return View{}, err
	}
	return viewOf(e), nil
}

// Create stores an API endpoint with a generated secret, returned once.
// store.ErrConflict when the name exists; ErrInvalid.
func (s *Service) Create(ctx context.Context, sp Spec) (View, string, error) {
	secret := NewSecret()
	sp.Secrets = []string{secret}
	if err := sp.Check(); err != nil {
		return View{}, "", err
	}
	e := store.WebhookEndpoint{Name: sp.Name, URL: sp.URL, Events: sp.Events, Secrets: sp.Secrets, AllowHTTP: sp.AllowHTTP,
		AllowPrivateAddresses: sp.AllowPrivateAddresses, Enabled: sp.Enabled, Source: SourceAPI}
	if err := s.st.CreateWebhookEndpoint(ctx, e); err != nil {
		return View{}, "", err
	}
	s.Outbox.add(e)
	got, err := s.st.GetWebhookEndpoint(ctx, sp.Name)
	if err != nil {
		return View{}, "", err
	}
	return viewOf(got), secret, nil
}

// Patch is a change to an endpoint; nil fields stay. RotateSecret makes a
// new secret (returned once) and keeps the newest old one alongside, so
// both sign until DropOldSecret.
type Patch struct {
	URL                   *string   `json:"url"`
	Events                *[]string `json:"events"`
	AllowHTTP             *bool     `json:"allow_http"`
	AllowPrivateAddresses *bool     `json:"allow_private_addresses"`
	Enabled               *bool     `json:"enabled"`
	RotateSecret          bool      `json:"rotate_secret"`
	DropOldSecret         bool      `json:"drop_old_secret"`
}

// Update applies p to endpoint name; it returns the new secret when p
// rotated it. Enabling clears a 410's disabling. A config endpoint takes
// only Enabled (ErrFromConfig otherwise).
func (s *Service) Update(ctx context.Context, name string, p Patch) (View, string, error) {
	var secret string
	e, err := s.st.UpdateWebhookEndpoint(ctx, name, func(x *store.WebhookEndpoint) error {
		secret = ""
		if x.Source == SourceConfig && (p.URL != nil || p.Events != nil || p.AllowHTTP != nil || p.AllowPrivateAddresses != nil || p.RotateSecret || p.DropOldSecret) {
			return ErrFromConfig
		}
		if p.URL != nil {
			x.URL = *p.URL
		}
		if p.Events != nil {
			x.Events = *p.Events
		}
		if p.AllowHTTP != nil {
			x.AllowHTTP = *p.AllowHTTP
		}
		if p.AllowPrivateAddresses != nil {
			x.AllowPrivateAddresses = *p.AllowPrivateAddresses
		}
		if p.Enabled != nil {
			x.Enabled = *p.Enabled
			if *p.Enabled {
				x.DisabledReason = ""
			}
		}
		if p.DropOldSecret && len(x.Secrets) > 1 {
			x.Secrets = x.Secrets[:1]
		}
		if p.RotateSecret {
			secret = NewSecret()
			x.Secrets = []string{secret, x.Secrets[0]}
		}
		sp := Spec{Name: x.Name, URL: x.URL, Events: x.Events, Secrets: x.Secrets, AllowHTTP: x.AllowHTTP}
		return sp.Check()
	})
	if err != nil {
		return View{}, "", err
	}
	s.Outbox.add(e)
	s.poke()
	return viewOf(e), secret, nil
}

// Delete removes endpoint name and its delivery log (ErrFromConfig for a
// config endpoint; missing is not an error).
func (s *Service) Delete(ctx context.Context, name string) error {
	e, err := s.st.GetWebhookEndpoint(ctx, name)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if e.Source == SourceConfig {
		return ErrFromConfig
	}
	return s.st.DeleteWebhookEndpoint(ctx, name)
}

// Deliveries pages endpoint name's delivery log, newest first (before: a
// Seq from a previous page; 0 from the newest).
func (s *Service) Deliveries(ctx context.Context, name string, before int64, limit int) ([]store.WebhookDelivery, error) {
	if _, err := s.st.GetWebhookEndpoint(ctx, name); err != nil {
		return nil, err
	}
	return s.st.ListWebhookDeliveries(ctx, name, before, limit)
}

// Replay makes delivery eventID of endpoint name pending again now, or
// (eventID "") every failed delivery of it; it returns how many.
func (s *Service) Replay(ctx context.Context, name, eventID string) (int, error) {
	if _, err := s.st.GetWebhookEndpoint(ctx, name); err != nil {
		return 0, err
	}
	now := s.clock().UTC()
	again := func(d store.WebhookDelivery) error {
		d.Status, d.Attempts, d.NextAttemptAt = store.WebhookPending, 0, now
		return s.st.PutWebhookDeliveries(ctx, d)
	}
	if eventID != "" {
		d, err := s.st.GetWebhookDelivery(ctx, name, eventID)
		if err != nil {
			return 0, err
		}
		if err := again(d); err != nil {
			return 0, err
		}
		s.poke()
		return 1, nil
	}
	n := 0
	var before int64
	for {
		page, err := s.st.ListWebhookDeliveries(ctx, name, before, 500)
		if err != nil {
			return n, err
		}
		for _, d := range page {
			if d.Status == store.WebhookFailed {
				if err := again(d); err != nil {
					return n, err
				}
				n++
			}
		}
		if len(page) < 500 {
			break
		}
		before = page[len(page)-1].Seq
	}
	s.poke()
	return n, nil
}

// PingResult is what a test ping got back.
type PingResult struct {
	ID       string `json:"id"`
	Code     int    `json:"code"`
	Error    string `json:"error,omitempty"`
	Duration string `json:"duration"`
}

// Ping sends endpoint name a signed webhook.ping event now (not through
// the outbox, whatever its events and enabled state) and reports the answer.
func (s *Service) Ping(ctx context.Context, name string) (PingResult, error) {
	e, err := s.st.GetWebhookEndpoint(ctx, name)
	if err != nil {
		return PingResult{}, err
	}
	now := s.clock().UTC()
	ev := store.WebhookEvent{ID: EventID(Ping, fmt.Sprint(now.UnixNano(), name)), Type: Ping, At: now, Data: []byte(`{"endpoint":` + quote(name) + `}`)}
	start := time.Now()
	code, err := s.send(ctx, s.target(e), ev)
	r := PingResult{ID: ev.ID, Code: code, Duration: time.Since(start).Round(time.Millisecond).String()}
	if err != nil {
		r.Error = err.Error()
	}
	return r, nil
}

func (s *Service) poke() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// jitter returns d plus up to a fifth more.
func (s *Service) jitter(d time.Duration) time.Duration {
	s.rndMu.Lock()
	defer s.rndMu.Unlock()
	return d + time.Duration(s.rnd.Int64N(int64(d)/5+1))
}

// add makes e's event types wanted at once on this replica (before the
// next Refresh), so a just-created endpoint gets the next change.
func (o *Outbox) add(e store.WebhookEndpoint) {
	if !e.Active() {
		return
	}
	old := o.wants.Load()
	w := map[string]bool{}
	if old != nil {
		for k, v := range *old {
			w[k] = v
		}
	}
	for _, t := range e.Events {
		w[t] = true
	}
	o.wants.Store(&w)
}
