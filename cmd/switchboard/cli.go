package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/switchboard-hub/switchboard/config"
)

// client talks to a running hub's API.
type client struct {
	base, token string
	http        *http.Client
}

// clientFlags defines the flags every verb that talks to a hub has.
func clientFlags(fs *flag.FlagSet) (u, tok, cfgPath *string) {
	u = fs.String("url", os.Getenv(config.EnvURL), "hub base URL (default http://<http.addr>)")
	tok = fs.String("token", "", "API token (default $SWITCHBOARD_TOKEN, the config's first admin, or the bootstrap token)")
	cfgPath = fs.String("config", "", "config file (default $SWITCHBOARD_CONFIG)")
	return u, tok, cfgPath
}

func newClient(fs *flag.FlagSet, args []string) (*client, []string, error) {
	u, tok, cfgPath := clientFlags(fs)
	if err := fs.Parse(args); err != nil {
		return nil, nil, usageError(err.Error())
	}
	c := &client{base: *u, token: *tok, http: &http.Client{Timeout: 30 * time.Second}}
	if c.token == "" {
		c.token = os.Getenv(config.EnvToken)
	}
	if c.base == "" || c.token == "" {
		cfg, err := config.Load(config.FilePath(*cfgPath, os.Environ()), os.Environ())
		if err != nil {
			return nil, nil, configError(err)
		}
		if c.base == "" {
			c.base = "http://" + cfg.HTTP.Addr
		}
		for _, a := range cfg.Agents {
			if c.token == "" && a.Role == "admin" && a.Token != "" {
				c.token = a.Token
			}
		}
		if c.token == "" && len(cfg.Agents) == 0 {
			if b, err := os.ReadFile(bootstrapTokenPath(cfg)); err == nil {
				c.token = strings.TrimSpace(string(b))
			}
		}
	}
	return c, fs.Args(), nil
}

func (c *client) do(method, path string, body any, out any) error {
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, strings.TrimRight(c.base, "/")+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return fmt.Errorf("is the hub running? %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if resp.StatusCode >= 300 {
		var e struct{ Error, Message string }
		_ = json.Unmarshal(b, &e)
		return httpError{status: resp.StatusCode, text: resp.Status, method: method, path: path, message: e.Message}
	}
	if out != nil {
		return json.Unmarshal(b, out)
	}
	return nil
}

// httpError is a hub's error answer.
type httpError struct {
	status                      int
	text, method, path, message string
}

func (e httpError) Error() string {
	if e.message != "" {
		return fmt.Sprintf("%s %s: %s (%s)", e.method, e.path, e.message, e.text)
	}
	return fmt.Sprintf("%s %s: %s", e.method, e.path, e.text)
}

func printJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// cli runs the verbs that talk to a running hub.
func cli(args []string, w, stderr io.Writer) error {
	verb, sub := args[0], ""
	rest := args[1:]
	if len(rest) > 0 && !strings.HasPrefix(rest[0], "-") {
		sub, rest = rest[0], rest[1:]
	}
	if sub == "" && verb != "channels" { // channels alone lists them
		return usageError(verb + " needs a subcommand")
	}
	rest, bools := takeBoolFlags(rest, "force", "json")
	// Flags may come before or after the positional arguments.
	var pos []string
	var flags []string
	for i := 0; i < len(rest); i++ {
		if strings.HasPrefix(rest[i], "-") {
			flags = append(flags, rest[i])
			if !strings.Contains(rest[i], "=") && i+1 < len(rest) {
				flags = append(flags, rest[i+1])
				i++
			}
			continue
		}
		pos = append(pos, rest[i])
	}
	if handled, err := rightsCLI(verb, sub, rest, w); handled { // rights.go
		return err
	}
	c, _, err := newClient(newFlagSet(verb), flags)
	if err != nil {
		return err
	}
	need := func(n int, what string) error {
		if len(pos) != n {
			return usageError(fmt.Sprintf("%s %s needs %s", verb, sub, what))
		}
		return nil
	}
	esc := url.PathEscape
	if verb == "channels" { // readiness, potential and phase: adoption.go
		if handled, err := adoptionVerb(c, sub, pos, bools, w); handled {
			return err
		}
	}
	switch verb + " " + sub {
	case "channels list", "channels ":
		var out struct {
			Channels []map[string]any `json:"channels"`
		}
		if err := c.do("GET", "/api/v1/channels", nil, &out); err != nil {
			return err
		}
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "NAME\tTYPE\tPHASE\tUPDATED BY")
		for _, ch := range out.Channels {
			fmt.Fprintf(tw, "%v\t%v\t%v\t%v\n", ch["name"], ch["type"], ch["phase"], str(ch["updated_by"]))
		}
		return tw.Flush()
	case "channels show":
		if err := need(1, "NAME"); err != nil {
			return err
		}
		var out any
		if err := c.do("GET", "/api/v1/channels/"+esc(pos[0]), nil, &out); err != nil {
			return err
		}
		return printJSON(w, out)
	case "channels test":
		if err := need(1, "NAME"); err != nil {
			return err
		}
		var out any
		if err := c.do("POST", "/api/v1/channels/"+esc(pos[0])+"/test", nil, &out); err != nil {
			return err
		}
		return printJSON(w, out)
	case "customers find":
		if err := need(1, "TYPE:VALUE (or a VALUE whose type is guessed)"); err != nil {
			return err
		}
		ident, guessed := guessIdentity(pos[0]) // find.go
		if guessed {
			fmt.Fprintf(stderr, "switchboard: finding %s\n", ident)
		}
		var out any
		if err := c.do("GET", "/api/v1/customers?identity="+url.QueryEscape(ident), nil, &out); err != nil {
			return err
		}
		return printJSON(w, out)
	case "customers show": // customers export is rightsCLI's (rights.go)
		if err := need(1, "ID"); err != nil {
			return err
		}
		var out any
		if err := c.do("GET", "/api/v1/customers/"+esc(pos[0]), nil, &out); err != nil {
			return err
		}
		return printJSON(w, out)
	case "customers merge":
		if err := need(2, "two customer ids"); err != nil {
			return err
		}
		var out any
		if err := c.do("POST", "/api/v1/customers/"+esc(pos[0])+"/merge", map[string]string{"other": pos[1]}, &out); err != nil {
			return err
		}
		return printJSON(w, out)
	case "customers unmerge":
		if err := need(1, "MERGE_ID"); err != nil {
			return err
		}
		var out any
		if err := c.do("POST", "/api/v1/merges/"+esc(pos[0])+"/undo", nil, &out); err != nil {
			return unmergeError(pos[0], err) // find.go
		}
		return printJSON(w, out)
	case "customers erase":
		if err := need(1, "ID"); err != nil {
			return err
		}
		var out any
		if err := c.do("DELETE", "/api/v1/customers/"+esc(pos[0]), nil, &out); err != nil {
			return err
		}
		return printJSON(w, out)
	case "queue stats":
		tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "QUEUE\tLENGTH\tPENDING\tDEAD\tOLDEST")
		for _, q := range []string{"ingest", "outbound"} {
			var s struct {
				Length, Pending, Dead int64
				OldestAge             time.Duration `json:"oldest_age"`
			}
			if err := c.do("GET", "/api/v1/queues/"+q, nil, &s); err != nil {
				return err
			}
			fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%s\n", q, s.Length, s.Pending, s.Dead, s.OldestAge.Round(time.Millisecond))
		}
		return tw.Flush()
	case "queue dead":
		if len(pos) == 0 {
			return usageError("queue dead needs list or replay")
		}
		action, q := pos[0], "ingest"
		switch action {
		case "list":
			if len(pos) > 1 {
				q = pos[1]
			}
			var out any
			if err := c.do("GET", "/api/v1/queues/"+esc(q)+"/dead", nil, &out); err != nil {
				return err
			}
			return printJSON(w, out)
		case "replay":
			id := ""
			if len(pos) > 1 {
				id = pos[1]
			}
			total := 0
			for _, q := range []string{"ingest", "outbound"} {
				var out struct{ Replayed int }
				err := c.do("POST", "/api/v1/queues/"+q+"/dead/replay?id="+url.QueryEscape(id), nil, &out)
				if err != nil && id == "" {
					return err
				}
				total += out.Replayed
			}
			fmt.Fprintf(w, "replayed %d dead letter(s)\n", total)
			return nil
		}
		return usageError("queue dead needs list or replay")
	}
	return usageError(fmt.Sprintf("unknown command %q", strings.TrimSpace(verb+" "+sub)))
}

func str(v any) string {
	if v == nil {
		return ""
	}
	return fmt.Sprint(v)
}
