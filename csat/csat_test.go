package csat_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/csat"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	"github.com/switchboard-hub/switchboard/timeline"
)

// nopSender stands for a channel that can send (nothing is dispatched in
// these tests: the survey entries are what they check).
type nopSender struct{}

func (nopSender) Send(context.Context, connectors.Outgoing) (connectors.SendResult, error) {
	return connectors.SendResult{Status: connectors.StatusSent}, nil
}

type answer struct{ score, scale int }

type sink struct {
	mu  sync.Mutex
	got []answer
}

func (k *sink) CSATReceived(_ context.Context, _ store.Conversation, score, scale int, _ time.Time) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.got = append(k.got, answer{score, scale})
	return nil
}

func (k *sink) answers() []answer {
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.got)
}

// hooks keeps the csat.received events recorded (keyed: the same key is
// the same event).
type hooks struct {
	mu  sync.Mutex
	got map[string]csat.Data
}

func (r *hooks) Record(_ context.Context, typ, key, _ string, data any) error {
	if typ != "csat.received" {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.got == nil {
		r.got = map[string]csat.Data{}
	}
	r.got[key] = data.(csat.Data)
	return nil
}

func (r *hooks) RecordAll(ctx context.Context, evs []timeline.Hook) error {
	for _, e := range evs {
		if err := r.Record(ctx, e.Type, e.Key, e.CustomerID, e.Data); err != nil {
			return err
		}
	}
	return nil
}

func (r *hooks) events() []csat.Data {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []csat.Data
	for _, d := range r.got {
		out = append(out, d)
	}
	return out
}

type hub struct {
	hooks *hooks
	m     *csat.Metrics
	t     *testing.T
	ctx   context.Context
	st    store.Store
	clock *store.FakeClock
	dir   *directory.Directory
	rt    *router.Router
	in    *router.Ingest
	out   *router.Outbound
	convs *timeline.Service
	cs    *csat.Service
	sink  *sink
	n     int
}

func newHub(t *testing.T, st store.Store) *hub {
	ctx := context.Background()
	clock := store.NewFakeClock(time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC))
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	dir := directory.New(st, []directory.Channel{{Name: "text", Type: "sms", Phase: store.PhaseLive},
		{Name: "mail", Type: "email", Phase: store.PhaseLive}, {Name: "forms", Type: "webform", Phase: store.PhaseLive},
		{Name: "plug", Type: "plugin", Phase: store.PhaseLive}, {Name: "yesno", Type: "sms", Phase: store.PhaseLive}}, clock.Now, log)
	hk := &hooks{}
	convs := timeline.NewService(st, timeline.Options{Clock: clock.Now, Logger: log, Webhooks: hk})
	rt := router.New(st, dir, router.Options{Clock: clock.Now, Logger: log, Conversations: convs})
	out := router.NewOutbound(st, dir, clock.Now, log, nil, rt.Conversations())
	out.SetSender("text", nopSender{}) // the web form has none
	out.SetSender("mail", nopSender{})
	out.SetSender("plug", nopSender{})
	out.SetSender("yesno", nopSender{})
	k := &sink{}
	m := csat.NewMetrics(prometheus.NewRegistry())
	cs := csat.New(csat.Options{Metrics: m, Store: st, Dir: dir, Outbound: out, Convs: rt.Conversations(), Clock: clock.Now, Logger: log, Sink: k,
		PublicURL: "https://hub.example",
		Channels: map[string]csat.Settings{
			"text":  {Enabled: true, Delay: time.Hour, Scale: csat.Scale5, MinInterval: 14 * 24 * time.Hour},
			"mail":  {Enabled: true, Delay: time.Hour, Scale: csat.Scale5, MinInterval: 14 * 24 * time.Hour, Question: "Did we help?"},
			"forms": {Enabled: true, Delay: time.Hour, Scale: csat.ScaleThumbs, MinInterval: 14 * 24 * time.Hour},
			"plug":  {Enabled: true, Delay: time.Hour, Scale: csat.Scale5, MinInterval: 14 * 24 * time.Hour},
			"yesno": {Enabled: true, Delay: time.Hour, Scale: csat.ScaleThumbs, MinInterval: 14 * 24 * time.Hour},
		}})
	rt.Conversations().OnResolving(cs.Schedule)
	rt.SetAnswers(cs)
	return &hub{hooks: hk, m: m, t: t, ctx: ctx, st: st, clock: clock, dir: dir, rt: rt, in: router.NewIngest(st, dir, "FI", clock.Now, nil), out: out,
		convs: rt.Conversations(), cs: cs, sink: k}
}

