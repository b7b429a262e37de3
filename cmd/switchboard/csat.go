package main

import (
	"log/slog"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/csat"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// newCSAT builds the survey service of the channels' csat settings and
// wires it: resolutions schedule surveys, the router hands it answers, the
// survey page is served at /csat/{token}. The report sink is set with
// SetSink by the caller.
func newCSAT(cfg *config.Config, st store.Store, dir *directory.Directory, rt *router.Router, out *router.Outbound,
	convs *timeline.Service, srv *inbox.Server, reg prometheus.Registerer, clock store.Clock, log *slog.Logger) *csat.Service {
	chans := map[string]csat.Settings{}
	for _, ch := range cfg.Channels {
		c := ch.CSAT
		if !c.Enabled {
			continue
		}
		scale := csat.Scale5
		if c.ScaleOrDefault() == config.CSATScaleThumbs {
			scale = csat.ScaleThumbs
		}
		chans[ch.Name] = csat.Settings{Enabled: true, Delay: c.Delay.D(), Question: c.Question, Scale: scale, MinInterval: c.MinIntervalOrDefault()}
	}
	cs := csat.New(csat.Options{Store: st, Dir: dir, Outbound: out, Convs: convs, Consent: consentPolicy(cfg, st, clock),
		Channels: chans, PublicURL: cfg.HTTP.PublicURL, Clock: clock, Logger: log, Metrics: csat.NewMetrics(reg)})
	convs.OnResolving(cs.Schedule)
	rt.SetAnswers(cs)
	srv.Handle("GET /csat/{token}", cs)
	srv.Handle("POST /csat/{token}", cs)
	return cs
}
