package main_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
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
		// The accept latency split into the generator's own delay and
		// the hub's answer (h23tail: on a busy machine much of the tail
		// was the generator's).
		if !regexp.MustCompile(`of which due → sent \(the generator's own delay\): p50 \S+  p99 \S+; sent → 202: p50 \S+  p99 \S+`).MatchString(report) {
			t.Errorf("no split of the accept latency in the report:\n%s", report)
		}
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
		if strings.Count(report, "hub CPU per message") != 1 || strings.Contains(report, "redis: ") {
			t.Errorf("the cost is reported once, without errors:\n%s", report)
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

// TestLoadCommandSMS runs `switchboard load --sms-channel` against a real
// hub's sms channel on each store: its signed webhooks are accepted (200,
// not 403) and reach the senders' timelines, and with a wrong auth token
// every webhook is refused with 403 and reported as failed.
func TestLoadCommandSMS(t *testing.T) {
	eachStore(t, func(t *testing.T, sc string) {
		addr := freeAddr(t)
		// No reply is sent, so the Twilio API is never called.
		p := start(t, writeConfig(t, sc, smsChannelYAML("http://"+addr, "http://127.0.0.1:9")), addr)
		dir := t.TempDir()
		good, bad := filepath.Join(dir, "good"), filepath.Join(dir, "bad")
		os.WriteFile(good, []byte(e2eTwilioToken+"\n"), 0o600)
		os.WriteFile(bad, []byte("wrongtokenwrongtokenwrongtoken00"), 0o600)
		args := []string{"load", "--url", p.base, "--token", adminToken, "--sms-channel", "sms",
			"--rate", "300", "--duration", "1s", "--customers", "7", "--concurrency", "8", "--settle", "20s"}

		out, err := exec.Command(binary(t), append(args, "--twilio-auth-token-file", good)...).CombinedOutput()
		if err != nil {
			t.Fatalf("load: %v\n%s", err, out)
		}
		report := string(out)
		o := regexp.MustCompile(`offered: +(\d+) signed Twilio webhooks`).FindStringSubmatch(report)
		m := regexp.MustCompile(`on timeline: (\d+) of (\d+)`).FindStringSubmatch(report)
		if o == nil || m == nil || !strings.Contains(report, "failed: 0\n") {
			t.Fatalf("report without its offered, failed or on-timeline lines:\n%s", report)
		}
		offered, _ := strconv.Atoi(o[1])
		seen, _ := strconv.Atoi(m[1])
		accepted, _ := strconv.Atoi(m[2])
		if seen != accepted || accepted != offered || accepted < 20 {
			t.Errorf("report says %d offered, %d of %d on timeline; want every webhook accepted and on a timeline:\n%s", offered, seen, accepted, report)
		}
		// The messages are really there, on the 7 senders' timelines.
		total := 0
		for i := range 7 {
			es := p.smsTimeline(t, fmt.Sprintf("phone:+14155%06d", i))
			if len(es) == 0 {
				t.Fatalf("sender %d has no timeline", i)
			}
			for _, e := range es {
				if e.Channel != "sms" || e.Direction != "in" || !strings.HasPrefix(e.Text, "load test message ") || !strings.HasPrefix(e.ProviderID, "SM") {
					t.Errorf("sender %d: entry %+v", i, e)
				}
			}
			total += len(es)
		}
		if total != accepted {
			t.Errorf("timelines of the 7 senders hold %d entries, the report says %d accepted", total, accepted)
		}

		// A wrong token: the hub refuses every signature, the report says so
		// and the run fails.
		out, err = exec.Command(binary(t), append(args, "--twilio-auth-token-file", bad, "--duration", "300ms")...).CombinedOutput()
		report = string(out)
		f := regexp.MustCompile(`accepted: +0 \(0/s\), failed: (\d+) \(403: (\d+)\)`).FindStringSubmatch(report)
		if err == nil || f == nil || f[1] != f[2] || f[1] == "0" {
			t.Errorf("load with a wrong token: %v; want a failed run whose failures are all 403:\n%s", err, report)
		}
	})
}
