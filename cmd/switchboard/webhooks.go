package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/lease"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/webhooks"
)

// newWebhooks builds the outgoing webhooks and writes the config file's
// endpoints to the store (before anything records events, so the Outbox
// knows what is wanted from the first message on).
func newWebhooks(ctx context.Context, cfg *config.Config, st store.Store, reg prometheus.Registerer, clock store.Clock, log *slog.Logger) (*webhooks.Service, error) {
	svc := webhooks.New(webhooks.Options{Store: st, Clock: clock, Logger: log, Registerer: reg,
		IngestShare: cfg.WebhookDelivery.Share()})
	specs := make([]webhooks.Spec, 0, len(cfg.Webhooks))
	for _, w := range cfg.Webhooks {
		specs = append(specs, webhooks.Spec{Name: w.Name, URL: w.URL, Events: w.Events, Secrets: w.Secrets(),
			AllowHTTP: w.AllowHTTP, AllowPrivateAddresses: w.AllowPrivateAddresses, Enabled: w.IsEnabled()})
	}
	if err := svc.Configure(ctx, specs); err != nil {
		return nil, fmt.Errorf("webhooks: %w", err)
	}
	return svc, nil
}

// runWebhooks keeps the endpoints fresh on this replica and runs the
// dispatcher wherever the lease "webhooks" is held, until ctx ends.
func runWebhooks(ctx context.Context, svc *webhooks.Service, st store.Store, holder string, log *slog.Logger) {
	go svc.RunRefresh(ctx, time.Second)
	if err := lease.New(st, holder, store.SystemClock, log).Source(svc).Run(ctx, nil); err != nil {
		log.Error("webhook dispatcher stopped", "err", err)
	}
}

// webhooksCmd runs `switchboard webhooks list|deliveries NAME|replay NAME
// [EVENT_ID]|ping NAME` against the running hub.
func webhooksCmd(args []string, w io.Writer) error {
	sub := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	var pos, flags []string
	for i := 0; i < len(args); i++ {
		if strings.HasPrefix(args[i], "-") {
			flags = append(flags, args[i])
			if !strings.Contains(args[i], "=") && i+1 < len(args) {
				flags = append(flags, args[i+1])
				i++
			}
			continue
		}
		pos = append(pos, args[i])
	}
	c, _, err := newClient(newFlagSet("webhooks "+sub), flags)
	if err != nil {
		return err
	}
	name := func() (string, error) {
		if len(pos) < 1 {
			return "", usageError("webhooks " + sub + " needs NAME")
		}
		return url.PathEscape(pos[0]), nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	switch sub {
	case "list":
		var out struct {
			Webhooks []webhooks.View `json:"webhooks"`
		}
		if err := c.do("GET", "/api/v1/webhooks", nil, &out); err != nil {
			return err
		}
		fmt.Fprintln(tw, "NAME\tURL\tEVENTS\tACTIVE\tSOURCE\tDISABLED")
		for _, v := range out.Webhooks {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%v\t%s\t%s\n", v.Name, v.URL, strings.Join(v.Events, ","), v.Active, v.Source, dash(v.DisabledReason))
		}
		return nil
	case "deliveries":
		n, err := name()
		if err != nil {
			return err
		}
		var out struct {
			Deliveries []store.WebhookDelivery `json:"deliveries"`
		}
		if err := c.do("GET", "/api/v1/webhooks/"+n+"/deliveries", nil, &out); err != nil {
			return err
		}
		fmt.Fprintln(tw, "EVENT ID\tTYPE\tSTATUS\tATTEMPTS\tLAST CODE\tLAST ATTEMPT\tNEXT ATTEMPT\tLAST ERROR")
		for _, d := range out.Deliveries {
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\t%s\n", d.EventID, d.Type, d.Status, d.Attempts, d.LastCode,
				when(d.LastAttemptAt), when(d.NextAttemptAt), dash(d.LastError))
		}
		return nil
	case "replay":
		n, err := name()
		if err != nil {
			return err
		}
		body := map[string]string{}
		if len(pos) > 1 {
			body["event_id"] = pos[1]
		}
		var out struct {
			Replayed int `json:"replayed"`
		}
		if err := c.do("POST", "/api/v1/webhooks/"+n+"/replay", body, &out); err != nil {
			return err
		}
		fmt.Fprintf(tw, "replayed %d\n", out.Replayed)
		return nil
	case "ping":
		n, err := name()
		if err != nil {
			return err
		}
		var out webhooks.PingResult
		if err := c.do("POST", "/api/v1/webhooks/"+n+"/ping", nil, &out); err != nil {
			return err
		}
		if out.Error != "" || out.Code < 200 || out.Code >= 300 {
			return fmt.Errorf("ping %s: code %d %s (%s)", pos[0], out.Code, out.Error, out.Duration)
		}
		fmt.Fprintf(tw, "%s answered %d in %s (webhook-id %s)\n", pos[0], out.Code, out.Duration, out.ID)
		return nil
	}
	return usageError(fmt.Sprintf("webhooks %s: unknown (list, deliveries NAME, replay NAME [EVENT_ID], ping NAME)", sub))
}

func when(t time.Time) string {
	if t.IsZero() {
		return "-"
	}
	return t.Local().Format(time.DateTime)
}
