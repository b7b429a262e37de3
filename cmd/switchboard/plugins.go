package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/plugins/plugintest"
	"github.com/switchboard-hub/switchboard/plugins/sdk"
)

// pluginsCmd runs `switchboard plugins list` (asks the running hub) and
// `switchboard plugins test PATH` (launches the binary itself).
func pluginsCmd(args []string, w io.Writer) error {
	sub := "list"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		sub, args = args[0], args[1:]
	}
	switch sub {
	case "list":
		return pluginsList(args, w)
	case "test":
		return pluginsTest(args, w)
	}
	return usageError(fmt.Sprintf("plugins %s: unknown (list or test PATH)", sub))
}

func pluginsList(args []string, w io.Writer) error {
	c, rest, err := newClient(newFlagSet("plugins list"), args)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return usageError("plugins list takes no arguments")
	}
	var out struct {
		Plugins []inbox.PluginStatus `json:"plugins"`
	}
	if err := c.do("GET", "/api/v1/plugins", nil, &out); err != nil {
		return err
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "PLUGIN\tCHANNEL\tSTATE\tVERSION\tPID\tRESTARTS\tRECEIVING\tSINCE\tLAST ERROR")
	for _, p := range out.Plugins {
		since := "-"
		if !p.Since.IsZero() {
			since = p.Since.Local().Format(time.DateTime)
		}
		pid := "-"
		if p.PID != 0 {
			pid = fmt.Sprint(p.PID)
		}
		receiving := "no" // a run-once plugin receives only on the replica holding its lease
		if p.Receiving {
			receiving = "yes"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%d\t%s\t%s\t%s\n", p.Plugin, dash(p.Channel), p.State, dash(p.Version), pid, p.Restarts, receiving, since, dash(p.LastError))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// settingFlags collects repeated --set KEY=VALUE.
type settingFlags map[string]string

func (s settingFlags) String() string { return "" }
func (s settingFlags) Set(v string) error {
	k, val, ok := strings.Cut(v, "=")
	if !ok || k == "" {
		return fmt.Errorf("%q is not KEY=VALUE", v)
	}
	s[k] = val
	return nil
}

func pluginsTest(args []string, w io.Writer) error {
	fs := newFlagSet("plugins test")
	settings := settingFlags{}
	fs.Var(settings, "set", "a plugin setting KEY=VALUE (repeatable)")
	to := fs.String("to", "", "a recipient TYPE:VALUE the plugin can send to (checks Send)")
	sha := fs.String("sha256", "", "the binary's expected SHA-256")
	timeout := fs.Duration("timeout", 20*time.Second, "time limit of each check")
	verbose := fs.Bool("v", false, "show the host's and the plugin's logs")
	allowSkip := fs.Bool("allow-skip", false, "exit 0 even when checks were skipped (no injector, no --to)")
	// Flags may come before or after PATH.
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			return usageError(err.Error())
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		args = fs.Args()[1:]
	}
	if len(pos) != 1 {
		return usageError("plugins test needs PATH (the plugin binary)")
	}
	o := plugintest.Options{Path: pos[0], SHA256: *sha, Settings: settings, Timeout: *timeout}
	if *to != "" {
		id, err := connectors.ParseKey(*to)
		if err != nil {
			return usageError(err.Error())
		}
		o.To = &sdk.Identity{Type: id.Type, Value: id.Value}
	}
	if *verbose {
		o.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rs := plugintest.Check(ctx, o)
	if plugintest.Print(w, rs) {
		return fmt.Errorf("%s: %d check(s) failed", pos[0], plugintest.Count(rs, plugintest.Fail))
	}
	// A plugin whose checks did not run has not passed them.
	if n := plugintest.Count(rs, plugintest.Skip); n > 0 && !*allowSkip {
		return fmt.Errorf("%s: %d check(s) skipped, none failed (--allow-skip accepts that)", pos[0], n)
	}
	return nil
}
