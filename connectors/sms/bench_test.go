package sms

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
)

// BenchmarkWebhook measures the signed message webhook below HTTP (no
// network), beside a plain net/http handler that parses the same form and
// answers the same TwiML (the ceiling), with a sink that discards and with
// the hub's real ingest on each store backend. Compare sub-benchmarks of
// one run: `go test -run '^$' -bench Webhook ./connectors/sms/`.
func BenchmarkWebhook(b *testing.B) {
	plain := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r.ParseForm()
		_ = r.PostForm.Get("MessageSid")
		w.Header().Set("Content-Type", "text/xml; charset=utf-8")
		io.WriteString(w, emptyTwiML)
	})
	b.Run("baseline-plain-handler", func(b *testing.B) { benchHandler(b, plain, "") })
	discard := connectors.SinkFunc(func(ctx context.Context, m connectors.Message) (string, error) { return "", nil })
	b.Run("signed-discard-sink", func(b *testing.B) {
		ch := benchChannel(b, discard)
		benchHandler(b, route(ch), ch.WebhookURL())
	})
	b.Run("signed-embedded-ingest", func(b *testing.B) {
		st, err := embedded.Open(b.TempDir(), embedded.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		ch := benchChannel(b, ingest(st))
		benchHandler(b, route(ch), ch.WebhookURL())
	})
	b.Run("deliver-only-redis-ingest", func(b *testing.B) {
		// The hub's own cost of accepting one message, without HTTP or
		// the webhook: what the signed handler adds is the difference.
		c, prefix := testenv.Redis(b)
		st := sbredis.New(c, sbredis.Options{Prefix: prefix})
		defer st.Close()
		sink := ingest(st)
		var n atomic.Int64
		b.SetParallelism(32)
		b.ReportAllocs()
		b.ResetTimer()
		b.RunParallel(func(pb *testing.PB) {
			for pb.Next() {
				i := n.Add(1)
				m := connectors.Message{Channel: channelName, ProviderID: fmt.Sprintf("SM%032x", i), Text: "Where is my parcel? Order 12345",
					Identities: []connectors.Identity{{Type: connectors.Phone, Value: fmt.Sprintf("+1415555%04d", i%10000), Verified: true}}}
				if _, err := sink.Deliver(context.Background(), m); err != nil {
					b.Fatal(err)
				}
			}
		})
	})
	b.Run("signed-redis-ingest", func(b *testing.B) {
		c, prefix := testenv.Redis(b)
		st := sbredis.New(c, sbredis.Options{Prefix: prefix})
		defer st.Close()
		ch := benchChannel(b, ingest(st))
		benchHandler(b, route(ch), ch.WebhookURL())
	})
}

func ingest(st store.Store) connectors.Sink {
	dir := directory.New(st, []directory.Channel{{Name: channelName, Type: "sms", Phase: store.PhaseLive}}, store.SystemClock, nil)
	return router.NewIngest(st, dir, "US", store.SystemClock, nil)
}

func benchChannel(b *testing.B, sink connectors.Sink) *Channel {
	ch, err := New(config.Channel{Name: channelName, Type: "sms", SMS: map[string]any{"account_sid": testSID, "auth_token": testToken,
		"from": testFrom, "public_url": testPublic}}, connectors.Env{Name: channelName, Sink: sink, Logger: discardLogger()})
	if err != nil {
		b.Fatal(err)
	}
	return ch
}

func route(ch *Channel) http.Handler {
	mux := http.NewServeMux()
	for _, r := range ch.Routes() {
		mux.Handle(r.Pattern, r.Handler)
	}
	return mux
}

// benchHandler posts b.N distinct signed SMS webhooks to h from 32
// goroutines per CPU (webhooks arrive concurrently). Bodies and signatures
// are computed before the clock starts: only the hub's side is measured.
func benchHandler(b *testing.B, h http.Handler, signedFor string) {
	type item struct{ body, sig string }
	items := make([]item, b.N)
	for i := range items {
		form := smsForm(fmt.Sprintf("SM%032x", i), fmt.Sprintf("+1415555%04d", i%10000), "Where is my parcel? Order 12345")
		items[i].body = form.Encode()
		if signedFor != "" {
			items[i].sig = sign(testToken, signedFor, form)
		}
	}
	var n atomic.Int64
	b.SetParallelism(32)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			it := items[n.Add(1)-1]
			req := httptest.NewRequest("POST", "/webhooks/twilio/"+channelName, strings.NewReader(it.body))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			if it.sig != "" {
				req.Header.Set("X-Twilio-Signature", it.sig)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if rec.Code != 200 {
				b.Fatalf("answered %d %s", rec.Code, rec.Body)
			}
		}
	})
}
