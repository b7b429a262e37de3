package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/lease"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// channelFactory builds one configured channel of a type from its section
// and the connectors.Env the hub hands it (never the store). The value it
// returns has any of the abilities connectors.Router, connectors.Sender,
// connectors.Source or connectors.LeasedSource, and connectors.Tester.
type channelFactory func(cfg config.Channel, env connectors.Env) (any, error)

// factories maps a channel type to its constructor. The api channel is
// served by the inbox itself and needs none. One file per type
// (channel_TYPE.go) holds the constructor.
var factories = map[string]channelFactory{
	config.TypeSMS:     buildSMS,
	config.TypeSlack:   buildSlack,
	config.TypeWebform: buildWebform,
	config.TypeEmail:   buildEmail,
	config.TypePlugin:  buildPlugin,
}

// channels holds the built channels of this replica.
type channels struct {
	log     *slog.Logger
	dir     *directory.Directory
	sink    connectors.Sink
	sources map[string]connectors.Source
	testers map[string]connectors.Tester
}

// buildChannels constructs every configured non-api channel, registers its
// sender and mounts its routes on srv.
func buildChannels(cfg *config.Config, st store.Store, dir *directory.Directory, ingest connectors.Sink, out *router.Outbound,
	blobs connectors.Blobs, srv *inbox.Server, log *slog.Logger, replica string) (*channels, error) {
	cs := &channels{log: log, dir: dir, sink: ingest, sources: map[string]connectors.Source{}, testers: map[string]connectors.Tester{}}
	// One lease holder per replica, judging expiry by the store's clock;
	// channels' checkpoints live in the store, fenced by their lease.
	leases := lease.New(st, replica, store.SystemClock, log)
	state := lease.NewState(st)
	// Routes are dispatched by {channel}: several channels of one type share a pattern.
	dispatch := map[string]map[string]http.Handler{}
	var order []string
	for _, c := range cfg.Channels {
		if c.Type == config.TypeAPI {
			continue
		}
		f := factories[c.Type]
		if f == nil {
			return nil, fmt.Errorf("channels[%s]: type %q is not available in this build", c.Name, c.Type)
		}
		name := c.Name
		env := connectors.Env{Name: name, Sink: ingest, Status: out, Blobs: blobs, Logger: log.With("channel", name),
			Clock: store.SystemClock, PublicURL: cfg.HTTP.PublicURL, Replica: replica, Region: cfg.Identity.DefaultRegion,
			Leases: leases, State: state, Counters: st, Budgets: st,
			Phase: func() string { ch, _ := dir.Get(name); return ch.Phase }}
		built, err := f(c, env)
		if err != nil {
			return nil, channelError(name, err)
		}
		if s, ok := built.(connectors.Sender); ok {
			out.SetSender(name, s)
		}
		if s, ok := built.(connectors.Source); ok {
			cs.sources[name] = s
		}
		if s, ok := built.(connectors.LeasedSource); ok {
			// Runs on one replica at a time: under its lease, stopped when
			// the lease is lost.
			cs.sources[name] = leases.Source(s)
		}
		if t, ok := built.(connectors.Tester); ok {
			cs.testers[name] = t
		}
		if r, ok := built.(connectors.Router); ok {
			for _, rt := range r.Routes() {
				if dispatch[rt.Pattern] == nil {
					dispatch[rt.Pattern] = map[string]http.Handler{}
					order = append(order, rt.Pattern)
				}
				dispatch[rt.Pattern][name] = rt.Handler
			}
		}
	}
	for _, pattern := range order {
		handlers := dispatch[pattern]
		srv.Handle(pattern, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			name := r.PathValue("channel")
			h := handlers[name]
			ch, ok := dir.Get(name)
			if h == nil || !ok || ch.Phase == store.PhaseOff {
				// An off channel's endpoints do not exist (DESIGN invariant 8).
				http.Error(w, "no such channel", http.StatusNotFound)
				return
			}
			h.ServeHTTP(w, r)
		}))
	}
	return cs, nil
}

// run runs every Source while its channel is not off, restarting it with
// backoff when it returns, and stopping it when the channel is switched off.
func (cs *channels) run(ctx context.Context) {
	var wg sync.WaitGroup
	for name, src := range cs.sources {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cs.supervise(ctx, name, src)
		}()
	}
	wg.Wait()
}

func (cs *channels) supervise(ctx context.Context, name string, src connectors.Source) {
	backoff := time.Second
	for ctx.Err() == nil {
		if ch, _ := cs.dir.Get(name); ch.Phase == store.PhaseOff {
			if connectors.Sleep(ctx, time.Second) != nil {
				return
			}
			continue
		}
		sctx, cancel := context.WithCancel(ctx)
		watch := make(chan struct{})
		go func() { // cancel the source when its channel goes off
			defer close(watch)
			t := time.NewTicker(time.Second)
			defer t.Stop()
			for {
				select {
				case <-sctx.Done():
					return
				case <-t.C:
					if ch, _ := cs.dir.Get(name); ch.Phase == store.PhaseOff {
						cancel()
						return
					}
				}
			}
		}()
		start := time.Now()
		err := src.Run(sctx, cs.sink)
		cancel()
		<-watch
		if ctx.Err() != nil {
			return
		}
		if time.Since(start) > time.Minute {
			backoff = time.Second
		}
		cs.log.Warn("channel source stopped; restarting", "channel", name, "err", err, "in", backoff)
		if connectors.Sleep(ctx, backoff) != nil {
			return
		}
		backoff = min(backoff*2, time.Minute)
	}
}

// channelError names channel name in err, unless err names it already
// (the connectors' errors start with "channels[NAME].SECTION").
func channelError(name string, err error) error {
	if strings.HasPrefix(err.Error(), "channels["+name+"]") {
		return err
	}
	return fmt.Errorf("channels[%s]: %w", name, err)
}
