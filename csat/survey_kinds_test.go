package csat_test

import (
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/csat"
	"github.com/switchboard-hub/switchboard/internal/hubtest"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// TestMinIntervalPerCustomer: min_interval (14 days here, the default) is
// per customer, across conversations: a second conversation of the same
// customer resolved a week after the first survey gets none; one resolved
// after the interval gets its own; another customer is not held back.
func TestMinIntervalPerCustomer(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		c1 := h.served("text", ann)
		h.clock.Advance(time.Hour)
		h.sendDue(1)

		h.clock.Advance(7 * 24 * time.Hour)
		c2 := h.served("text", ann)
		if c2.ID == c1.ID {
			t.Fatal("the second problem joined the first conversation")
		}
		other := h.served("text", connectors.Identity{Type: connectors.Phone, Value: "+358401110000", Verified: true})
		h.clock.Advance(time.Hour)
		h.sendDue(1) // the other customer's only
		if n := len(h.surveys(c1.CustomerID)); n != 1 {
			t.Fatalf("%d surveys a week after the first, want still 1", n)
		}
		if n := len(h.surveys(other.CustomerID)); n != 1 {
			t.Fatalf("the other customer got %d surveys, want 1", n)
		}

		h.clock.Advance(7 * 24 * time.Hour)
		c3 := h.served("text", ann)
		h.clock.Advance(time.Hour)
		h.sendDue(1)
		sv := h.surveys(c1.CustomerID)
		if len(sv) != 2 || sv[1].ConversationID != c3.ID && sv[0].ConversationID != c3.ID {
			t.Fatalf("surveys after the interval %+v, want a second one in %s", sv, c3.ID)
		}
	})
}

// TestPluginChannelSurveyIsOneLink: a plugin channel's survey is the
// question and one link to the survey page, which offers the whole scale
// and a comment box; a POST without a score is refused (400, nothing
// recorded), one with a score records it.
func TestPluginChannelSurveyIsOneLink(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		c := h.served("plug", connectors.Identity{Type: connectors.Email, Value: "gus@example.com", Verified: true})
		h.clock.Advance(time.Hour)
		h.sendDue(1)
		sv := h.surveys(c.CustomerID)
		links := regexp.MustCompile(`https://hub\.example(/csat/\S+)`).FindAllStringSubmatch(sv[0].Text, -1)
		if len(sv) != 1 || sv[0].Channel != "plug" || len(links) != 1 || !strings.HasPrefix(sv[0].Text, "How satisfied were you with our help? https://") {
			t.Fatalf("surveys %+v, want one with one link", sv)
		}
		mux := http.NewServeMux()
		mux.Handle("GET /csat/{token}", h.cs)
		mux.Handle("POST /csat/{token}", h.cs)
		srv := httptest.NewServer(mux)
		defer srv.Close()
		res, err := http.Get(srv.URL + links[0][1])
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		for sc := 1; sc <= 5; sc++ {
			if !strings.Contains(string(body), `name="score" value="`+string(rune('0'+sc))+`">`) {
				t.Fatalf("page without score %d (unchosen): %d %s", sc, res.StatusCode, body)
			}
		}
		if res.StatusCode != 200 || !strings.Contains(string(body), `<textarea id="comment"`) {
			t.Fatalf("page %d %s", res.StatusCode, body)
		}
		res, err = http.PostForm(srv.URL+links[0][1], url.Values{"comment": {"no score"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 400 || len(h.sink.answers()) != 0 {
			t.Fatalf("an answer without a score: %d, sink %v", res.StatusCode, h.sink.answers())
		}
		res, err = http.PostForm(srv.URL+links[0][1], url.Values{"score": {"3"}, "comment": {"ok"}})
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if got := h.sink.answers(); res.StatusCode != 200 || len(got) != 1 || got[0] != (answer{3, 5}) {
			t.Fatalf("answer: %d, sink %v", res.StatusCode, got)
		}
		var csats []store.Entry
		for _, e := range h.entries(c.CustomerID) {
			if e.Kind == store.KindCSAT {
				csats = append(csats, e)
			}
		}
		if len(csats) != 1 || *csats[0].CSAT != (store.CSAT{Score: 3, Scale: 5, Comment: "ok"}) || csats[0].ConversationID != c.ID {
			t.Fatalf("csat entries %+v", csats)
		}
	})
}

// TestThumbsSurveyBySMS: on the thumbs scale the SMS asks for YES or NO;
// "3" (off that scale) stays an ordinary message, "👍 great help" is the
// answer: score 2 of scale 2 with its comment, in the resolved
// conversation.
func TestThumbsSurveyBySMS(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		c := h.served("yesno", ann)
		h.clock.Advance(time.Hour)
		h.sendDue(1)
		sv := h.surveys(c.CustomerID)
		if len(sv) != 1 || !strings.Contains(sv[0].Text, "Reply YES or NO") || strings.Contains(sv[0].Text, "http") {
			t.Fatalf("surveys %+v, want one asking for YES or NO", sv)
		}
		h.clock.Advance(time.Minute)
		if e := h.receive("yesno", ann, "3", nil); e.Kind != store.KindMessage || e.ConversationID == c.ID {
			t.Fatalf("3 on the thumbs scale: %+v, want an ordinary message", e)
		}
		a := h.receive("yesno", ann, "👍 great help", nil)
		if a.Kind != store.KindCSAT || *a.CSAT != (store.CSAT{Score: 2, Scale: 2, Comment: "great help"}) || a.ConversationID != c.ID {
			t.Fatalf("answer %+v", a)
		}
		if got := h.conv(c.ID); got.Status != store.StatusResolved {
			t.Fatalf("the answer reopened the conversation: %s", got.Status)
		}
		if got := h.sink.answers(); len(got) != 1 || got[0] != (answer{2, 2}) {
			t.Fatalf("sink %v", got)
		}
	})
}

