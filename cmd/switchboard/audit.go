package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// auditCmd runs `switchboard audit [--since DURATION|TIME] [--until TIME]
// [--actor NAME] [--action ACTION] [--customer ID] [--limit N] [--json]`
// against the running hub: the audit log, newest first, every page.
func auditCmd(args []string, w io.Writer, now func() time.Time) error {
	if now == nil {
		now = time.Now
	}
	fs := newFlagSet("audit")
	fs.SetOutput(io.Discard)
	since := fs.String("since", "", "only records from then on: a duration back from now (24h, 90m) or an RFC 3339 time")
	until := fs.String("until", "", "only records before this RFC 3339 time")
	actor := fs.String("actor", "", "only this actor (an agent, key:NAME, customer, router)")
	action := fs.String("action", "", "only this action, or a prefix up to a dot (conversation, customer.merge)")
	customer := fs.String("customer", "", "only records about this customer")
	limit := fs.Int("limit", 0, "at most this many records (0: all)")
	asJSON := fs.Bool("json", false, "one JSON record a line")
	// The client's own flags, passed on to newClient.
	base := fs.String("url", "", "hub base URL")
	tok := fs.String("token", "", "API token")
	cfgPath := fs.String("config", "", "config file")
	if err := fs.Parse(args); err != nil {
		return usageError("audit: " + err.Error())
	}
	if fs.NArg() > 0 {
		return usageError("audit: unexpected argument " + fs.Arg(0))
	}
	var clientArgs []string
	for k, v := range map[string]string{"url": *base, "token": *tok, "config": *cfgPath} {
		if v != "" {
			clientArgs = append(clientArgs, "--"+k, v)
		}
	}
	q := url.Values{}
	if *since != "" {
		t, err := sinceTime(*since, now())
		if err != nil {
			return usageError("audit: --since " + err.Error())
		}
		q.Set("from", t.UTC().Format(time.RFC3339Nano))
	}
	if *until != "" {
		t, err := time.Parse(time.RFC3339Nano, *until)
		if err != nil {
			return usageError("audit: --until is not an RFC 3339 time")
		}
		q.Set("to", t.UTC().Format(time.RFC3339Nano))
	}
	for k, v := range map[string]string{"actor": *actor, "action": *action, "customer": *customer} {
		if v != "" {
			q.Set(k, v)
		}
	}
	q.Set("limit", strconv.Itoa(store.MaxAuditPage))
	c, _, err := newClient(newFlagSet("audit"), clientArgs)
	if err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if !*asJSON {
		fmt.Fprintln(tw, "AT\tACTOR\tACTION\tTARGET\tCUSTOMER\tDETAIL")
	}
	n := 0
	for {
		var page struct {
			Audit []store.AuditRecord `json:"audit"`
			Next  string              `json:"next"`
		}
		if err := c.do("GET", "/api/v1/audit?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		for _, r := range page.Audit {
			if *limit > 0 && n == *limit {
				return nil
			}
			n++
			if *asJSON {
				b, err := json.Marshal(r)
				if err != nil {
					return err
				}
				fmt.Fprintln(w, string(b))
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", r.At.UTC().Format(time.RFC3339), r.Actor, r.Action, dash(r.Target), dash(r.Customer), dash(r.Detail))
		}
		if page.Next == "" {
			return nil
		}
		q.Set("cursor", page.Next)
	}
}

// sinceTime reads --since: a duration back from now, or an RFC 3339 time.
func sinceTime(s string, now time.Time) (time.Time, error) {
	if d, err := time.ParseDuration(s); err == nil {
		if d < 0 {
			return time.Time{}, fmt.Errorf("%q is negative", s)
		}
		return now.Add(-d), nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%q is neither a duration (24h) nor an RFC 3339 time", s)
	}
	return t, nil
}
