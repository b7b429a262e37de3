package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchboard-hub/switchboard/search"
)

// searchCmd runs `switchboard search QUERY [--channel NAME] [--status S]
// [--team T] [--assignee A] [--from DATE] [--to DATE] [--limit N] [--json]`
// against the running hub (GET /api/v1/search): matching customers, then
// messages best first with the matched words in [brackets]. Flags may
// come before or after the query's words.
func searchCmd(args []string, w io.Writer) error {
	fs := newFlagSet("search")
	fs.SetOutput(io.Discard)
	channel := fs.String("channel", "", "only this channel")
	status := fs.String("status", "", "only conversations in this status (open, pending, snoozed, resolved)")
	team := fs.String("team", "", "only this team's conversations")
	assignee := fs.String("assignee", "", "only conversations assigned to this agent (me: the caller)")
	from := fs.String("from", "", "from this date YYYY-MM-DD or RFC 3339 time")
	to := fs.String("to", "", "up to this date YYYY-MM-DD (that whole day) or RFC 3339 time")
	limit := fs.Int("limit", 20, "at most this many messages (up to 100)")
	asJSON := fs.Bool("json", false, "the API's JSON answer")
	base := fs.String("url", "", "hub base URL")
	tok := fs.String("token", "", "API token")
	cfgPath := fs.String("config", "", "config file")
	var words []string
	for len(args) > 0 {
		if err := fs.Parse(args); err != nil {
			return usageError("search: " + err.Error())
		}
		args = fs.Args()
		if len(args) > 0 {
			words, args = append(words, args[0]), args[1:]
		}
	}
	q := strings.TrimSpace(strings.Join(words, " "))
	if q == "" {
		return usageError("search: a QUERY is required")
	}
	var clientArgs []string
	for k, v := range map[string]string{"url": *base, "token": *tok, "config": *cfgPath} {
		if v != "" {
			clientArgs = append(clientArgs, "--"+k, v)
		}
	}
	v := url.Values{"q": {q}, "limit": {strconv.Itoa(*limit)}}
	for k, x := range map[string]string{"channel": *channel, "status": *status, "team": *team, "assignee": *assignee, "from": *from, "to": *to} {
		if x != "" {
			v.Set(k, x)
		}
	}
	c, _, err := newClient(newFlagSet("search"), clientArgs)
	if err != nil {
		return err
	}
	var res search.Result
	if err := c.do("GET", "/api/v1/search?"+v.Encode(), nil, &res); err != nil {
		return err
	}
	if *asJSON {
		b, err := json.MarshalIndent(res, "", "  ")
		if err != nil {
			return err
		}
		fmt.Fprintln(w, string(b))
		return nil
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	defer tw.Flush()
	if len(res.Customers) > 0 {
		fmt.Fprintln(tw, "CUSTOMER\tNAME\tIDENTITIES")
		for _, c := range res.Customers {
			var ids []string
			for _, id := range c.Identities {
				ids = append(ids, id.Key())
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\n", c.ID, dash(c.Name), dash(strings.Join(ids, " ")))
		}
		fmt.Fprintln(tw)
	}
	if len(res.Hits) == 0 {
		fmt.Fprintln(tw, "no messages found")
		return nil
	}
	fmt.Fprintln(tw, "AT\tCHANNEL\tCONVERSATION\tSTATUS\tCUSTOMER\tTEXT")
	for _, h := range res.Hits {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", h.At.UTC().Format(time.RFC3339), h.Channel, dash(h.ConversationID), dash(h.Status),
			dash(h.CustomerName), plainSnippet(h.Snippet))
	}
	return nil
}

// plainSnippet writes a snippet on one line with matches in [brackets].
func plainSnippet(segs []search.Segment) string {
	var b strings.Builder
	for _, s := range segs {
		t := strings.Join(strings.Fields(s.Text), " ")
		if strings.HasPrefix(s.Text, " ") || strings.HasPrefix(s.Text, "\n") {
			t = " " + t
		}
		if strings.HasSuffix(s.Text, " ") || strings.HasSuffix(s.Text, "\n") {
			t += " "
		}
		if s.Match {
			t = "[" + t + "]"
		}
		b.WriteString(t)
	}
	return strings.TrimSpace(b.String())
}
