package main

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/redisnodes"
	"github.com/switchboard-hub/switchboard/internal/testenv"
)

// TestClusterEndToEnd is the short run of scripts/cluster.sh: a Redis
// Cluster of 3 primaries with a replica each, three hub replicas (the
// built binary), load through every channel that runs here, then the e2e
// checks (live events across replicas, a phase change seen by all within
// 1 s, the plugin, Slack Socket Mode and email leases on one replica and
// taken over when it is SIGKILLed, replies sent once), a planned and an unplanned failover of
// the ingest stream's primary and a rolling SIGTERM restart. It fails on
// any accepted message not on its timeline exactly once (outside the
// unplanned failover's window, whose loss is reported), or a failed check.
// About two minutes; the long run is scripts/cluster.sh.
func TestClusterEndToEnd(t *testing.T) {
	if testing.Short() {
		t.Skip("the cluster run takes minutes; -short leaves it out")
	}
	if err := redisnodes.Available(); err != nil {
		testenv.Absent(t, "redis-server", err)
	}
	*work = t.TempDir()
	*stepDur = 2 * time.Second
	*settle = 60 * time.Second
	*rate = 60
	if imap, lmtp := os.Getenv("SWITCHBOARD_TEST_IMAP"), os.Getenv("SWITCHBOARD_TEST_LMTP"); imap != "" && lmtp != "" {
		*imapAddr, *lmtpAddr = imap, lmtp
	} else if testenv.Required() {
		t.Fatal("SWITCHBOARD_TEST_IMAP/LMTP (Dovecot, scripts/peers/email.sh) are required for the email lease")
	}
	// The module root: go build of the hub and the plugin runs there.
	wd, _ := os.Getwd()
	if err := os.Chdir(filepath.Join(wd, "..", "..")); err != nil {
		t.Fatal(err)
	}
	defer os.Chdir(wd)
	if err := run(); err != nil {
		t.Fatal(err)
	}
}
