package main

import (
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/directory"
)

// readinessOf turns channels[].readiness into the directory's criteria.
func readinessOf(r config.Readiness) directory.Readiness {
	return directory.Readiness{MinDays: r.MinDays, MinMessages: r.MinMessages, MinMatchRate: r.MinMatchRate,
		MaxFailureRate: r.MaxFailureRate, MaxDeadLetters: r.MaxDeadLetters, MaxFirstResponse: r.MaxFirstResponse.D()}
}

// takeBoolFlags removes the boolean flags named (--NAME or -NAME) from
// args, so the value-taking flag parser of cli does not take the next
// argument as their value, and reports which were present.
func takeBoolFlags(args []string, names ...string) ([]string, map[string]bool) {
	set := map[string]bool{}
	var rest []string
	for _, a := range args {
		n := strings.TrimLeft(a, "-")
		if strings.HasPrefix(a, "-") && len(n) > 0 {
			found := false
			for _, want := range names {
				if n == want || n == want+"=true" {
					set[want], found = true, true
				}
			}
			if found {
				continue
			}
		}
		rest = append(rest, a)
	}
	return rest, set
}

// adoptionVerb runs `channels readiness NAME [--json]`, `channels
// potential` and `channels phase NAME PHASE [--force]`; handled is false
// for any other verb.
func adoptionVerb(c *client, sub string, pos []string, bools map[string]bool, w io.Writer) (handled bool, err error) {
	esc := url.PathEscape
	switch sub {
	case "readiness":
		if len(pos) != 1 {
			return true, usageError("channels readiness needs NAME")
		}
		var out map[string]any
		if err := c.do("GET", "/api/v1/channels/"+esc(pos[0])+"/readiness", nil, &out); err != nil {
			return true, err
		}
		if bools["json"] {
			return true, printJSON(w, out)
		}
		return true, printReadiness(w, out)
	case "potential":
		var out struct {
			Channels []map[string]any `json:"channels"`
			Rule     string           `json:"rule"`
		}
		if err := c.do("GET", "/api/v1/channels/potential", nil, &out); err != nil {
			return true, err
		}
		if bools["json"] {
			return true, printJSON(w, out)
		}
		tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
		fmt.Fprintln(tw, "RANK\tCHANNEL\tPHASE\tMESSAGES\tVOLUME\tNEW\tONLY HERE\tMATCH\tLOAD/DAY\tSCORE\tVERDICT")
		for _, r := range out.Channels {
			fmt.Fprintf(tw, "%v\t%v\t%v\t%v\t%v\t%v\t%v\t%v\t%v\t%v\t%v\n", r["rank"], r["channel"], r["phase"], r["messages_in"],
				r["volume_share"], r["new_customers"], r["only_here"], r["match_rate"], r["team_load"], r["score"], r["verdict"])
		}
		tw.Flush()
		fmt.Fprintf(w, "rule: %s\n", out.Rule)
		return true, nil
	case "phase":
		if len(pos) != 2 {
			return true, usageError("channels phase needs NAME and a phase (off, shadow, pilot, live)")
		}
		var out map[string]any
		if err := c.do("PUT", "/api/v1/channels/"+esc(pos[0])+"/phase", map[string]any{"phase": pos[1], "force": bools["force"]}, &out); err != nil {
			return true, err
		}
		fmt.Fprintf(w, "channel %v is now %v\n", out["name"], out["phase"])
		if f, _ := out["forced"].(bool); f {
			fmt.Fprintf(w, "forced past a %v verdict:\n", out["verdict"])
			for _, r := range anyList(out["reasons"]) {
				fmt.Fprintf(w, "  - %v\n", r)
			}
		}
		return true, nil
	}
	return false, nil
}

func anyList(v any) []any {
	l, _ := v.([]any)
	return l
}

func printReadiness(w io.Writer, r map[string]any) error {
	m := func(v any) map[string]any { x, _ := v.(map[string]any); return x }
	fmt.Fprintf(w, "channel %v (%v since %v)\n", r["channel"], r["phase"], orDash(r["phase_since"]))
	fmt.Fprintf(w, "period %v .. %v\n", r["from"], r["to"])
	fmt.Fprintf(w, "verdict: %v\n", r["verdict"])
	for _, x := range anyList(r["reasons"]) {
		fmt.Fprintf(w, "  - %v\n", x)
	}
	tw := tabwriter.NewWriter(w, 0, 2, 2, ' ', 0)
	row := func(k string, v any) { fmt.Fprintf(tw, "%s\t%v\n", k, v) }
	for _, k := range []string{"messages_in", "senders", "duplicates", "refused", "dead_letters"} {
		row(k, r[k])
	}
	row("matched.verified", m(r["matched"])["verified"])
	row("matched.claimed", m(r["matched"])["claimed"])
	for _, k := range []string{"new_customers", "merge_suggestions", "match_rate", "opt_outs"} {
		row(k, r[k])
	}
	row("reach.only_here", m(r["reach"])["only_here"])
	for _, ch := range sortedKeys(m(m(r["reach"])["overlap"])) {
		row("reach.overlap."+ch, m(m(r["reach"])["overlap"])[ch])
	}
	for _, t := range sortedKeys(m(r["would_route"])) {
		row("would_route."+t, m(r["would_route"])[t])
	}
	for _, k := range []string{"sent", "delivered", "failed"} {
		row("outbound."+k, m(r["outbound"])[k])
	}
	for _, k := range []string{"first_response_s", "resolution_s"} {
		if p := m(r[k]); p != nil {
			row(k, fmt.Sprintf("p50 %v p90 %v", p["p50"], p["p90"]))
		} else {
			row(k, "-")
		}
	}
	return tw.Flush()
}

func sortedKeys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func orDash(v any) any {
	if v == nil {
		return "-"
	}
	return v
}
