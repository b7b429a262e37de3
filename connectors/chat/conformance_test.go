package chat

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/connectortest"
)

// TestConformance runs the connector kit against the Events API webhook
// (signed as Slack signs) and chat.postMessage on the slacktest server.
func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T, sink *connectortest.Sink) connectortest.Harness {
		slack := newFakeSlack(t)
		slack.users["U0CUSTOM1"] = slackUser{Display: "Kit", Email: "kit@example.com"}
		ch, err := New(config.Channel{Name: channelName, Type: "slack", Phase: "live",
			Slack: map[string]any{"bot_token": testBotToken, "signing_secret": testSecret, "api_url": slack.GetAPIURL()}},
			connectors.Env{Name: channelName, Sink: sink, Clock: time.Now, Replica: "r1", Logger: discardLogger()})
		if err != nil {
			t.Fatal(err)
		}
		mux := http.NewServeMux()
		for _, r := range ch.Routes() {
			mux.Handle(r.Pattern, r.Handler)
		}
		return connectortest.Harness{
			Channel: channelName,
			Inject: func(ctx context.Context, key, text string) error {
				// The same key is the same Slack message (and event id).
				sum := sha256.Sum256([]byte(key))
				ts := fmt.Sprintf("1760000000.%06d", binary.BigEndian.Uint32(sum[:4])%1000000)
				body := ev("Ev"+fmt.Sprintf("%x", sum[:6]), map[string]any{"text": text, "ts": ts, "event_ts": ts})
				now := time.Now().Unix()
				req := httptest.NewRequest("POST", "/webhooks/slack/"+channelName, bytes.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(now, 10))
				req.Header.Set("X-Slack-Signature", sign(testSecret, now, body))
				rec := httptest.NewRecorder()
				mux.ServeHTTP(rec, req)
				if rec.Code != 200 {
					return fmt.Errorf("webhook answered %d", rec.Code)
				}
				return nil
			},
			Sender: ch,
			To:     connectors.Identity{Type: connectors.Slack, Value: testTeam + ":U0CUSTOM1", Verified: true},
		}
	})
}
