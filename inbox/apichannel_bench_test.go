package inbox_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// BenchmarkAPIChannelPost is the api channel's handler below the network
// (request parsing, checks, the audit record on the embedded store, the
// answer) with a sink that takes the message without storing it: its
// allocations per request are what -benchmem reports.
func BenchmarkAPIChannelPost(b *testing.B) {
	st, err := embedded.Open(b.TempDir(), embedded.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	dir := directory.New(st, []directory.Channel{{Name: "crm", Type: "api", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
	sink := connectors.SinkFunc(func(ctx context.Context, m connectors.Message) (string, error) {
		return connectors.MessageID(m.Channel, m.ProviderID), nil
	})
	srv := inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: sink,
		Credentials: []inbox.Credential{{Principal: inbox.Principal{Name: "sys", Role: "admin"}, TokenSHA256: inbox.HashToken("tok")}}})
	var n atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			i := strconv.FormatInt(n.Add(1), 10)
			body := `{"external_id":"bench-` + i + `","sender":{"phone":"+14155550100"},"text":"Where is my parcel? Order 12345"}`
			req := httptest.NewRequest("POST", "/api/v1/channels/crm/messages", strings.NewReader(body))
			req.Header.Set("Authorization", "Bearer tok")
			req.Header.Set("Content-Type", "application/json")
			rec := httptest.NewRecorder()
			srv.ServeHTTP(rec, req)
			if rec.Code != http.StatusAccepted {
				b.Fatalf("status %d: %s", rec.Code, rec.Body)
			}
		}
	})
}
