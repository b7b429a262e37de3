package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"github.com/switchboard-hub/switchboard/canned"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/automation"
	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/labels"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
	"github.com/switchboard-hub/switchboard/timeline"
)

func newLogger(cfg *config.Config, w io.Writer) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(cfg.Log.Level))
	o := &slog.HandlerOptions{Level: lvl}
	if cfg.Log.Format == "text" {
		return slog.New(slog.NewTextHandler(w, o))
	}
	return slog.New(slog.NewJSONHandler(w, o))
}

// openStore is the backend factory: the embedded store unless Redis is configured.
func openStore(cfg *config.Config, log *slog.Logger) (store.Store, error) {
	q := store.QueueOptions{MaxAttempts: cfg.Router.MaxAttempts, ClaimAfter: cfg.Router.ClaimAfter.D()}
	if r := cfg.Store.Redis; r != nil {
		uo := &goredis.UniversalOptions{
			Addrs: r.Addrs, IsClusterMode: r.Cluster, MasterName: r.MasterName,
			Username: r.Username, Password: r.Password, DB: r.DB,
			// Blocking queue reads hold a connection each: size the pool for
			// every worker plus the API's and the channels' calls.
			PoolSize: 2*(cfg.Router.Workers+4) + 64,
		}
		var c goredis.UniversalClient
		if r.Cluster {
			co := uo.Cluster()
			// After a primary dies, commands whose dial fails never see a
			// MOVED, so go-redis learns the promoted replica only at its
			// periodic reload (default 60s): writes kept failing that long
			// (scripts/cluster, docs/RELIABILITY.md). One CLUSTER SLOTS a
			// second per replica bounds it to about a second.
			co.ClusterStateReloadInterval = time.Second
			c = goredis.NewClusterClient(co)
		} else {
			c = goredis.NewUniversalClient(uo)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := c.Ping(ctx).Err(); err != nil {
			c.Close()
			return nil, fmt.Errorf("redis at %s: %w", strings.Join(r.Addrs, ","), err)
		}
		rs := sbredis.New(c, sbredis.Options{Prefix: r.Prefix, Queue: q, Logger: log, AutoPipeline: true,
			MinReplicasAck: r.MinReplicasAck, MinReplicasTimeout: r.MinReplicasTimeout.D(), LegacyRecords: r.LegacyRecords})
		// Entries of an older version get their blob references once, so
		// erasure keeps attachments another customer shares (issue 15).
		bctx, bcancel := context.WithTimeout(context.Background(), 10*time.Minute)
		defer bcancel()
		if n, err := rs.BackfillBlobRefs(bctx); err != nil {
			rs.Close()
			c.Close()
			return nil, fmt.Errorf("redis: backfill blob references: %w", err)
		} else if n > 0 {
			log.Info("recorded the blob references of existing entries", "references", n)
		}
		return &closingStore{Store: rs, client: c}, nil
	}
	return embedded.Open(cfg.Store.Embedded.Path, embedded.Options{Queue: q, Logger: log})
}

// closingStore closes the Redis client the store was given.
type closingStore struct {
	store.Store
	client goredis.UniversalClient
}

// PrefetchIngest passes store.IngestPrefetcher through (the router finds it
// by a type assertion, which the embedding alone would hide).
func (c *closingStore) PrefetchIngest(ctx context.Context, r store.IngestReads) context.Context {
	if p, ok := c.Store.(store.IngestPrefetcher); ok {
		return p.PrefetchIngest(ctx, r)
	}
	return ctx
}

func (c *closingStore) Close() error {
	err := c.Store.Close()
	return errors.Join(err, c.client.Close())
}

// credentials turns configured agents into token hashes. With no agents at
// all, a bootstrap admin token is created (once) in the data directory so a
// newcomer can use the API and CLI straight away.
func credentials(cfg *config.Config, log *slog.Logger) ([]inbox.Credential, error) {
	var out []inbox.Credential
	for _, a := range cfg.Agents {
		h := strings.ToLower(a.TokenSHA256)
		if a.Token != "" {
			h = inbox.HashToken(a.Token)
		}
		out = append(out, inbox.Credential{Principal: inbox.Principal{Name: a.Name, Role: a.Role, Teams: a.Teams}, TokenSHA256: h, PasswordHash: a.PasswordHash})
	}
	if len(out) > 0 {
		return out, nil
	}
	path := bootstrapTokenPath(cfg)
	tok, err := readOrCreateToken(path)
	if err != nil {
		return nil, fmt.Errorf("bootstrap admin token: %w", err)
	}
	log.Warn("no agents configured: created a bootstrap admin token; configure agents for real use", "token_file", path)
	return []inbox.Credential{{Principal: inbox.Principal{Name: "admin", Role: "admin"}, TokenSHA256: inbox.HashToken(tok)}}, nil
}

func bootstrapTokenPath(cfg *config.Config) string {
	if cfg.Store.Embedded != nil {
		return filepath.Join(cfg.Store.Embedded.Path, "admin-token")
	}
	return "switchboard-admin-token"
}

func readOrCreateToken(path string) (string, error) {
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	b := make([]byte, 24)
	rand.Read(b)
	tok := hex.EncodeToString(b)
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return "", err
	}
	return tok, os.WriteFile(path, []byte(tok+"\n"), 0o600)
}

