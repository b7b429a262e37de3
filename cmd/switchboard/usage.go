package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// Every verb answers the same way (issue 19): `VERB --help` prints the
// verb's usage once to stdout and exits 0; a usage error (an unknown flag,
// a missing argument) prints one line and the verb's usage to stderr and
// exits 2; any other error prints one line to stderr and exits 1.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

const exitCodesText = `Exit codes: 0 done; 1 failed (one line on stderr says why); 2 usage error (the usage follows on stderr).
`

// newFlagSet is a flag set that prints nothing itself: run prints the
// error and the verb's usage once (flag's own output would print the usage
// a second time).
func newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	return fs
}

// wantsHelp reports whether args (the words after the verb) ask for help.
func wantsHelp(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// verbUsage is the usage of one verb: its lines of the overall usage, the
// flags of a verb that has many (load), and the exit codes. "" for a verb
// that does not exist.
func verbUsage(verb string) string {
	var lines []string
	for _, l := range strings.Split(usage, "\n") {
		if strings.HasPrefix(l, "  switchboard "+verb+" ") || l == "  switchboard "+verb {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return ""
	}
	var b strings.Builder
	b.WriteString("Usage:\n" + strings.Join(lines, "\n") + "\n")
	if verb == "load" {
		fs := newFlagSet("load")
		loadFlags(fs)
		clientFlags(fs)
		fs.SetOutput(&b)
		b.WriteString("\nFlags:\n")
		fs.PrintDefaults()
	} else if talksToHub(verb) {
		b.WriteString("\nFlags for reaching the hub: --url URL (default from the config's http.addr), --token TOKEN\n" +
			"(default $SWITCHBOARD_TOKEN, the config's first admin, or the bootstrap token), --config FILE.\n")
	}
	b.WriteString("\n" + exitCodesText)
	return b.String()
}

// talksToHub reports whether verb is one of those that call a running hub.
func talksToHub(verb string) bool {
	switch verb {
	case "serve", "config", "password-hash", "version", "demo":
		return false
	}
	return true
}

// usageOf answers a usage error of verb on stderr: one line, then the
// verb's usage (the overall usage for an unknown verb).
func usageOf(stderr io.Writer, verb, msg string) int {
	u := verbUsage(verb)
	if u == "" {
		u = usage
	}
	fmt.Fprintf(stderr, "switchboard: %s\n\n%s", msg, u)
	return exitUsage
}

// configError is err loading the configuration: one line when it is one
// problem, else the problems one a line under a heading.
func configError(err error) error {
	if !strings.Contains(err.Error(), "\n") {
		return fmt.Errorf("configuration: %w", err)
	}
	return fmt.Errorf("configuration:\n%w", err)
}
