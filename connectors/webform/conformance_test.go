package webform_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"time"

	"testing"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/connectortest"
	"github.com/switchboard-hub/switchboard/connectors/webform"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// TestConformance runs the connector kit against the form endpoint. A form
// token is the provider's message identity: resubmitting the same token is
// the same submission.
func TestConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T, sink *connectortest.Sink) connectortest.Harness {
		st, err := embedded.Open(t.TempDir(), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		ck := &clock{now: time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)}
		ch, err := webform.New(config.Channel{Name: "contact", Type: "webform", Phase: "live", Webform: settings(t, "")},
			connectors.Env{Name: "contact", Sink: sink, Clock: ck.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Counters: st})
		if err != nil {
			t.Fatal(err)
		}
		h := &hub{t: t, st: st, ch: ch, mux: http.NewServeMux(), clock: ck, remote: "198.51.100.9:40000"}
		for _, r := range ch.Routes() {
			h.mux.Handle(r.Pattern, r.Handler)
		}
		tokens := map[string]string{}
		return connectortest.Harness{
			Channel: "contact",
			Region:  "FI",
			Inject: func(ctx context.Context, key, text string) error {
				tok, ok := tokens[key]
				if !ok {
					tok = h.freshToken()
					tokens[key] = tok
				}
				w := h.postJSON(map[string]any{"_token": tok, "email": "kit@example.com", "topic": "Support", "message": text},
					"Origin", "https://www.example.com")
				if w.Code != 200 {
					return fmt.Errorf("form answered %d: %s", w.Code, w.Body)
				}
				return nil
			},
		}
	})
}
