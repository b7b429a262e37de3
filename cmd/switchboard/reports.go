package main

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"text/tabwriter"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/sla"
	"github.com/switchboard-hub/switchboard/sla/calendar"
	"github.com/switchboard-hub/switchboard/store"
)

// serviceFigures builds the SLA policies (sla, business_hours) and the
// service figures' rollup that timeline.Service keeps them with; the
// CSAT survey code calls its CSATReceived.
func serviceFigures(cfg *config.Config, st store.Store, reg prometheus.Registerer, log *slog.Logger) (*sla.Rollup, error) {
	p, err := slaPolicies(cfg)
	if err != nil {
		return nil, fmt.Errorf("sla: %w", err)
	}
	r := sla.NewRollup(st, p, log, reg)
	// Breaches count when their due time passes (timers in the store;
	// Rollup.Run fires them), not only at the late answer.
	r.CountOverdue(st, store.SystemClock)
	return r, nil
}

// slaPolicies builds the sla[] policies over their business_hours
// calendars (nil when none is configured). The config is validated.
func slaPolicies(cfg *config.Config) (*sla.Policies, error) {
	if len(cfg.SLA) == 0 {
		return nil, nil
	}
	cals := map[string]*calendar.Calendar{}
	for _, b := range cfg.BusinessHours {
		cal, err := b.Calendar()
		if err != nil {
			return nil, fmt.Errorf("business_hours %s: %w", b.Name, err)
		}
		cals[b.Name] = cal
	}
	list := make([]sla.Policy, 0, len(cfg.SLA))
	for _, s := range cfg.SLA {
		list = append(list, sla.Policy{Name: s.Name, FirstResponse: s.FirstResponse.D(), NextResponse: s.NextResponse.D(),
			Resolution: s.Resolution.D(), Calendar: cals[s.Calendar], Channels: s.Channels, Teams: s.Teams})
	}
	return sla.NewPolicies(list), nil
}

// teamLeads maps each agent to the teams they lead (teams[].leads).
func teamLeads(cfg *config.Config) map[string][]string {
	out := map[string][]string{}
	for _, t := range cfg.Teams {
		for _, l := range t.Leads {
			out[l] = append(out[l], t.Name)
		}
	}
	return out
}

// reportsCmd runs `switchboard reports service [--group-by channel|team|agent]
// [--from DATE] [--to DATE] [--csv]` against a running hub.
func reportsCmd(args []string, w io.Writer) error {
	if len(args) == 0 || args[0] != "service" {
		return usageError("reports needs a report: reports service [--group-by channel|team|agent] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--csv]")
	}
	args, bools := takeBoolFlags(args[1:], "csv", "json")
	fs := newFlagSet("reports service")
	fs.SetOutput(io.Discard)
	group := fs.String("group-by", "channel", "channel, team or agent")
	from := fs.String("from", "", "first day, YYYY-MM-DD (default 29 days before --to)")
	to := fs.String("to", "", "last day, YYYY-MM-DD (default today)")
	c, rest, err := newClient(fs, args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError("reports service takes no arguments besides its flags")
	}
	q := url.Values{"group_by": {*group}}
	if *from != "" {
		q.Set("from", *from)
	}
	if *to != "" {
		q.Set("to", *to)
	}
	path := "/api/v1/reports/service?"
	if bools["csv"] {
		q.Set("format", "csv")
		return c.raw(path+q.Encode(), w)
	}
	var rep sla.Report
	if err := c.do("GET", path+q.Encode(), nil, &rep); err != nil {
		return err
	}
	if bools["json"] {
		return printJSON(w, rep)
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	fmt.Fprintln(tw, strings.ToUpper(*group)+"\tCONVERSATIONS\tFIRST RESPONSE P50/P90\tRESOLUTION P50/P90\tREOPENED\tBREACHES FR/RES\tCSAT N\tSCORE\tPOSITIVE")
	for _, r := range rep.Rows {
		fmt.Fprintf(tw, "%s\t%d\t%s / %s\t%s / %s\t%d\t%d / %d\t%d\t%.2f\t%.0f%%\n", r.Key, r.Conversations,
			secsOr(r.FirstResponse.P50), secsOr(r.FirstResponse.P90), secsOr(r.Resolution.P50), secsOr(r.Resolution.P90),
			r.Reopened, r.SLABreaches.FirstResponse, r.SLABreaches.Resolution, r.CSAT.Responses, r.CSAT.Score, r.CSAT.PositiveShare*100)
	}
	return tw.Flush()
}

func secsOr(p *int64) string {
	if p == nil {
		return "-"
	}
	return fmt.Sprintf("%ds", *p)
}

// raw copies the body of a GET to w.
func (c *client) raw(path string, w io.Writer) error {
	req, err := http.NewRequest("GET", strings.TrimRight(c.base, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("is the hub running? %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("GET %s: %s %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	_, err = io.Copy(w, resp.Body)
	return err
}
