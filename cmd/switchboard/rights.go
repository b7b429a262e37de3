package main

import (
	"flag"
	"fmt"
	"github.com/switchboard-hub/switchboard/search"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/retention"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// newSweeper builds the retention sweeper from channels[].retention.
func newSweeper(cfg *config.Config, st store.Store, bl connectors.Blobs, convs *timeline.Service, clock store.Clock, idx search.Indexer) *retention.Sweeper {
	chans := map[string]time.Duration{}
	for _, c := range cfg.Channels {
		if c.Retention > 0 {
			chans[c.Name] = c.Retention.D()
		}
	}
	return retention.New(retention.Options{Store: st, Blobs: bl, Clock: clock, Channels: chans, DeleteConversation: convs.Delete,
		AuditRetention: cfg.Audit.Retention.D(), Index: idx})
}

// rightsCLI runs the data-rights verbs (issue 15) that need flags of
// their own: `customers export ID -o FILE.zip`, `customers hold|release
// ID [--reason R]`, `retention run [--dry-run]`. handled is false for
// every other verb. args are the words after the verb and sub-verb,
// flags and positional arguments in any order.
func rightsCLI(verb, sub string, args []string, w io.Writer) (handled bool, err error) {
	switch verb + " " + sub {
	case "customers export", "customers hold", "customers release", "retention run":
	default:
		return false, nil
	}
	fs := newFlagSet(verb + " " + sub)
	out := fs.String("o", "", "customers export: write the zip to this file")
	dry := fs.Bool("dry-run", false, "retention run: report what would be deleted, delete nothing")
	reason := fs.String("reason", "", "customers hold: why (kept with the hold)")
	// Flags may come before or after the positional arguments: parse,
	// set the next positional aside, parse the remainder.
	var rest, flags []string
	for len(args) > 0 {
		if !strings.HasPrefix(args[0], "-") {
			rest, args = append(rest, args[0]), args[1:]
			continue
		}
		probe := newFlagSet("")
		probe.SetOutput(io.Discard)
		fs.VisitAll(func(f *flag.Flag) { probe.Var(f.Value, f.Name, f.Usage) })
		probe.String("url", "", "")
		probe.String("token", "", "")
		probe.String("config", "", "")
		if err := probe.Parse(args); err != nil {
			return true, usageError(err.Error())
		}
		n := len(args) - len(probe.Args())
		flags, args = append(flags, args[:n]...), probe.Args()
	}
	c, _, err := newClient(fs, flags)
	if err != nil {
		return true, err
	}
	need := func(what string) error {
		if len(rest) != 1 {
			return usageError(fmt.Sprintf("%s %s needs %s", verb, sub, what))
		}
		return nil
	}
	switch verb + " " + sub {
	case "customers export":
		if err := need("ID"); err != nil {
			return true, err
		}
		path := "/api/v1/customers/" + url.PathEscape(rest[0]) + "/export"
		if *out == "" {
			var v any
			if err := c.do("GET", path+"?format=json", nil, &v); err != nil {
				return true, err
			}
			return true, printJSON(w, v)
		}
		return true, c.download(path, *out, w)
	case "customers hold", "customers release":
		if err := need("ID"); err != nil {
			return true, err
		}
		method, body := "PUT", any(map[string]string{"reason": *reason})
		if sub == "release" {
			method, body = "DELETE", nil
		}
		var v any
		if err := c.do(method, "/api/v1/customers/"+url.PathEscape(rest[0])+"/hold", body, &v); err != nil {
			return true, err
		}
		return true, printJSON(w, v)
	default: // retention run
		var rep retention.Report
		if err := c.do("POST", fmt.Sprintf("/api/v1/retention/run?dry_run=%t", *dry), nil, &rep); err != nil {
			return true, err
		}
		word := "deleted"
		if rep.DryRun {
			word = "would delete"
		}
		fmt.Fprintf(w, "retention %s %d entries, %d attachments, %d conversations; %d held customer records skipped\n",
			word, rep.Total(), rep.Attachments, rep.Conversations, rep.HeldCustomers)
		for ch, n := range rep.Entries {
			fmt.Fprintf(w, "  %s: %d entries\n", ch, n)
		}
		return true, nil
	}
}

// download streams GET path into file (written whole or not at all).
func (c *client) download(path, file string, w io.Writer) error {
	req, err := http.NewRequest("GET", strings.TrimRight(c.base, "/")+path, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	hc := *c.http
	hc.Timeout = 0 // a large export takes as long as it takes
	resp, err := hc.Do(req)
	if err != nil {
		return fmt.Errorf("is the hub running? %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
		return fmt.Errorf("GET %s: %s %s", path, resp.Status, strings.TrimSpace(string(b)))
	}
	tmp := file + ".part"
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o600)
	if err != nil {
		return err
	}
	n, err := io.Copy(f, resp.Body)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("download %s: %w", path, err)
	}
	if err := os.Rename(tmp, file); err != nil {
		return err
	}
	fmt.Fprintf(w, "wrote %s (%d bytes)\n", file, n)
	return nil
}
