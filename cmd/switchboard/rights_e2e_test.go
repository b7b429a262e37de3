package main_test

import (
	"archive/zip"
	"io"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The data-rights verbs against a running hub, on both stores: a customer
// who wrote by SMS (Twilio webhook) is exported to a zip with
// `customers export ID -o FILE.zip`, held (erasure refused) and released,
// erased; Twilio replaying her SMS does not bring her back, a new SMS of
// hers makes a new customer; `retention run --dry-run` reports.
func TestDataRightsCLI(t *testing.T) {
	mock := twilioMockURL(t)
	eachStore(t, func(t *testing.T, sc string) {
		addr := freeAddr(t)
		p := start(t, writeConfig(t, sc, smsChannelYAML("http://"+addr, mock)), addr)
		const erin = "+14155550177"
		wh := "/webhooks/twilio/sms"
		cli := func(args ...string) (string, error) {
			out, err := exec.Command(binary(t), append(args, "--url", p.base, "--token", adminToken)...).CombinedOutput()
			return string(out), err
		}
		if code, body := p.smsPost(t, wh, smsMessage(71, erin, "erin's first words"), ""); code != 200 {
			t.Fatalf("webhook: %d %s", code, body)
		}
		waitFor(t, "Erin's SMS", 10*time.Second, func() bool { return len(p.smsTimeline(t, "phone:"+erin)) == 1 })
		c, _ := p.find(t, "phone:"+erin)

		file := filepath.Join(t.TempDir(), "erin.zip")
		if out, err := cli("customers", "export", c.ID, "-o", file); err != nil {
			t.Fatalf("customers export: %v\n%s", err, out)
		}
		zr, err := zip.OpenReader(file)
		if err != nil {
			t.Fatalf("the export is not a zip: %v", err)
		}
		names := map[string]string{}
		for _, f := range zr.File {
			r, _ := f.Open()
			b, _ := io.ReadAll(r)
			r.Close()
			names[f.Name] = string(b)
		}
		zr.Close()
		if !strings.Contains(names["timeline.json"], "erin's first words") || names["manifest.json"] == "" || !strings.Contains(names["customer.json"], erin) {
			t.Fatalf("export zip files %v lack the timeline, the manifest or the identity", len(names))
		}

		if out, err := cli("customers", "hold", c.ID, "--reason", "dispute"); err != nil {
			t.Fatalf("customers hold: %v\n%s", err, out)
		}
		if out, err := cli("customers", "erase", c.ID); err == nil || !strings.Contains(out, "legal hold") {
			t.Fatalf("erase under hold: %v\n%s", err, out)
		}
		if out, err := cli("customers", "release", c.ID); err != nil {
			t.Fatalf("customers release: %v\n%s", err, out)
		}
		if out, err := cli("customers", "erase", c.ID); err != nil {
			t.Fatalf("customers erase: %v\n%s", err, out)
		}

		// Twilio retries the first SMS: accepted by the webhook, dropped by the router.
		if code, _ := p.smsPost(t, wh, smsMessage(71, erin, "erin's first words"), ""); code != 200 {
			t.Fatalf("replayed webhook: %d", code)
		}
		waitFor(t, "the replay processed", 10*time.Second, func() bool {
			var q struct {
				Length int64 `json:"length"`
			}
			call(t, "GET", p.base+"/api/v1/queues/ingest", adminToken, nil, &q)
			return q.Length == 0
		})
		if _, code := p.find(t, "phone:"+erin); code != 404 {
			t.Fatalf("a replayed SMS brought the erased customer back (%d)", code)
		}
		// A new SMS from her makes a new customer.
		if code, _ := p.smsPost(t, wh, smsMessage(72, erin, "hello again"), ""); code != 200 {
			t.Fatal("new SMS refused")
		}
		waitFor(t, "the new customer", 10*time.Second, func() bool { return len(p.smsTimeline(t, "phone:"+erin)) == 1 })
		if n, _ := p.find(t, "phone:"+erin); n.ID == c.ID {
			t.Fatalf("the new message went to the erased customer id %s", c.ID)
		}

		out, err := cli("retention", "run", "--dry-run")
		if err != nil || !strings.Contains(out, "would delete 0 entries") {
			t.Fatalf("retention run --dry-run: %v\n%s", err, out)
		}
	})
}
