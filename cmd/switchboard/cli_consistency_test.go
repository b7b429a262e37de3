package main

import (
	"bytes"
	"errors"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// Every verb answers help, usage errors and failures the same way (issue
// 19): `VERB --help` prints the verb's usage once to stdout and exits 0; an
// unknown flag exits 2 with one error line and one usage on stderr; a
// failure exits 1 with one line on stderr.
func TestCLIEveryVerbHelpUsageAndErrors(t *testing.T) {
	dir := t.TempDir()
	missing := filepath.Join(dir, "missing.yaml")
	down := []string{"--url", "http://127.0.0.1:1", "--token", "t"} // nothing listens on port 1
	with := func(a ...string) []string { return append(a, down...) }
	for _, v := range []struct {
		verb      string
		bad, fail []string // fail nil: the verb has no failure reachable here
	}{
		{"serve", []string{"serve", "--bogus"}, []string{"serve", "--config", missing}},
		{"config", []string{"config", "check", "--bogus"}, []string{"config", "check", missing}},
		{"channels", []string{"channels", "list", "--bogus"}, with("channels", "list")},
		{"customers", []string{"customers", "show", "c1", "--bogus"}, with("customers", "show", "c1")},
		{"customers", []string{"customers", "export", "c1", "--bogus"}, with("customers", "export", "c1", "-o", filepath.Join(dir, "x.zip"))},
		{"retention", []string{"retention", "run", "--bogus"}, with("retention", "run")},
		{"queue", []string{"queue", "stats", "--bogus"}, with("queue", "stats")},
		{"plugins", []string{"plugins", "list", "--bogus"}, with("plugins", "list")},
		{"webhooks", []string{"webhooks", "list", "--bogus"}, with("webhooks", "list")},
		{"reports", []string{"reports", "service", "--bogus"}, with("reports", "service")},
		{"audit", []string{"audit", "--bogus"}, with("audit")},
		{"search", []string{"search", "parcel", "--bogus"}, with("search", "parcel")},
		{"load", []string{"load", "--bogus"}, with("load")},
		{"demo", []string{"demo", "seed", "--bogus"}, []string{"demo", "seed", "--config", missing}},
		{"password-hash", []string{"password-hash", "--bogus"}, nil},
		{"version", []string{"version", "--bogus"}, nil},
	} {
		t.Run(v.verb, func(t *testing.T) {
			for _, help := range []string{"--help", "-h"} {
				var out, errOut bytes.Buffer
				if code := run([]string{v.verb, help}, &out, &errOut); code != 0 {
					t.Errorf("%s %s: exit %d, want 0; stderr %q", v.verb, help, code, errOut.String())
				}
				if errOut.Len() != 0 {
					t.Errorf("%s %s wrote to stderr: %q", v.verb, help, errOut.String())
				}
				if n := strings.Count(out.String(), "Usage:"); n != 1 || !strings.Contains(out.String(), "switchboard "+v.verb) || !strings.Contains(out.String(), "Exit codes:") {
					t.Errorf("%s %s: stdout has %d usages (want one naming the verb and the exit codes):\n%s", v.verb, help, n, out.String())
				}
			}

			var out, errOut bytes.Buffer
			if code := run(v.bad, &out, &errOut); code != 2 {
				t.Errorf("%q: exit %d, want 2", v.bad, code)
			}
			if out.Len() != 0 {
				t.Errorf("%q wrote to stdout: %q", v.bad, out.String())
			}
			first, _, _ := strings.Cut(errOut.String(), "\n")
			if n := strings.Count(errOut.String(), "Usage:"); n != 1 || !strings.Contains(first, "bogus") && !strings.Contains(first, "arguments") {
				t.Errorf("%q: stderr should be one error line and one usage (%d usages):\n%s", v.bad, n, errOut.String())
			}

			if v.fail == nil {
				return
			}
			out.Reset()
			errOut.Reset()
			if code := run(v.fail, &out, &errOut); code != 1 {
				t.Errorf("%q: exit %d, want 1; stderr %q", v.fail, code, errOut.String())
			}
			if e := errOut.String(); strings.Count(e, "\n") != 1 || !strings.HasPrefix(e, "switchboard: ") || strings.Contains(e, "Usage:") {
				t.Errorf("%q: stderr should be one line:\n%s", v.fail, e)
			}
		})
	}
}

func TestCLIVerbWithoutSubcommandPrintsItsUsage(t *testing.T) {
	for _, verb := range []string{"queue", "customers", "retention", "config", "demo", "reports"} {
		var out, errOut bytes.Buffer
		if code := run([]string{verb}, &out, &errOut); code != 2 {
			t.Errorf("%s alone: exit %d, want 2", verb, code)
		}
		e := errOut.String()
		if strings.Contains(e, "unknown") || strings.Count(e, "Usage:") != 1 || !strings.Contains(e, "switchboard "+verb+" ") {
			t.Errorf("%s alone should print its usage, not \"unknown\":\n%s", verb, e)
		}
	}
}

func TestFindGuessesTheIdentityType(t *testing.T) {
	for in, want := range map[string]string{
		"ann@example.com":     "email:ann@example.com",
		"+358 40 123 4567":    "phone:+358 40 123 4567",
		"040-123 4567":        "phone:040-123 4567",
		"U024BE7LH":           "slack:U024BE7LH",
		"email:ann@example.":  "email:ann@example.",
		"phone:+358401234567": "phone:+358401234567",
	} {
		got, guessed := guessIdentity(in)
		if got != want || guessed == strings.Contains(in, ":") {
			t.Errorf("guessIdentity(%q) = %q, %v; want %q", in, got, guessed, want)
		}
	}
}

func TestUnmergeConflictReadsClearly(t *testing.T) {
	err := unmergeError("m_1", httpError{status: 409, text: "409 Conflict", method: "POST", path: "/api/v1/merges/m_1/undo",
		message: "merge m_1 is merge undone, not an applied merge: conflict"})
	if got := err.Error(); !strings.HasPrefix(got, "cannot unmerge m_1: it is not an applied merge now") || strings.Contains(got, "/api/v1") {
		t.Errorf("unmerge 409 reads %q", got)
	}
	other := httpError{status: 404, text: "404 Not Found", method: "POST", path: "/api/v1/merges/m_2/undo"}
	if err := unmergeError("m_2", other); !errors.Is(err, other) {
		t.Errorf("a 404 is passed on as it is: %v", err)
	}
}

// A connector's error names its channel already; building channels does
// not name it a second time.
func TestChannelErrorNamesTheChannelOnce(t *testing.T) {
	err := channelError("sms1", errors.New("channels[sms1].sms.account_sid: is required"))
	if got := err.Error(); strings.Count(got, "channels[sms1]") != 1 {
		t.Errorf("error repeats its prefix: %q", got)
	}
	if got := channelError("sms1", errors.New("dial: refused")).Error(); got != "channels[sms1]: dial: refused" {
		t.Errorf("error without the channel: %q", got)
	}
}

// load with its defaults on a hub without an api channel called "api"
// fails at once, naming the channel, instead of posting into 404s.
func TestLoadFailsLoudlyOnAMissingChannel(t *testing.T) {
	hub := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/v1/events":
			w.WriteHeader(200)
		case "/api/v1/channels/sms":
			w.Write([]byte(`{"name":"sms","type":"sms"}`))
		default:
			w.WriteHeader(404)
			w.Write([]byte(`{"error":"not_found","message":"no channel"}`))
		}
	}))
	defer hub.Close()
	for _, args := range [][]string{{}, {"--channel", "sms"}} {
		var out, errOut bytes.Buffer
		code := run(append([]string{"load", "--url", hub.URL, "--token", "t", "--duration", "1s"}, args...), &out, &errOut)
		if code != 1 || strings.Count(errOut.String(), "\n") != 1 || !strings.Contains(errOut.String(), "--channel") {
			t.Errorf("load %q: exit %d, stderr %q", args, code, errOut.String())
		}
	}
}