// blobDir is where attachment content lives: beside the embedded store, or
// ./switchboard-blobs with Redis (replicas must share it; see ARCHITECTURE.md).
func blobDir(cfg *config.Config) string {
	if cfg.Store.BlobsPath != "" {
		return cfg.Store.BlobsPath
	}
	if cfg.Store.Embedded != nil {
		return filepath.Join(cfg.Store.Embedded.Path, "blobs")
	}
	return "switchboard-blobs"
}

// newIngest builds the hub's one Sink (every channel and the api channel
// deliver through it; demo seed uses the same in its own process).
func newIngest(cfg *config.Config, st store.Store, dir *directory.Directory, clock store.Clock, m *router.Metrics) *router.Ingest {
	return router.NewIngest(st, dir, cfg.Identity.DefaultRegion, clock, m)
}

func routerChannels(cfg *config.Config) []directory.Channel {
	out := make([]directory.Channel, 0, len(cfg.Channels))
	for _, c := range cfg.Channels {
		out = append(out, directory.Channel{Name: c.Name, Type: c.Type, Phase: c.Phase, PilotTeam: c.PilotTeam, Team: c.Team, Trusted: c.Trusted,
			Readiness: readinessOf(c.Readiness), DefaultRegion: c.DefaultRegion})
	}
	return out
}

func routing(cfg *config.Config) router.Routing {
	rt := router.Routing{Rules: map[string]string{}, MaxOpenPerAgent: cfg.Router.MaxOpenPerAgent}
	for _, t := range cfg.Teams {
		rt.Teams = append(rt.Teams, t.Name)
	}
	for _, a := range cfg.Agents {
		rt.Agents = append(rt.Agents, router.Agent{Name: a.Name, Role: a.Role, Teams: a.Teams})
	}
	for _, r := range cfg.Routing {
		rt.Rules[r.Channel] = r.Team
	}
	return rt
}

