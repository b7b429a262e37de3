package main_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/search/bolt"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
	"github.com/switchboard-hub/switchboard/timeline"
)

// The search box in Chromium: typing shows the matching customer and the
// messages, best first, with the typed word marked and a message's markup
// shown as text; a phone number typed as a person would finds its
// customer; a pilot conversation of another team stays hidden from an
// agent; Enter on a result opens its conversation.
func TestSearchInARealBrowser(t *testing.T) {
	dir := t.TempDir()
	st, err := embedded.Open(dir, embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ix, err := bolt.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer ix.Close()
	ctx := context.Background()
	now := time.Now().UTC().Add(-time.Hour)
	svc := timeline.NewService(st, timeline.Options{Index: search.Indexer{Index: ix}})
	for i, m := range []struct{ customer, name, phone, text, audience string }{
		{"c-mia", "Mia Virtanen", "+358401234567", "My invoice from March is wrong <b>twice</b>", store.AudienceAll},
		{"c-olli", "Olli Invoice", "+358409876543", "Hello, is anyone there?", store.AudienceAll},
		{"c-pia", "Pia Salo", "+358405550000", "Where is my parcel? The invoice is paid.", store.AudienceAll},
		{"c-sam", "Sam Secret", "+358405551111", "A pilot invoice only sales may see", store.TeamAudience("sales")},
	} {
		if err := st.CreateCustomer(ctx, store.Customer{ID: m.customer, Name: m.name, CreatedAt: now}); err != nil {
			t.Fatal(err)
		}
		id := fmt.Sprintf("v%d", i)
		if _, _, _, err := svc.Receive(ctx, timeline.Inbound{ThreadKey: "t" + id, ConversationID: id, Audience: m.audience,
			Entry: store.Entry{ID: "in" + id, CustomerID: m.customer, Channel: "sms", Direction: connectors.Inbound, Kind: store.KindMessage,
				Sender: &connectors.Identity{Type: connectors.Phone, Value: m.phone, Verified: true}, SenderName: m.name,
				Text: m.text, OccurredAt: now.Add(time.Duration(i) * time.Minute)}}); err != nil {
			t.Fatal(err)
		}
	}
	dr := directory.New(st, []directory.Channel{{Name: "sms", Type: "sms", Phase: store.PhaseLive}}, nil, nil)
	if err := dr.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	h, err := bcrypt.GenerateFromPassword([]byte(uiAlicePW), bcrypt.MinCost)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(inbox.New(inbox.Options{Store: st, Directory: dr, Conversations: svc, Teams: []string{"support", "sales"},
		Search:      &search.Searcher{Index: ix, Conversations: st, Region: "FI"},
		Credentials: []inbox.Credential{{Principal: inbox.Principal{Name: "alice", Role: "agent", Teams: []string{"support"}}, PasswordHash: string(h)}}}))
	t.Cleanup(srv.Close)
	br := startBrowser(t)
	br.signIn("alice", srv.URL, "alice", uiAlicePW)
	var rec struct {
		Console []string `json:"console"`
	}
	json.Unmarshal(br.do("alice", "record", nil), &rec)
	before := len(rec.Console) // the sign-in page's own 401

	br.do("alice", "type", map[string]any{"selector": "#search-q", "text": "invoice"})
	br.do("alice", "waitCount", map[string]any{"selector": "#search-results .search-hit", "count": 3})
	names := br.strings("alice", "texts", map[string]any{"selector": "#search-results .search-hit .search-name"})
	// Olli's name is Invoice: the customer match ranks first; then the
	// newer of the two messages that say it. Sam's pilot (sales) is hidden.
	if fmt.Sprint(names) != "[Olli Invoice Pia Salo Mia Virtanen]" {
		t.Errorf("ranked hits: %q", names)
	}
	if cs := br.strings("alice", "texts", map[string]any{"selector": "#search-results .search-customer .search-name"}); fmt.Sprint(cs) != "[Olli Invoice]" {
		t.Errorf("customers: %q", cs)
	}
	marks := br.strings("alice", "texts", map[string]any{"selector": "#search-results .search-hit mark"})
	for _, m := range marks {
		if strings.ToLower(m) != "invoice" {
			t.Errorf("marked %q", m)
		}
	}
	if len(marks) != 2 {
		t.Errorf("marks: %q, want the word in Pia's and Mia's messages", marks)
	}
	var n int
	json.Unmarshal(br.do("alice", "count", map[string]any{"selector": "#search-results b"}), &n)
	if n != 0 {
		t.Errorf("a message's <b> became markup")
	}
	if s := br.strings("alice", "texts", map[string]any{"selector": "#search-results .search-hit[data-conversation=v0] .search-snippet"}); len(s) != 1 || !strings.Contains(s[0], "<b>twice</b>") {
		t.Errorf("Mia's snippet: %q", s)
	}
	br.do("alice", "screenshot", map[string]any{"path": filepath.Join(artifactsDir(t, "ui"), "search.png"), "full": true})

	// A phone number as a person types it.
	br.do("alice", "fill", map[string]any{"selector": "#search-q", "value": "040 123 4567"})
	br.do("alice", "press", map[string]any{"key": "Enter"})
	br.do("alice", "waitText", map[string]any{"selector": "#search-results .search-customer .search-name", "text": "Mia Virtanen"})

	// Keyboard: down to the first result, Enter opens it.
	br.do("alice", "focus", map[string]any{"selector": "#search-q"})
	br.do("alice", "press", map[string]any{"key": "ArrowDown"})
	br.do("alice", "press", map[string]any{"key": "Enter"})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-name", "text": "Mia Virtanen"})
	json.Unmarshal(br.do("alice", "record", nil), &rec)
	for _, c := range rec.Console[before:] {
		t.Errorf("console error: %s", c)
	}
}