// receive processes an inbound message and returns its stored entry.
func (h *hub) receive(channel string, from connectors.Identity, text string, edit func(*connectors.Message)) store.Entry {
	h.t.Helper()
	h.n++
	m := connectors.Message{Channel: channel, ProviderID: fmt.Sprintf("p%d", h.n), Text: text, Identities: []connectors.Identity{from},
		OccurredAt: h.clock.Now()}
	if edit != nil {
		edit(&m)
	}
	m, err := h.in.Prepare(m)
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.rt.Process(h.ctx, m); err != nil {
		h.t.Fatal(err)
	}
	e, err := h.st.GetEntry(h.ctx, m.ID)
	if err != nil {
		h.t.Fatalf("entry of %q: %v", text, err)
	}
	return e
}

// served opens a conversation, answers it as an agent and resolves it.
func (h *hub) served(channel string, from connectors.Identity) store.Conversation {
	h.t.Helper()
	e := h.receive(channel, from, "my parcel is late", nil)
	if _, err := h.out.Reply(h.ctx, e.ConversationID, "alice", "", "it is on its way"); err != nil {
		h.t.Fatal(err)
	}
	c, err := h.convs.Resolve(h.ctx, e.ConversationID, "alice")
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

func (h *hub) sendDue(want int) {
	h.t.Helper()
	n, err := h.cs.SendDue(h.ctx)
	if err != nil || n != want {
		h.t.Fatalf("SendDue = %d, %v; want %d surveys sent", n, err, want)
	}
}

func (h *hub) surveys(customerID string) []store.Entry {
	h.t.Helper()
	var out []store.Entry
	for _, e := range h.entries(customerID) {
		if slices.Contains(e.Flags, store.FlagAutomatic) {
			out = append(out, e)
		}
	}
	return out
}

func (h *hub) entries(customerID string) []store.Entry {
	h.t.Helper()
	es, err := h.st.PageEntries(h.ctx, customerID, "", 1000)
	if err != nil {
		h.t.Fatal(err)
	}
	return es
}

func (h *hub) conv(id string) store.Conversation {
	h.t.Helper()
	c, err := h.st.GetConversation(h.ctx, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return c
}

var ann = connectors.Identity{Type: connectors.Phone, Value: "+358401234567", Verified: true}

// TestSMSSurveyRoundTrip: after the delay the customer gets one survey,
// flagged automatic; a reopen and second resolve within min_interval sends
// none; a text that is no score is an ordinary message; "4 ..." lands on
// the resolved conversation as a csat entry (not reopened), reaches the
// sink once; a second score is an ordinary message.
func TestSMSSurveyRoundTrip(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		c := h.served("text", ann)
		h.sendDue(0) // the delay has not passed
		h.clock.Advance(time.Hour)
		h.sendDue(1)
		h.sendDue(0)
		sv := h.surveys(c.CustomerID)
		if len(sv) != 1 || sv[0].Status != connectors.StatusQueued || !strings.Contains(sv[0].Text, "Reply with a number from 1") ||
			sv[0].Purpose != "feedback" || sv[0].ConversationID != c.ID {
			t.Fatalf("surveys %+v, want one queued feedback survey in %s", sv, c.ID)
		}
		if got := h.conv(c.ID); got.Status != store.StatusResolved || got.Replies != 1 {
			t.Fatalf("the survey changed its conversation: %+v", got)
		}
		// Reopen and resolve again within min_interval: no second survey.
		if _, err := h.convs.Reopen(h.ctx, c.ID, "alice"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.convs.Resolve(h.ctx, c.ID, "alice"); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(2 * time.Hour)
		h.sendDue(0)
		if n := len(h.surveys(c.CustomerID)); n != 1 {
			t.Fatalf("%d surveys after a reopen-resolve, want 1", n)
		}
		if sent, skipped := testutil.ToFloat64(h.m.Surveys.WithLabelValues("text", "sent")), testutil.ToFloat64(h.m.Surveys.WithLabelValues("text", "min_interval")); sent != 1 || skipped != 1 {
			t.Fatalf("metrics: %v sent, %v skipped for min_interval; want 1 and 1", sent, skipped)
		}
		// Reopened again and resolved: the survey of the last resolution
		// is what an answer goes to, so resolve once more for the answer.
		chat := h.receive("text", ann, "thanks, got it!", nil)
		if chat.Kind != store.KindMessage || chat.ConversationID == c.ID {
			t.Fatalf("a text that is no score: %+v, want an ordinary message in a new conversation", chat)
		}
		if len(h.sink.answers()) != 0 {
			t.Fatal("a text that is no score reached the sink")
		}
	})
}

func TestSMSAnswerLandsOnTheResolvedConversation(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		c := h.served("text", ann)
		h.clock.Advance(time.Hour)
		h.sendDue(1)
		h.clock.Advance(10 * time.Minute)
		a := h.receive("text", ann, "4 quick and friendly", nil)
		if a.Kind != store.KindCSAT || a.CSAT == nil || *a.CSAT != (store.CSAT{Score: 4, Scale: 5, Comment: "quick and friendly"}) || a.ConversationID != c.ID {
			t.Fatalf("answer entry %+v (csat %+v), want csat 4/5 with its comment in %s", a, a.CSAT, c.ID)
		}
		if got := h.conv(c.ID); got.Status != store.StatusResolved || got.Survey == nil || got.Survey.AnswerID != a.ID {
			t.Fatalf("conversation after the answer: %+v", got)
		}
		if got := h.sink.answers(); len(got) != 1 || got[0] != (answer{4, 5}) {
			t.Fatalf("sink got %v, want one 4/5", got)
		}
		if ev := h.hooks.events(); len(ev) != 1 || ev[0].Score != 4 || ev[0].Scale != 5 || ev[0].ConversationID != c.ID || ev[0].Comment != "quick and friendly" {
			t.Fatalf("csat.received events %+v, want one 4/5 about %s", ev, c.ID)
		}
		second := h.receive("text", ann, "5", nil)
		if second.Kind != store.KindMessage || second.ConversationID == c.ID {
			t.Fatalf("a second score %+v, want an ordinary message", second)
		}
		if len(h.sink.answers()) != 1 || len(h.hooks.events()) != 1 {
			t.Fatal("a second score reached the sink or the webhooks")
		}
	})
}

