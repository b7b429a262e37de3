package inbox_test

// Server time of what the web UI asks for, on a big inbox: 10,000 open
// conversations (one per customer, spread over 20 agents and 4 channels)
// and one customer with a 5,000-entry timeline.
//
//	go test -run '^$' -bench InboxUI -benchtime 200x ./inbox/
//
// With SWITCHBOARD_TEST_REDIS set, the same runs against Redis too.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	storeredis "github.com/switchboard-hub/switchboard/store/redis"
)

const (
	benchConversations = 10000
	benchTimeline      = 5000
	benchAgents        = 20
)

var benchChannels = []directory.Channel{
	{Name: "crm", Type: "api", Phase: store.PhaseLive}, {Name: "mail", Type: "email", Phase: store.PhaseLive},
	{Name: "sms", Type: "sms", Phase: store.PhaseLive}, {Name: "web", Type: "webform", Phase: store.PhaseLive},
}

// fillInbox stores the benchmark's data with many concurrent writers.
func fillInbox(b *testing.B, st store.Store) (bigCustomer, bigConversation string) {
	b.Helper()
	ctx := context.Background()
	start := time.Now().Add(-24 * time.Hour)
	fillConcurrently(b, benchConversations, func(i int) error {
		at := start.Add(time.Duration(i) * time.Second)
		cid := fmt.Sprintf("c%05d", i)
		ch := benchChannels[i%len(benchChannels)].Name
		if err := st.CreateCustomer(ctx, store.Customer{ID: cid, Name: fmt.Sprintf("Customer %d", i), CreatedAt: at,
			Identities: []connectors.Identity{{Type: "email", Value: cid + "@example.com", Verified: true}}}); err != nil {
			return err
		}
		_, _, err := st.OpenConversation(ctx, store.Conversation{ID: fmt.Sprintf("v%05d", i), CustomerID: cid, Channel: ch,
			ThreadKey: ch + "|" + cid, Status: store.StatusOpen, Assignee: fmt.Sprintf("agent%02d", i%benchAgents), Team: "support",
			Preview: "Where is my order?", CreatedAt: at, LastActivity: at, LastInboundAt: at})
		return err
	})
	// Customer 0 gets the long timeline, across channels.
	fillConcurrently(b, benchTimeline, func(i int) error {
		ch := benchChannels[i%len(benchChannels)].Name
		at := start.Add(time.Duration(i) * time.Second)
		_, _, err := st.AppendEntry(ctx, store.Entry{ID: fmt.Sprintf("e%05d", i), CustomerID: "c00000", ConversationID: "v00000",
			Channel: ch, Direction: connectors.Inbound, Kind: store.KindMessage, Text: fmt.Sprintf("message %d of a long history", i),
			OccurredAt: at, CreatedAt: at})
		return err
	})
	return "c00000", "v00000"
}

// fillConcurrently runs put(0) … put(n-1) on 64 writers; a writer stops at
// its first error, and the benchmark fails with one of them.
func fillConcurrently(b *testing.B, n int, put func(i int) error) {
	b.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	work := make(chan int)
	for w := 0; w < 64; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := put(i); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	select {
	case err := <-errs:
		b.Fatal(err)
	default:
	}
}

func BenchmarkInboxUI(b *testing.B) {
	b.Run("embedded", func(b *testing.B) {
		st, err := embedded.Open(b.TempDir(), embedded.Options{})
		if err != nil {
			b.Fatal(err)
		}
		defer st.Close()
		benchInboxUI(b, st)
	})
	b.Run("redis", func(b *testing.B) {
		if os.Getenv("SWITCHBOARD_TEST_REDIS") == "" {
			b.Skip("SWITCHBOARD_TEST_REDIS not set")
		}
		c, prefix := testenv.Redis(b)
		benchInboxUI(b, storeredis.New(c, storeredis.Options{Prefix: prefix}))
	})
}

func benchInboxUI(b *testing.B, st store.Store) {
	t0 := time.Now()
	cust, conv := fillInbox(b, st)
	b.Logf("filled %d conversations and a %d-entry timeline in %s", benchConversations, benchTimeline, time.Since(t0).Round(time.Millisecond))
	dir := directory.New(st, benchChannels, store.SystemClock, nil)
	var creds []inbox.Credential
	pw := bcryptHash(b, "agent-password")
	for i := 0; i < benchAgents; i++ {
		creds = append(creds, inbox.Credential{Principal: inbox.Principal{Name: fmt.Sprintf("agent%02d", i), Role: "agent", Teams: []string{"support"}},
			PasswordHash: pw})
	}
	srv := inbox.New(inbox.Options{Store: st, Directory: dir, Credentials: creds, Teams: []string{"support"}})
	// The UI's own path: a session cookie (signature, expiry, credential
	// digest and the store's session epoch checked on every request).
	req := httptest.NewRequest("POST", "/api/v1/session", strings.NewReader(`{"name":"agent03","password":"agent-password"}`))
	req.Header.Set("Content-Type", "application/json")
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, req)
	var cookie *http.Cookie
	for _, c := range rec.Result().Cookies() {
		if c.Name == inbox.SessionCookie {
			cookie = c
		}
	}
	if rec.Code != http.StatusOK || cookie == nil {
		b.Fatalf("sign in: %d %s", rec.Code, rec.Body)
	}
	get := func(b *testing.B, path string) {
		req := httptest.NewRequest("GET", path, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK {
			b.Fatalf("GET %s: %d %s", path, rec.Code, rec.Body)
		}
	}
	// A cursor in the middle of the long timeline, as scrolling back reaches it.
	mid := ""
	for i := 0; i < 5; i++ {
		req := httptest.NewRequest("GET", "/api/v1/customers/"+cust+"/timeline?limit=500&before="+mid, nil)
		req.AddCookie(cookie)
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		var page struct{ Next string }
		if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil || page.Next == "" {
			b.Fatalf("timeline page %d: %d %v", i, rec.Code, err)
		}
		mid = page.Next
	}
	for _, c := range []struct{ name, path string }{
		{"list/all-open", "/api/v1/inbox?status=open&limit=50"},
		{"list/mine", "/api/v1/inbox?status=open&assignee=me&limit=50"},
		{"list/channel", "/api/v1/inbox?status=open&channel=sms&limit=50"},
		{"list/none-match", "/api/v1/inbox?status=snoozed&limit=50"},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				get(b, c.path)
			}
		})
	}
	b.Run("conversation-view", func(b *testing.B) {
		for b.Loop() {
			get(b, "/api/v1/conversations/"+conv)
			get(b, "/api/v1/customers/"+cust)
			get(b, "/api/v1/customers/"+cust+"/timeline?limit=50")
			get(b, "/api/v1/customers/"+cust+"/merges")
		}
	})
	b.Run("timeline-older-page", func(b *testing.B) {
		for b.Loop() {
			get(b, "/api/v1/customers/"+cust+"/timeline?limit=50&before="+mid)
		}
	})
}
