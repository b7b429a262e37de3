package main

import (
	"fmt"
	"io"
	"os"
	"runtime/debug"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `switchboard — omnichannel contact-center hub

Usage:
  switchboard serve [--config FILE]
  switchboard config check [FILE]   (checks the whole configuration, lists every problem as FILE:LINE: key: message)
  switchboard channels list | show NAME | phase NAME off|shadow|pilot|live [--force] | test NAME
  switchboard channels readiness NAME [--json] | potential [--json]
  switchboard customers find [TYPE:]VALUE | show ID | export ID [-o FILE.zip] | merge ID ID | unmerge MERGE_ID | erase ID
  switchboard customers hold ID [--reason TEXT] | release ID
  switchboard retention run [--dry-run]
  switchboard queue stats | dead list [ingest|outbound] | dead replay [ID]
  switchboard plugins list | test PATH [--set KEY=VALUE]... [--to TYPE:VALUE]
  switchboard webhooks list | deliveries NAME | replay NAME [EVENT_ID] | ping NAME
  switchboard reports service [--group-by channel|team|agent] [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--csv|--json]
  switchboard audit [--since 24h|TIME] [--until TIME] [--actor NAME] [--action ACTION] [--customer ID] [--limit N] [--json]
  switchboard search QUERY [--channel NAME] [--status S] [--team T] [--assignee A|me] [--from DATE] [--to DATE] [--limit N] [--json]
  switchboard load [flags]          (load generator; see switchboard load --help)
  switchboard demo seed [--config FILE] [--customers N]   (fills the configured store with believable demo customers and conversations)
  switchboard password-hash         (reads a password on stdin, prints its bcrypt hash for password_hash)
  switchboard healthcheck [--url URL] [--config FILE]   (exit 0 when the hub on this host answers /readyz; the image's HEALTHCHECK)
  switchboard version

Every verb but serve, config check, load, password-hash and plugins test talks to a running hub: --url (default from the
config's http.addr) and a token from --token, $SWITCHBOARD_TOKEN, the first
admin's token in the config, or the bootstrap token the hub wrote to its data
directory. customers find guesses the type of a VALUE without TYPE: (email
with an @, phone when it parses as a number, else a chat id) and says which.

` + exitCodesText

// gcPercent is the garbage collector's target when $GOGC is not set. The
// hub's live heap is small and its garbage is per message (JSON, commands),
// so the default of 100 collects very often: 400 spends less CPU on
// collection for a few more megabytes of heap (docs/PERFORMANCE.md).
const gcPercent = 400

func main() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return exitUsage
	}
	if u := verbUsage(args[0]); u != "" && wantsHelp(args[1:]) {
		fmt.Fprint(stdout, u) // usage.go
		return exitOK
	}
	var err error
	switch args[0] {
	case "serve":
		err = serve(args[1:], stderr)
	case "config":
		return configCmd(args[1:], stdout, stderr)
	case "version", "--version", "-v":
		if len(args) > 1 {
			return usageOf(stderr, "version", "version takes no arguments")
		}
		fmt.Fprintf(stdout, "switchboard %s\n", version)
		return exitOK
	case "channels", "customers", "queue", "retention":
		err = cli(args, stdout, stderr)
	case "plugins":
		err = pluginsCmd(args[1:], stdout)
	case "load":
		err = load(args[1:], stdout)
	case "password-hash":
		err = hashPassword(args[1:], os.Stdin, stdout)
	case "webhooks":
		err = webhooksCmd(args[1:], stdout)
	case "reports":
		err = reportsCmd(args[1:], stdout)
	case "audit":
		err = auditCmd(args[1:], stdout, nil) // audit.go
	case "search":
		err = searchCmd(args[1:], stdout) // search_cli.go
	case "demo":
		err = demoCmd(args[1:], stdout) // demo.go
	case "healthcheck":
		err = healthcheck(args[1:], stdout) // healthcheck.go
	case "help", "-h", "--help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "switchboard: unknown verb %q\n\n%s", args[0], usage)
		return exitUsage
	}
	if err != nil {
		if ue, ok := err.(usageError); ok {
			return usageOf(stderr, args[0], string(ue))
		}
		fmt.Fprintf(stderr, "switchboard: %v\n", err)
		return exitError
	}
	return exitOK
}

type usageError string

func (u usageError) Error() string { return string(u) }
