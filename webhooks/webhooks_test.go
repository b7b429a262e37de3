package webhooks_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	standardwebhooks "github.com/standard-webhooks/standard-webhooks/libraries/go"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
	"github.com/switchboard-hub/switchboard/webhooks"
)

// backends runs f on each store backend; open returns a new handle on the
// same data (the embedded store's previous handle is closed first, as a
// restarted process would find it).
func backends(t *testing.T, f func(t *testing.T, open func() store.Store)) {
	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		var cur store.Store
		t.Cleanup(func() {
			if cur != nil {
				cur.Close()
			}
		})
		f(t, func() store.Store {
			if cur != nil {
				cur.Close()
			}
			st, err := embedded.Open(dir, embedded.Options{})
			if err != nil {
				t.Fatal(err)
			}
			cur = st
			return st
		})
	})
	t.Run("redis", func(t *testing.T) {
		c, prefix := testenv.Redis(t)
		f(t, func() store.Store {
			st := sbredis.New(c, sbredis.Options{Prefix: prefix})
			t.Cleanup(func() { st.Close() })
			return st
		})
	})
}

// received is one request a receiver verified.
type received struct {
	ID, Type   string
	CustomerID string
	Data       map[string]any
}

// receiver verifies every request with the Standard Webhooks Go library
// (any of secrets) and answers with the codes of answer (by the number of
// requests it had for that webhook-id, from 1), 200 beyond.
type receiver struct {
	t       *testing.T
	srv     *httptest.Server
	hooks   []*standardwebhooks.Webhook
	mu      sync.Mutex
	tries   map[string]int
	ok      []received // answered 2xx, in arrival order
	all     []received
	answer  func(r received, try int) int
	invalid []string
}

func newReceiver(t *testing.T, secrets []string, answer func(r received, try int) int) *receiver {
	rc := &receiver{t: t, tries: map[string]int{}, answer: answer}
	for _, s := range secrets {
		h, err := standardwebhooks.NewWebhook(s)
		if err != nil {
			t.Fatal(err)
		}
		rc.hooks = append(rc.hooks, h)
	}
	rc.srv = httptest.NewServer(http.HandlerFunc(rc.serve))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) serve(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	verified := false
	for _, h := range rc.hooks {
		if h.Verify(b, r.Header) == nil {
			verified = true
		}
	}
	var body struct {
		Type      string         `json:"type"`
		Timestamp time.Time      `json:"timestamp"`
		Data      map[string]any `json:"data"`
	}
	err := json.Unmarshal(b, &body)
	rc.mu.Lock()
	defer rc.mu.Unlock()
	if !verified || err != nil || body.Timestamp.IsZero() {
		rc.invalid = append(rc.invalid, fmt.Sprintf("%s verified=%v err=%v body=%s", r.Header.Get("webhook-id"), verified, err, b))
		w.WriteHeader(400)
		return
	}
	got := received{ID: r.Header.Get("webhook-id"), Type: body.Type, Data: body.Data}
	got.CustomerID, _ = body.Data["customer_id"].(string)
	rc.tries[got.ID]++
	rc.all = append(rc.all, got)
	code := 200
	if rc.answer != nil {
		code = rc.answer(got, rc.tries[got.ID])
	}
	if code < 300 {
		rc.ok = append(rc.ok, got)
	}
	w.WriteHeader(code)
}

func (rc *receiver) snapshot() (ok, all []received, invalid []string) {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]received(nil), rc.ok...), append([]received(nil), rc.all...), append([]string(nil), rc.invalid...)
}

