package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/config"
)

// healthcheck asks a hub on this host whether it is ready (GET /readyz)
// and exits 0 only on 200: the container image's HEALTHCHECK, where no
// curl exists. The address is --url, else $SWITCHBOARD_URL, else the
// config's http.addr (a wildcard host is reached on loopback).
func healthcheck(args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	u := fs.String("url", os.Getenv(config.EnvURL), "hub base URL (default http://<http.addr>, wildcard host as 127.0.0.1)")
	cfgPath := fs.String("config", "", "config file (default $SWITCHBOARD_CONFIG)")
	timeout := fs.Duration("timeout", 3*time.Second, "give up after")
	if err := fs.Parse(args); err != nil {
		return usageError("healthcheck: " + err.Error())
	}
	if fs.NArg() > 0 {
		return usageError("healthcheck takes no arguments")
	}
	base := *u
	if base == "" {
		// A config with problems still names its address; the hub
		// itself refuses to start on them, so /readyz answers no.
		cfg, err := config.Load(config.FilePath(*cfgPath, os.Environ()), os.Environ())
		if cfg == nil {
			return fmt.Errorf("configuration: %w", err)
		}
		base = "http://" + loopbackAddr(cfg.HTTP.Addr)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, strings.TrimRight(base, "/")+"/readyz", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("not ready: %w", err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4<<10))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("not ready: %s %s", resp.Status, strings.TrimSpace(string(body)))
	}
	fmt.Fprint(stdout, string(body))
	return nil
}

// loopbackAddr turns a listen address with a wildcard or empty host
// (0.0.0.0:8080, [::]:8080, :8080) into one to dial on this host.
func loopbackAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