// TestNoSurvey: not after STOP, not when the channel went to shadow, not
// without an agent's reply, and an answer after the 7-day window or an
// auto-reply is an ordinary message.
func TestNoSurvey(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		c := h.served("text", ann)
		stop := h.receive("text", ann, "STOP", func(m *connectors.Message) {
			m.Consent = &connectors.ConsentChange{Purpose: connectors.PurposeMessages, Granted: false, Text: "STOP"}
		})
		_ = stop
		h.clock.Advance(time.Hour)
		h.sendDue(0)
		if n := len(h.surveys(c.CustomerID)); n != 0 {
			t.Fatalf("%d surveys after STOP", n)
		}

		bob := connectors.Identity{Type: connectors.Phone, Value: "+358409999999", Verified: true}
		c2 := h.served("text", bob)
		if _, err := h.dir.SetPhase(h.ctx, "text", store.PhaseShadow, "admin"); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Hour)
		h.sendDue(0)
		if n := len(h.surveys(c2.CustomerID)); n != 0 {
			t.Fatalf("%d surveys in shadow", n)
		}
		if _, err := h.dir.SetPhase(h.ctx, "text", store.PhaseLive, "admin"); err != nil {
			t.Fatal(err)
		}

		// A revoked feedback consent (any channel) stops the survey.
		eve := connectors.Identity{Type: connectors.Phone, Value: "+358407777777", Verified: true}
		c5 := h.served("text", eve)
		if err := st.PutConsent(h.ctx, store.Consent{CustomerID: c5.CustomerID, Channel: "*", Purpose: "feedback", Granted: false, At: h.clock.Now()}); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Hour)
		h.sendDue(0)
		if n := len(h.surveys(c5.CustomerID)); n != 0 {
			t.Fatalf("%d surveys after feedback was revoked", n)
		}

		cid := connectors.Identity{Type: connectors.Phone, Value: "+358408888888", Verified: true}
		e := h.receive("text", cid, "hello?", nil)
		if _, err := h.convs.Resolve(h.ctx, e.ConversationID, "alice"); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Hour)
		h.sendDue(0) // no agent reply: nothing to rate

		// A conversation whose customer message is no-reply (bulk mail, an
		// auto-reply) gets no survey, even after an agent's reply.
		news := connectors.Identity{Type: connectors.Email, Value: "news@example.com", Verified: true}
		bulk := h.receive("mail", news, "Our newsletter", func(m *connectors.Message) { m.NoReply = true })
		if _, err := h.out.Reply(h.ctx, bulk.ConversationID, "alice", "", "please unsubscribe us"); err != nil {
			t.Fatal(err)
		}
		if _, err := h.convs.Resolve(h.ctx, bulk.ConversationID, "alice"); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Hour)
		h.sendDue(0)
		if n := len(h.surveys(bulk.CustomerID)); n != 0 {
			t.Fatalf("%d surveys in answer to no-reply mail", n)
		}

		dan := connectors.Identity{Type: connectors.Email, Value: "dan@example.com", Verified: true}
		c4 := h.served("mail", dan)
		h.clock.Advance(time.Hour)
		h.sendDue(1)
		auto := h.receive("mail", dan, "5", func(m *connectors.Message) { m.NoReply = true })
		if auto.Kind != store.KindMessage {
			t.Fatalf("an auto-reply %+v became an answer", auto)
		}
		h.clock.Advance(8 * 24 * time.Hour)
		late := h.receive("mail", dan, "5", nil)
		if late.Kind != store.KindMessage || len(h.sink.answers()) != 0 {
			t.Fatalf("a late answer %+v became an answer", late)
		}
		if h.conv(c4.ID).Survey.AnswerID != "" {
			t.Fatal("survey marked answered")
		}
	})
}