// TestWebFormSurveyAnsweredByMail: a web form's survey goes by mail (the
// channel the agent answered on) and says a reply works; the reply by
// mail with a score is the answer, in the form's conversation, even when
// the mail channel asks for no surveys of its own.
func TestWebFormSurveyAnsweredByMail(t *testing.T) {
	hubtest.Backends(t, func(t *testing.T, st store.Store) {
		h := newHub(t, st)
		h.cs = csat.New(csat.Options{Store: st, Dir: h.dir, Outbound: h.out, Convs: h.convs, Clock: h.clock.Now, Sink: h.sink,
			PublicURL: "https://hub.example",
			Channels:  map[string]csat.Settings{"forms": {Enabled: true, Delay: time.Hour, Scale: csat.ScaleThumbs, MinInterval: 14 * 24 * time.Hour}}})
		h.convs.OnResolving(h.cs.Schedule)
		h.rt.SetAnswers(h.cs)
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
		if sv := h.surveys(e.CustomerID); len(sv) != 1 || sv[0].Channel != "mail" || !strings.Contains(sv[0].Text, "reply YES or NO") {
			t.Fatalf("surveys %+v, want one by mail inviting a reply", sv)
		}
		h.clock.Advance(time.Hour)
		a := h.receive("mail", fay, "Yes, all good\n\nOn Mon, the hub wrote:\n> How satisfied were you with our help?\n", nil)
		if a.Kind != store.KindCSAT || a.CSAT == nil || *a.CSAT != (store.CSAT{Score: 2, Scale: 2, Comment: "all good"}) || a.ConversationID != e.ConversationID {
			t.Fatalf("the reply by mail: %+v (csat %+v), want thumbs up in %s", a, a.CSAT, e.ConversationID)
		}
		if got := h.sink.answers(); len(got) != 1 || got[0] != (answer{2, 2}) {
			t.Fatalf("sink %v", got)
		}
	})
}
