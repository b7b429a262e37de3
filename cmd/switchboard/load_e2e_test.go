package main_test

import (
	"fmt"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/switchboard-hub/switchboard/internal/testenv"
)

// TestLoadCommand runs `switchboard load` against a real hub on each store
// and checks what its report says: every message offered was accepted and
// reached a timeline, and the customers it claims to have written exist.
func TestLoadCommand(t *testing.T) {
	eachStore(t, func(t *testing.T, sc string) {
		addr := freeAddr(t)
		p := start(t, writeConfig(t, sc, ""), addr)
		args := []string{"load", "--url", p.base, "--token", adminToken, "--channel", "crm",
			"--rate", "300", "--duration", "1s", "--customers", "7", "--concurrency", "8"}
		onRedis := strings.Contains(sc, "redis:")
		if onRedis {
			args = append(args, "--redis", testenv.RedisAddr())
		}
		out, err := exec.Command(binary(t), args...).CombinedOutput()
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
		// What is checked is the report's truth, not the hub's speed (that
		// is measured by benchmarks): every message the generator offered
		// was accepted and seen on a timeline. How many it managed to offer
		// in the second depends on the machine's load.
		o := regexp.MustCompile(`offered: +(\d+) messages`).FindStringSubmatch(report)
		if o == nil {
			t.Fatalf("no 'offered' line in the report:\n%s", report)
		}
		offered, _ := strconv.Atoi(o[1])
		if seen != accepted || accepted != offered || accepted < 20 {
			t.Errorf("report says %d offered, %d of %d on timeline; want every offered message accepted and on a timeline:\n%s", offered, seen, accepted, report)
		}
		// The cost per message (issue 23): the hub's CPU, and on Redis the
		// commands it ran, with the append's script among them.
		if !regexp.MustCompile(`hub CPU per message: \d+ µs`).MatchString(report) {
			t.Errorf("no hub CPU per message in the report:\n%s", report)
		}
		if onRedis {
			r := regexp.MustCompile(`redis per message: ([0-9.]+) commands/msg \(([^)]*)\); (\d+) B written/msg`).FindStringSubmatch(report)
			if r == nil {
				t.Fatalf("no Redis cost per message in the report:\n%s", report)
			}
			if n, _ := strconv.ParseFloat(r[1], 64); n < 1 || !strings.Contains(r[2], "xadd") {
				t.Errorf("Redis commands per message %s (%s): want at least the queue's XADD per message:\n%s", r[1], r[2], report)
			}
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