var linkRe = regexp.MustCompile(`4 – satisfied: (https://hub\.example(/csat/[^\s]+))`)

// TestSurveyPage: the email survey's links open the page; the POST records
// the score and comment once; reused, forged and out-of-range answers get
// clear errors and record nothing.
func TestSurveyPage(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		mux := http.NewServeMux()
		mux.Handle("GET /csat/{token}", h.cs)
		mux.Handle("POST /csat/{token}", h.cs)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		dan := connectors.Identity{Type: connectors.Email, Value: "dan@example.com", Verified: true}
		c := h.served("mail", dan)
		h.clock.Advance(time.Hour)
		h.sendDue(1)
		sv := h.surveys(c.CustomerID)
		m := linkRe.FindStringSubmatch(sv[0].Text)
		if m == nil || !strings.Contains(sv[0].HTML, "Did we help?") {
			t.Fatalf("survey text %q has no link for 4", sv[0].Text)
		}
		path := m[2]
		get := func(p string) (int, string) {
			res, err := http.Get(srv.URL + p)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		post := func(p string, v url.Values) (int, string) {
			res, err := http.PostForm(srv.URL+p, v)
			if err != nil {
				t.Fatal(err)
			}
			defer res.Body.Close()
			b, _ := io.ReadAll(res.Body)
			return res.StatusCode, string(b)
		}
		if code, body := get(path); code != 200 || !strings.Contains(body, `value="4" checked`) {
			t.Fatalf("GET survey page = %d %s", code, body)
		}
		forged := path[:len(path)-3] + "AAA"
		if code, _ := get(forged); code != 404 {
			t.Fatalf("forged token: %d, want 404", code)
		}
		if code, _ := post(forged, url.Values{"score": {"5"}}); code != 404 {
			t.Fatalf("forged token POST: %d, want 404", code)
		}
		if code, _ := post(path, url.Values{"score": {"9"}}); code != 400 {
			t.Fatalf("score 9: %d, want 400", code)
		}
		if code, _ := post(path, url.Values{"score": {"0"}}); code != 400 {
			t.Fatalf("score 0: %d, want 400", code)
		}
		if len(h.sink.answers()) != 0 || h.conv(c.ID).Survey.AnswerID != "" {
			t.Fatal("a refused answer was recorded")
		}
		if code, body := post(path, url.Values{"comment": {"very kind"}}); code != 200 || !strings.Contains(body, "Thank you") {
			t.Fatalf("answer: %d %s", code, body)
		}
		if code, _ := post(path, url.Values{"score": {"1"}}); code != 410 {
			t.Fatalf("reused token: %d, want 410", code)
		}
		if code, _ := get(path); code != 410 {
			t.Fatalf("reused token GET: %d, want 410", code)
		}
		var csats []store.Entry
		for _, e := range h.entries(c.CustomerID) {
			if e.Kind == store.KindCSAT {
				csats = append(csats, e)
			}
		}
		if len(csats) != 1 || *csats[0].CSAT != (store.CSAT{Score: 4, Scale: 5, Comment: "very kind"}) || csats[0].ConversationID != c.ID {
			t.Fatalf("csat entries %+v, want one 4/5 'very kind'", csats)
		}
		if got := h.sink.answers(); len(got) != 1 {
			t.Fatalf("sink got %v", got)
		}
		if got := h.conv(c.ID); got.Status != store.StatusResolved {
			t.Fatalf("answer reopened the conversation: %s", got.Status)
		}
	})
}