// waitOK waits until n requests were answered 2xx.
func (rc *receiver) waitOK(n int) []received {
	rc.t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, all, invalid := rc.snapshot()
		if len(invalid) > 0 {
			rc.t.Fatalf("requests that did not verify: %v", invalid)
		}
		if len(ok) >= n {
			return ok
		}
		if time.Now().After(deadline) {
			rc.t.Fatalf("receiver: %d requests answered 2xx (of %d), want %d", len(ok), len(all), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

var fast = []time.Duration{20 * time.Millisecond, 40 * time.Millisecond, 80 * time.Millisecond}

func newService(st store.Store, schedule []time.Duration) *webhooks.Service {
	return webhooks.New(webhooks.Options{Store: st, Schedule: schedule, Poll: 20 * time.Millisecond})
}

// run runs the dispatcher until the returned stop is called (or the test ends).
func run(t *testing.T, s *webhooks.Service) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.RunLeased(ctx, nil, nil); err != nil {
			t.Errorf("RunLeased: %v", err)
		}
	}()
	var once sync.Once
	stop = func() { once.Do(func() { cancel(); <-done }) }
	t.Cleanup(stop)
	return stop
}

// local is an endpoint of the test receiver: plain http on loopback, which
// it must allow.
func local(name, url string, events ...string) webhooks.Spec {
	if len(events) == 0 {
		events = []string{webhooks.All}
	}
	return webhooks.Spec{Name: name, URL: url, Events: events, AllowHTTP: true, AllowPrivateAddresses: true, Enabled: true}
}

func create(t *testing.T, s *webhooks.Service, sp webhooks.Spec) string {
	t.Helper()
	_, secret, err := s.Create(context.Background(), sp)
	if err != nil {
		t.Fatalf("Create(%s): %v", sp.Name, err)
	}
	if !strings.HasPrefix(secret, "whsec_") {
		t.Fatalf("generated secret %q does not start with whsec_", secret)
	}
	return secret
}

// createFor creates the endpoint for a receiver built with its secret.
func createFor(t *testing.T, s *webhooks.Service, name string, answer func(received, int) int, events ...string) *receiver {
	t.Helper()
	var rc *receiver
	// The receiver must know the secret, which Create generates: create
	// with a placeholder URL, then point it at the receiver.
	secret := create(t, s, local(name, "http://127.0.0.1:1/", events...))
	rc = newReceiver(t, []string{secret}, answer)
	u := rc.srv.URL + "/hook"
	if _, _, err := s.Update(context.Background(), name, webhooks.Patch{URL: &u}); err != nil {
		t.Fatal(err)
	}
	return rc
}

func record(t *testing.T, s *webhooks.Service, typ, key, customer string) {
	t.Helper()
	data := map[string]any{"customer_id": customer, "key": key}
	if err := s.Outbox.Record(context.Background(), typ, key, customer, data); err != nil {
		t.Fatalf("Record(%s, %s): %v", typ, key, err)
	}
}

func TestEveryEventSignedAndVerifiable(t *testing.T) {
	backends(t, func(t *testing.T, open func() store.Store) {
		s := newService(open(), fast)
		rc := createFor(t, s, "crm", nil)
		for i, typ := range webhooks.Types {
			record(t, s, typ, fmt.Sprint("k", i), fmt.Sprint("c", i))
		}
		run(t, s)
		ok := rc.waitOK(len(webhooks.Types))
		seen := map[string]bool{}
		for _, r := range ok {
			seen[r.Type] = true
			if r.ID != webhooks.EventID(r.Type, r.Data["key"].(string)) {
				t.Errorf("%s: webhook-id %s is not the event's id", r.Type, r.ID)
			}
		}
		for _, typ := range webhooks.Types {
			if !seen[typ] {
				t.Errorf("%s never arrived", typ)
			}
		}
		// The log records each answer just after the receiver gave it.
		var ds []store.WebhookDelivery
		waitFor(t, func() bool {
			var err error
			ds, err = s.Deliveries(context.Background(), "crm", 0, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range ds {
				if d.Status == store.WebhookPending {
					return false
				}
			}
			return true
		})
		if len(ds) != len(webhooks.Types) {
			t.Fatalf("delivery log has %d records, want %d", len(ds), len(webhooks.Types))
		}
		for _, d := range ds {
			if d.Status != store.WebhookDelivered || d.Attempts != 1 || d.LastCode != 200 {
				t.Errorf("delivery %s: %+v, want delivered at the first attempt with 200", d.Type, d)
			}
		}
	})
}

func TestOnlySubscribedTypesAreRecorded(t *testing.T) {
	backends(t, func(t *testing.T, open func() store.Store) {
		s := newService(open(), fast)
		rc := createFor(t, s, "sales", nil, webhooks.ConversationResolved)
		record(t, s, webhooks.MessageReceived, "m1", "c1")
		record(t, s, webhooks.ConversationResolved, "v1", "c1")
		run(t, s)
		rc.waitOK(1)
		time.Sleep(100 * time.Millisecond) // what must not come has had its chance
		if ok, all, _ := rc.snapshot(); len(all) != 1 || ok[0].Type != webhooks.ConversationResolved {
			t.Fatalf("received %+v, want only conversation.resolved", all)
		}
	})
}

func TestRotationSignsWithBothSecrets(t *testing.T) {
	backends(t, func(t *testing.T, open func() store.Store) {
		s := newService(open(), fast)
		old := create(t, s, local("crm", "http://127.0.0.1:1/"))
		_, fresh, err := s.Update(context.Background(), "crm", webhooks.Patch{RotateSecret: true})
		if err != nil || fresh == old {
			t.Fatalf("rotate: %q, %v", fresh, err)
		}
		// Two receivers, each knowing one secret only, both verify.
		for _, secret := range []string{old, fresh} {
			rc := newReceiver(t, []string{secret}, nil)
			u := rc.srv.URL
			if _, _, err := s.Update(context.Background(), "crm", webhooks.Patch{URL: &u}); err != nil {
				t.Fatal(err)
			}
			r, err := s.Ping(context.Background(), "crm")
			if err != nil || r.Code != 200 {
				t.Fatalf("ping with the %s secret: %+v, %v", map[bool]string{true: "old", false: "new"}[secret == old], r, err)
			}
		}
	})
}

func TestRetriedWithTheSameID(t *testing.T) {
	backends(t, func(t *testing.T, open func() store.Store) {
		s := newService(open(), fast)
		rc := createFor(t, s, "crm", func(_ received, try int) int {
			if try == 1 {
				return 500
			}
			return 200
		})
		record(t, s, webhooks.MessageReceived, "m1", "c1")
		record(t, s, webhooks.MessageReceived, "m2", "c2")
		run(t, s)
		ok := rc.waitOK(2)
		_, all, _ := rc.snapshot()
		if len(all) != 4 {
			t.Fatalf("receiver had %d requests, want 4 (each event: 500, then 200)", len(all))
		}
		ids := map[string]int{}
		for _, r := range all {
			ids[r.ID]++
		}
		for _, r := range ok {
			if ids[r.ID] != 2 {
				t.Fatalf("event %s came %d times with its webhook-id, want 2 (the retry keeps the id)", r.ID, ids[r.ID])
			}
		}
		var d []store.WebhookDelivery
		waitFor(t, func() bool {
			var err error
			d, err = s.Deliveries(context.Background(), "crm", 0, 10)
			return err == nil && len(d) == 2 && d[0].Status == store.WebhookDelivered && d[1].Status == store.WebhookDelivered
		})
		for _, x := range d {
			if x.Status != store.WebhookDelivered || x.Attempts != 2 || x.LastCode != 200 {
				t.Fatalf("delivery %+v: want delivered after 2 attempts", x)
			}
		}
	})
}

func TestGivesUpThenReplays(t *testing.T) {
	backends(t, func(t *testing.T, open func() store.Store) {
		s := newService(open(), fast)
		var mu sync.Mutex
		code := 503
		rc := createFor(t, s, "crm", func(received, int) int { mu.Lock(); defer mu.Unlock(); return code })
		record(t, s, webhooks.MessageReceived, "m1", "c1")
		run(t, s)
		ctx := context.Background()
		var d []store.WebhookDelivery
		deadline := time.Now().Add(10 * time.Second)
		for {
			var err error
			d, err = s.Deliveries(ctx, "crm", 0, 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(d) == 1 && d[0].Status == store.WebhookFailed {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("delivery never failed for good: %+v", d)
			}
			time.Sleep(10 * time.Millisecond)
		}
		if d[0].Attempts != len(fast)+1 || d[0].LastCode != 503 {
			t.Fatalf("failed delivery %+v: want %d attempts, last code 503", d[0], len(fast)+1)
		}
		mu.Lock()
		code = 200
		mu.Unlock()
		n, err := s.Replay(ctx, "crm", "")
		if err != nil || n != 1 {
			t.Fatalf("Replay = %d, %v; want 1", n, err)
		}
		ok := rc.waitOK(1)
		if ok[0].ID != d[0].EventID {
			t.Fatalf("replayed %s, want %s", ok[0].ID, d[0].EventID)
		}
	})
}

// A change recorded, then the hub gone before delivering it (here: its
// dispatcher stopped while the receiver was unreachable, and the store
// reopened as a restarted process finds it): the restarted hub delivers it.
func TestDeliveredAfterRestart(t *testing.T) {
	backends(t, func(t *testing.T, open func() store.Store) {
		s1 := newService(open(), []time.Duration{time.Hour})
		secret := create(t, s1, local("crm", "http://127.0.0.1:1/unreachable"))
		record(t, s1, webhooks.CustomerCreated, "c1", "c1")
		stop := run(t, s1)
		waitFor(t, func() bool {
			d, err := s1.Deliveries(context.Background(), "crm", 0, 10)
			return err == nil && len(d) == 1 && d[0].Attempts == 1
		})
		record(t, s1, webhooks.CustomerCreated, "c2", "c2") // recorded, never fanned out or sent
		stop()

		st := open()
		s2 := newService(st, fast)
		rc := newReceiver(t, []string{secret}, nil)
		u := rc.srv.URL
		if _, _, err := s2.Update(context.Background(), "crm", webhooks.Patch{URL: &u}); err != nil {
			t.Fatal(err)
		}
		// The first one waits an hour for its retry; an admin's replay (or
		// the hour) sends it.
		if _, err := s2.Replay(context.Background(), "crm", webhooks.EventID(webhooks.CustomerCreated, "c1")); err != nil {
			t.Fatal(err)
		}
		run(t, s2)
		ok := rc.waitOK(2)
		got := map[string]bool{ok[0].CustomerID: true, ok[1].CustomerID: true}
		if !got["c1"] || !got["c2"] {
			t.Fatalf("after the restart: %+v, want c1 and c2", ok)
		}
	})
}

func Test410DisablesTheEndpoint(t *testing.T) {
	backends(t, func(t *testing.T, open func() store.Store) {
		s := newService(open(), fast)
		var mu sync.Mutex
		code := 410
		rc := createFor(t, s, "crm", func(received, int) int { mu.Lock(); defer mu.Unlock(); return code })
		other := createFor(t, s, "dwh", nil)
		for i := range 3 {
			record(t, s, webhooks.MessageReceived, fmt.Sprint("m", i), "c1")
		}
		run(t, s)
		other.waitOK(3) // the other endpoint is not held up
		ctx := context.Background()
		var v webhooks.View
		waitFor(t, func() bool {
			var err error
			v, err = s.Get(ctx, "crm")
			return err == nil && !v.Active
		})
		if !strings.Contains(v.DisabledReason, "410") {
			t.Fatalf("endpoint after a 410: %+v, want disabled", v)
		}
		time.Sleep(100 * time.Millisecond)
		if _, all, _ := rc.snapshot(); len(all) != 1 {
			t.Fatalf("a disabled endpoint got %d requests, want the one answered 410", len(all))
		}
		// Enabled again, it gets everything, in order.
		mu.Lock()
		code = 200
		mu.Unlock()
		on := true
		if _, _, err := s.Update(ctx, "crm", webhooks.Patch{Enabled: &on}); err != nil {
			t.Fatal(err)
		}
		ok := rc.waitOK(3)
		for i, r := range ok {
			if r.Data["key"] != fmt.Sprint("m", i) {
				t.Fatalf("after re-enabling: %+v, want m0, m1, m2 in order", ok)
			}
		}
	})
}

func TestLoopbackRefusedWithoutAllowPrivateAddresses(t *testing.T) {
	backends(t, func(t *testing.T, open func() store.Store) {
		s := newService(open(), []time.Duration{time.Hour})
		rc := newReceiver(t, nil, nil)
		sp := local("crm", rc.srv.URL)
		sp.AllowPrivateAddresses = false
		create(t, s, sp)
		// The name localhost resolves to loopback: refused after resolution too.
		sp2 := local("byname", strings.Replace(rc.srv.URL, "127.0.0.1", "localhost", 1))
		sp2.AllowPrivateAddresses = false
		create(t, s, sp2)
		record(t, s, webhooks.MessageReceived, "m1", "c1")
		run(t, s)
		for _, name := range []string{"crm", "byname"} {
			waitFor(t, func() bool {
				d, err := s.Deliveries(context.Background(), name, 0, 10)
				return err == nil && len(d) == 1 && d[0].Attempts == 1
			})
			d, _ := s.Deliveries(context.Background(), name, 0, 10)
			if d[0].Status != store.WebhookPending || !strings.Contains(d[0].LastError, "not allowed") {
				t.Fatalf("%s: %+v, want a refused attempt", name, d[0])
			}
			r, err := s.Ping(context.Background(), name)
			if err != nil || r.Code != 0 || !strings.Contains(r.Error, "not allowed") {
				t.Fatalf("ping %s = %+v, %v; want refused", name, r, err)
			}
		}
		if _, all, _ := rc.snapshot(); len(all) != 0 {
			t.Fatalf("the loopback receiver got %d requests", len(all))
		}
		// And plain http is refused without allow_http.
		sp3 := local("plain", "http://example.com/hook")
		sp3.AllowHTTP = false
		if _, _, err := s.Create(context.Background(), sp3); !errors.Is(err, webhooks.ErrInvalid) {
			t.Fatalf("http URL without allow_http: %v, want ErrInvalid", err)
		}
	})
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	backends(t, func(t *testing.T, open func() store.Store) {
		s := newService(open(), []time.Duration{time.Hour})
		target := newReceiver(t, nil, nil)
		redirect := httptest.NewServer(http.RedirectHandler(target.srv.URL, http.StatusTemporaryRedirect))
		t.Cleanup(redirect.Close)
		create(t, s, local("crm", redirect.URL))
		r, err := s.Ping(context.Background(), "crm")
		if err != nil || r.Code != http.StatusTemporaryRedirect {
			t.Fatalf("ping = %+v, %v; want the 307 itself", r, err)
		}
		if _, all, _ := target.snapshot(); len(all) != 0 {
			t.Fatalf("the redirect was followed")
		}
	})
}

// Ordering per customer under retries: the first event of c1 fails twice;
// c1's later events wait for it, c2's do not.
func TestOrderPerCustomerUnderRetries(t *testing.T) {
	backends(t, func(t *testing.T, open func() store.Store) {
		s := newService(open(), fast)
		rc := createFor(t, s, "crm", func(r received, try int) int {
			if r.Data["key"] == "c1-0" && try <= 2 {
				return 500
			}
			if r.Data["key"] == "c1-2" && try == 1 {
				return 502
			}
			return 200
		})
		for i := range 5 {
			record(t, s, webhooks.MessageReceived, fmt.Sprint("c1-", i), "c1")
			record(t, s, webhooks.MessageReceived, fmt.Sprint("c2-", i), "c2")
		}
		run(t, s)
		ok := rc.waitOK(10)
		next := map[string]int{}
		for _, r := range ok {
			want := fmt.Sprintf("%s-%d", r.CustomerID, next[r.CustomerID])
			if r.Data["key"] != want {
				t.Fatalf("customer %s: got %v, want %s next (order: %v)", r.CustomerID, r.Data["key"], want, keys(ok))
			}
			next[r.CustomerID]++
		}
		// c2 was not held up by c1's retries: all of c2 arrived before c1's first.
		firstC1 := -1
		for i, r := range ok {
			if r.CustomerID == "c1" {
				firstC1 = i
				break
			}
		}
		c2Before := 0
		for _, r := range ok[:firstC1] {
			if r.CustomerID == "c2" {
				c2Before++
			}
		}
		if c2Before != 5 {
			t.Errorf("only %d of c2's events arrived before c1's first success: %v", c2Before, keys(ok))
		}
	})
}

func TestEraseRemovesTheCustomersEvents(t *testing.T) {
	backends(t, func(t *testing.T, open func() store.Store) {
		st := open()
		s := newService(st, []time.Duration{time.Hour})
		create(t, s, local("crm", "http://127.0.0.1:1/"))
		record(t, s, webhooks.MessageReceived, "m1", "c1")
		record(t, s, webhooks.MessageReceived, "m2", "c2")
		n, err := st.DeleteWebhookCustomer(context.Background(), "c1")
		if err != nil || n != 1 {
			t.Fatalf("DeleteWebhookCustomer = %d, %v", n, err)
		}
		if _, err := st.GetWebhookEvent(context.Background(), webhooks.EventID(webhooks.MessageReceived, "m1")); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("the erased customer's event is still there: %v", err)
		}
	})
}

func keys(rs []received) []any {
	out := make([]any, len(rs))
	for i, r := range rs {
		out[i] = r.Data["key"]
	}
	return out
}

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met within 10 s")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// The config package validates event names with its own copy of the list.
func TestConfigKnowsEveryEventType(t *testing.T) {
	if fmt.Sprint(config.WebhookEvents) != fmt.Sprint(webhooks.Types) {
		t.Fatalf("config.WebhookEvents = %v\nwebhooks.Types       = %v", config.WebhookEvents, webhooks.Types)
	}
}

func TestSignatureFormat(t *testing.T) {
	secret := webhooks.NewSecret()
	sig, err := webhooks.Sign([]string{secret}, "msg_1", time.Unix(1700000000, 0), []byte(`{"a":1}`))
	if err != nil {
		t.Fatal(err)
	}
	h, _ := standardwebhooks.NewWebhook(secret)
	want, _ := h.Sign("msg_1", time.Unix(1700000000, 0), []byte(`{"a":1}`))
	if sig != want {
		t.Fatalf("Sign = %q, the Standard Webhooks library signs %q", sig, want)
	}
	if _, err := webhooks.Sign([]string{"whsec_short"}, "msg_1", time.Now(), nil); err == nil {
		t.Fatal("a secret of too few bytes was accepted")
	}
}
