package inbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-hub/switchboard/connectors/connectortest"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// TestAPIChannelConformance runs the connector kit against the api channel:
// the HTTP endpoint in front of a recording sink.
func TestAPIChannelConformance(t *testing.T) {
	connectortest.Run(t, func(t *testing.T, sink *connectortest.Sink) connectortest.Harness {
		st, err := embedded.Open(t.TempDir(), embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		dir := directory.New(st, []directory.Channel{{Name: "crm", Type: "api", Phase: store.PhaseLive}}, store.SystemClock, nil)
		srv := inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: sink,
			Credentials: []inbox.Credential{{Principal: inbox.Principal{Name: "sys", Role: "agent"}, TokenSHA256: inbox.HashToken("tok")}}})
		return connectortest.Harness{
			Channel: "crm",
			Inject: func(ctx context.Context, key, text string) error {
				body, _ := json.Marshal(map[string]any{"external_id": key, "text": text, "sender": map[string]string{"email": "kit@example.com"}})
				req := httptest.NewRequest("POST", "/api/v1/channels/crm/messages", bytes.NewReader(body))
				req.Header.Set("Authorization", "Bearer tok")
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusAccepted {
					return fmt.Errorf("status %d: %s", rec.Code, rec.Body)
				}
				return nil
			},
		}
	})
}