// TestReplicasSendOnce: several replicas' survey services over one store,
// sending due surveys at the same moment, send each survey once.
func TestReplicasSendOnce(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		var convs []store.Conversation
		for i := range 6 {
			convs = append(convs, h.served("text", connectors.Identity{Type: connectors.Phone, Value: fmt.Sprintf("+35840555000%d", i), Verified: true}))
		}
		h.clock.Advance(time.Hour)
		replicas := []*csat.Service{h.cs}
		for range 3 {
			replicas = append(replicas, csat.New(csat.Options{Store: st, Dir: h.dir, Outbound: h.out, Convs: h.convs, Clock: h.clock.Now,
				Channels: map[string]csat.Settings{"text": {Enabled: true, Delay: time.Hour, Scale: csat.Scale5, MinInterval: time.Hour}}}))
		}
		var wg sync.WaitGroup
		var mu sync.Mutex
		total := 0
		for _, r := range replicas {
			wg.Add(1)
			go func() {
				defer wg.Done()
				n, err := r.SendDue(h.ctx)
				if err != nil {
					t.Error(err)
				}
				mu.Lock()
				total += n
				mu.Unlock()
			}()
		}
		wg.Wait()
		if total != 6 {
			t.Fatalf("replicas sent %d surveys, want 6", total)
		}
		for _, c := range convs {
			if n := len(h.surveys(c.CustomerID)); n != 1 {
				t.Fatalf("customer %s got %d surveys, want 1", c.CustomerID, n)
			}
		}
	})
}

// TestSurveySurvivesRestart: a survey scheduled before the hub stopped is
// sent by the hub started again on the same data.
func TestSurveySurvivesRestart(t *testing.T) {
	dir := t.TempDir()
	st, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	h := newHub(t, st)
	c := h.served("text", ann)
	if err := st.Close(); err != nil {
		t.Fatal(err)
	}
	st, err = embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	h2 := newHub(t, st)
	h2.clock.Advance(time.Hour)
	h2.sendDue(1)
	if n := len(h2.surveys(c.CustomerID)); n != 1 {
		t.Fatalf("%d surveys after the restart, want 1", n)
	}
}

// TestWebFormSurveyGoesByTheReplyChannel: a web form cannot send, so its
// survey goes on the channel the agent answered on (email: links), on the
// form channel's scale, and its page records the answer.
func TestWebFormSurveyGoesByTheReplyChannel(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		fay := connectors.Identity{Type: connectors.Email, Value: "fay@example.com"}
		e := h.receive("forms", fay, "Please call me back", nil)
		if _, err := h.out.ReplyWith(h.ctx, router.ReplyRequest{ConversationID: e.ConversationID, Agent: "alice", Channel: "mail", Text: "Done."}); err != nil {
			t.Fatal(err)
		}
		if _, err := h.convs.Resolve(h.ctx, e.ConversationID, "alice"); err != nil {
			t.Fatal(err)
		}
		h.clock.Advance(time.Hour)
		h.sendDue(1)
		sv := h.surveys(e.CustomerID)
		if len(sv) != 1 || sv[0].Channel != "mail" || sv[0].ConversationID != e.ConversationID || sv[0].Sender == nil || sv[0].Sender.Value != "fay@example.com" {
			t.Fatalf("surveys %+v, want one by mail to fay in the form's conversation", sv)
		}
		m := regexp.MustCompile(`👍 yes: https://hub\.example(/csat/\S+)`).FindStringSubmatch(sv[0].Text)
		if m == nil {
			t.Fatalf("survey text %q has no thumbs-up link", sv[0].Text)
		}
		rec := httptest.NewRecorder()
		req := httptest.NewRequest("POST", m[1], strings.NewReader(""))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		mux := http.NewServeMux()
		mux.Handle("POST /csat/{token}", h.cs)
		mux.ServeHTTP(rec, req)
		if rec.Code != 200 {
			t.Fatalf("answer: %d %s", rec.Code, rec.Body)
		}
		if got := h.sink.answers(); len(got) != 1 || got[0] != (answer{2, 2}) {
			t.Fatalf("sink got %v, want thumbs up (2 of 2)", got)
		}
	})
}

// TestErasedConversationLosesItsSurvey: erasing a conversation deletes its
// scheduled survey (nothing about it is left in the store).
func TestErasedConversationLosesItsSurvey(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		c := h.served("text", ann)
		if err := h.convs.Delete(h.ctx, c); err != nil {
			t.Fatal(err)
		}
		left, err := st.ClaimTimers(h.ctx, store.TimerSetCSAT, h.clock.Now().Add(365*24*time.Hour), time.Minute, 10)
		if err != nil || len(left) != 0 {
			t.Fatalf("timers left after erasure: %+v, %v", left, err)
		}
	})
}