func serve(args []string, stderr io.Writer) error {
	fs := newFlagSet("serve")
	cfgPath := fs.String("config", "", "config file (default $SWITCHBOARD_CONFIG, or none: all defaults)")
	if err := fs.Parse(args); err != nil {
		return usageError(err.Error())
	}
	// Every configuration problem, channel sections included, is reported
	// before anything is opened or written.
	cfg, err := checkConfig(*cfgPath)
	if err != nil {
		return err
	}
	log := newLogger(cfg, stderr)
	slog.SetDefault(log)

	st, err := openStore(cfg, log)
	if err != nil {
		return fmt.Errorf("store: %w", err)
	}
	defer st.Close()
	searchIndex, closeSearch, err := openSearch(cfg, st) // search.go
	if err != nil {
		return err
	}
	defer closeSearch()
	creds, err := credentials(cfg, log)
	if err != nil {
		return err
	}
	if err := auditKeyChanges(context.Background(), st, apiKeys(cfg), time.Now().UTC()); err != nil { // apikeys.go
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	metrics := router.NewMetrics(reg)
	clock := store.SystemClock

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	dir := directory.New(st, routerChannels(cfg), clock, log)
	if err := dir.Refresh(ctx); err != nil {
		return fmt.Errorf("load channel phases: %w", err)
	}
	hooks, err := newWebhooks(ctx, cfg, st, reg, clock, log)
	if err != nil {
		return err
	}
	host, _ := os.Hostname()
	consumer := fmt.Sprintf("%s-%d", host, os.Getpid())
	rtg := routing(cfg)
	// Service figures and SLAs (issue 17): the CSAT survey code feeds
	// answers to svcFigures.CSATReceived.
	svcFigures, err := serviceFigures(cfg, st, reg, log) // reports.go
	if err != nil {
		return err
	}
	convs := timeline.NewService(st, timeline.Options{Clock: clock, Logger: log, Teams: rtg.TeamMembers(), MaxOpenPerAgent: rtg.MaxOpenPerAgent, Webhooks: hooks.Outbox, Tracker: svcFigures,
		Index: search.Indexer{Index: searchIndex}})
	cals, err := businessCalendars(cfg) // automation.go
	if err != nil {
		return err
	}
	rules := &automation.Runner{En: automation.New(st, labels.New(st), automation.Options{Clock: clock, Teams: rtg.Teams, Calendars: cals, Canned: canned.New(st, clock).SharedText}), Convs: convs, Logger: log}
	convs.OnChange(rules) // issue 24: rules on agents' changes
	// issue 24: sla.breaching rules, on timers package sla writes beside
	// its due-time timers while some rule wants them.
	svcFigures.BreachingTimers(cfg.Automation.SLABreachingBefore.D(), func() bool { return rules.En.Wants(automation.EventSLABreaching) })
	rt := router.New(st, dir, router.Options{Workers: cfg.Router.Workers, MaxAttempts: cfg.Router.MaxAttempts, Consumer: consumer, Clock: clock, Logger: log, Metrics: metrics, Routing: rtg, Conversations: convs,
		Automation: rules}) // issue 24
	out := router.NewOutbound(st, dir, clock, log, metrics, convs)
	rules.Send = automaticReplies(out)
	out.SetWebhooks(hooks.Outbox)
	rt.Resolver().SetWebhooks(hooks.Outbox)
	ingest := newIngest(cfg, st, dir, clock, metrics)
	reg.MustRegister(newQueueCollector(st), newChannelCounterCollector(st))
	reg.MustRegister(router.NewAdoptionCollector(st, dir, clock))

	var teams []string
	for _, t := range cfg.Teams {
		teams = append(teams, t.Name)
	}
	bl, err := openBlobs(ctx, cfg) // blobs.go
	if err != nil {
		return err
	}
	testers := map[string]connectors.Tester{}
	sweeper := newSweeper(cfg, st, bl, convs, clock, search.Indexer{Index: searchIndex}) // rights.go
	if pluginHost, err = newPluginRegistry(cfg); err != nil {
		return err
	}
	proxies, err := inbox.ParseTrustedProxies(cfg.HTTP.TrustedProxies)
	if err != nil {
		return err
	}
	srv := inbox.New(inbox.Options{Plugins: pluginLister{pluginHost}, Store: st, Directory: dir, Ingest: ingest, Resolver: rt.Resolver(), Outbound: out, Conversations: convs,
		Credentials: creds, APIKeys: apiKeys(cfg), Teams: teams, Calendars: cals, Gatherer: reg, Logger: log, Clock: clock, MaxBodyBytes: cfg.HTTP.MaxBodyBytes,
		Version: version, DefaultRegion: cfg.Identity.DefaultRegion, Testers: testers, Blobs: bl, PublicURL: cfg.HTTP.PublicURL,
		TrustedProxies: proxies, SessionSecret: cfg.HTTP.SessionSecret,
		BodyTimeout: cfg.HTTP.BodyTimeout.D(), UploadTimeout: cfg.HTTP.UploadTimeout.D(), WriteTimeout: cfg.HTTP.WriteTimeout.D(),
		StreamKeepAlive: cfg.HTTP.StreamKeepAlive.D(), MaxStreamsPerAgent: cfg.HTTP.MaxStreamsPerAgent,
		MetricsToken: cfg.HTTP.MetricsToken, MetricsElsewhere: cfg.HTTP.MetricsAddr != "", Webhooks: hooks,
		Retention: sweeper, TeamLeads: teamLeads(cfg), Search: searcher(cfg, st, searchIndex, clock)})
	if cfg.HTTP.SessionSecret == "" {
		log.Warn("http.session_secret is not set: session cookies are signed with a key kept in the store alone, so a copy of the store can mint them; set http.session_secret_file")
	}
	chans, err := buildChannels(cfg, st, dir, ingest, out, bl, srv, log, consumer)
	if err != nil {
		return err
	}
	for k, v := range chans.testers {
		testers[k] = v
	}

	ln, err := net.Listen("tcp", cfg.HTTP.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.HTTP.Addr, err)
	}
	timeouts := inbox.Timeouts{ReadHeader: cfg.HTTP.ReadHeaderTimeout.D(), Read: cfg.HTTP.ReadTimeout.D(),
		Write: cfg.HTTP.WriteTimeout.D(), Idle: cfg.HTTP.IdleTimeout.D()}
	srv.SetConsent(consentPolicy(cfg, st, clock))
	surveys := newCSAT(cfg, st, dir, rt, out, convs, srv, reg, clock, log) // csat.go
	surveys.SetSink(svcFigures)                                            // answers count in the service report
	surveys.SetAutomation(rules)                                           // issue 24: csat.received rules
	hs := inbox.NewHTTPServer(srv, timeouts, log)
	// Metrics on a listener of their own (open: bind it to loopback or a
	// scrape network), else on the main one for admins and the metrics token.
	var ms *http.Server
	var mln net.Listener
	if cfg.HTTP.MetricsAddr != "" {
		if mln, err = net.Listen("tcp", cfg.HTTP.MetricsAddr); err != nil {
			ln.Close()
			return fmt.Errorf("listen on %s (http.metrics_addr): %w", cfg.HTTP.MetricsAddr, err)
		}
		ms = inbox.NewHTTPServer(inbox.MetricsServer(reg), timeouts, log)
	}

	var wg sync.WaitGroup
	run := func(f func()) { wg.Add(1); go func() { defer wg.Done(); f() }() }
	// Phases changed on another replica apply here within 0.4 s (issue 20
	// asks for 1 s across replicas; one HGETALL per refresh).
	run(func() { dir.Run(ctx, 400*time.Millisecond) })
	run(func() { rt.Run(ctx) })
	run(func() { out.Run(ctx, 2, consumer) })
	run(func() { convs.RunSnoozeWaker(ctx, 15*time.Second) })
	run(func() { surveys.Run(ctx, 5*time.Second) })
	run(func() { svcFigures.Run(ctx) })
	run(func() { rules.RunSLABreaching(ctx, 10*time.Second) })
	run(func() { convs.RunPendingEvents(ctx, 15*time.Second) })         // agents' changes' webhook events a crash left behind
	run(func() { rt.Resolver().RunPendingEvents(ctx, 15*time.Second) }) // merges' webhook events a crash left behind
	run(func() { sweeper.Run(ctx, cfg.Retention.Interval.D(), consumer) })
	run(func() { srv.RunPendingEvents(ctx, 15*time.Second) }) // phase changes' webhook events a crash left behind
	run(func() { chans.run(ctx) })
	run(func() { runWebhooks(ctx, hooks, st, consumer, log) })
	run(func() {
		<-ctx.Done()
		// Graceful stop (SIGTERM): /readyz says 503 first, for
		// http.drain_delay while requests are still served; then the
		// listener closes and in-flight requests finish. Leases and queue
		// heartbeats are released as the workers stop (ctx), so other
		// replicas take over at once.
		srv.Drain()
		if d := cfg.HTTP.DrainDelay.D(); d > 0 {
			log.Info("draining: /readyz answers 503", "for", d)
			time.Sleep(d)
		}
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(sctx)
		if ms != nil {
			_ = ms.Shutdown(sctx)
		}
	})
	if ms != nil {
		log.Info("metrics serving", "addr", mln.Addr().String())
		go func() {
			if err := ms.Serve(mln); err != nil && !errors.Is(err, http.ErrServerClosed) {
				log.Error("metrics listener stopped", "err", err)
			}
		}()
	}
	backend := "embedded"
	if cfg.Store.Redis != nil {
		backend = "redis"
	}
	log.Info("switchboard serving", "addr", ln.Addr().String(), "store", backend, "version", version, "channels", len(cfg.Channels))
	err = hs.Serve(ln)
	stop()
	wg.Wait()
	if errors.Is(err, http.ErrServerClosed) {
		log.Info("switchboard stopped")
		return nil
	}
	return err
}

