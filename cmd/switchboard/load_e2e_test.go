package main_test

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

// TestLoadCommand runs `switchboard load` against a real hub on each store
// and checks what its report says: every message offered was accepted and
// reached a timeline, and the customers it claims to have written exist.
func TestLoadCommand(t *testing.T) {
	eachStore(t, func(t *testing.T, sc string) {
		addr := freeAddr(t)
		p := start(t, writeConfig(t, sc, ""), addr)
		out, err := exec.Command(binary(t), "load", "--url", p.base, "--token", adminToken, "--channel", "crm",
			"--rate", "300", "--duration", "1s", "--customers", "7", "--concurrency", "8").CombinedOutput()
		if err != nil {
			t.Fatalf("load: %v\n%s", err, out)
		}
		report := string(out)
		m := regexp.MustCompile(`on timeline: (\d+) of (\d+)`).FindStringSubmatch(report)
		if m == nil {
			t.Fatalf("no 'on timeline' line in the report:\n%s", report)
		}
		seen, _ := strconv.Atoi(m[1])
		accepted, _ := strconv.Atoi(m[2])
		if seen != accepted || accepted < 200 {
			t.Errorf("report says %d of %d on timeline; want all of about 300 offered:\n%s", seen, accepted, report)
		}
		if !strings.Contains(report, "failed: 0") {
			t.Errorf("report shows failures:\n%s", report)
		}
		// The messages are really there: 7 senders, all messages between them.
		total := 0
		for i := range 7 {
			c, code := p.find(t, fmt.Sprintf("email:load%d@example.com", i))
			if code != 200 {
				t.Fatalf("customer load%d@example.com: status %d", i, code)
			}
			total += len(p.timeline(t, c.ID))
		}
		if total != accepted {
			t.Errorf("timelines of the 7 senders hold %d entries, the report says %d accepted", total, accepted)
		}
	})
}
