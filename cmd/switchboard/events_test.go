package main_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestEventsAndMetrics: an agent's event stream shows a new message within
// moments and never shows one from a channel in shadow; /metrics counts them.
func TestEventsAndMetrics(t *testing.T) {
	eachStore(t, func(t *testing.T, sc string) {
		extra := "  - name: quiet\n    type: api\n    phase: shadow\n"
		p := start(t, writeConfig(t, sc, extra), freeAddr(t))
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", p.base+"/api/v1/events", nil)
		req.Header.Set("Authorization", "Bearer "+agentToken)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/event-stream") {
			t.Fatalf("events: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		events := make(chan map[string]string, 64)
		go func() {
			sc := bufio.NewScanner(resp.Body)
			for sc.Scan() {
				if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					var ev map[string]string
					if json.Unmarshal([]byte(data), &ev) == nil {
						events <- ev
					}
				}
			}
			close(events)
		}()
		// Shadow first: if it leaked, it would arrive before the live one.
		_, shadowID := p.post(t, "quiet", map[string]any{"external_id": "s1", "sender": map[string]string{"email": "s@example.com"}, "text": "shadow"})
		var shadowConv customer
		waitFor(t, "the shadow message on a timeline", 10*time.Second, func() bool {
			var code int
			shadowConv, code = p.find(t, "email:s@example.com")
			return code == 200 && len(p.timeline(t, shadowConv.ID)) == 1
		})
		_, liveID := p.post(t, "crm", map[string]any{"external_id": "l1", "sender": map[string]string{"email": "l@example.com"}, "text": "live"})
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("event stream ended")
				}
				if ev["entry_id"] == shadowID || ev["channel"] == "quiet" {
					t.Fatalf("agent saw a shadow-channel event: %v", ev)
				}
				if ev["type"] == "entry.created" && ev["entry_id"] == liveID {
					goto metrics
				}
			case <-ctx.Done():
				t.Fatal("no entry.created event for the live message")
			}
		}
	metrics:
		// The shadow conversation is in nobody's inbox, but admins can check it.
		var list struct {
			Conversations []struct{ Channel string } `json:"conversations"`
		}
		call(t, "GET", p.base+"/api/v1/conversations", agentToken, nil, &list)
		for _, c := range list.Conversations {
			if c.Channel == "quiet" {
				t.Fatal("a shadow conversation is in an agent's inbox")
			}
		}
		call(t, "GET", p.base+"/api/v1/conversations?include_shadow=true", adminToken, nil, &list)
		found := false
		for _, c := range list.Conversations {
			found = found || c.Channel == "quiet"
		}
		if !found {
			t.Fatal("admin cannot list shadow conversations to check matching")
		}
		_, b := getMetrics(t, p.base+"/metrics", adminToken)
		for _, want := range []string{
			`switchboard_messages_ingested_total{channel="crm"} 1`,
			`switchboard_messages_processed_total{channel="quiet"} 1`,
			`switchboard_queue_length{queue="ingest"}`,
			`switchboard_ingest_latency_seconds_bucket`,
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}
	})
}