// queueCollector reports queue depth and age at scrape time.
type queueCollector struct {
	st                 store.Store
	length, dead, aged *prometheus.Desc
}

func newQueueCollector(st store.Store) *queueCollector {
	return &queueCollector{st: st,
		length: prometheus.NewDesc("switchboard_queue_length", "Unacknowledged items in the queue.", []string{"queue"}, nil),
		dead:   prometheus.NewDesc("switchboard_queue_dead", "Dead letters of the queue.", []string{"queue"}, nil),
		aged:   prometheus.NewDesc("switchboard_queue_lag_seconds", "Age of the oldest unacknowledged item.", []string{"queue"}, nil)}
}

func (q *queueCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- q.length
	ch <- q.dead
	ch <- q.aged
}

func (q *queueCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	for _, name := range []string{store.QueueIngest, store.QueueOutbound} {
		s, err := q.st.QueueStats(ctx, name)
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(q.length, prometheus.GaugeValue, float64(s.Length), name)
		ch <- prometheus.MustNewConstMetric(q.dead, prometheus.GaugeValue, float64(s.Dead), name)
		ch <- prometheus.MustNewConstMetric(q.aged, prometheus.GaugeValue, s.OldestAge.Seconds(), name)
	}
}

// channelCounterCollector exports the per-channel counters channels keep in
// the store (shared by every replica), e.g. "webform:NAME:spam".
type channelCounterCollector struct {
	st      store.Store
	webform *prometheus.Desc
}

func newChannelCounterCollector(st store.Store) *channelCounterCollector {
	return &channelCounterCollector{st: st, webform: prometheus.NewDesc("switchboard_webform_submissions_total",
		"Web form submissions by outcome (received, spam, unknown_fields, rate_limited, refused), across replicas.", []string{"channel", "kind"}, nil)}
}

func (c *channelCounterCollector) Describe(ch chan<- *prometheus.Desc) { ch <- c.webform }

func (c *channelCounterCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	counts, err := c.st.GetCounters(ctx, "webform:")
	if err != nil {
		return
	}
	for name, v := range counts {
		parts := strings.Split(name, ":")
		if len(parts) != 3 {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.webform, prometheus.CounterValue, float64(v), parts[1], parts[2])
	}
}
