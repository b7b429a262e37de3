package main_test

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestMacroReplyAndNoteInARealBrowser (issue 24): through the real binary
// and an SMS channel (Twilio's API served by Prism), an admin saves a
// macro that labels the conversation, sends a canned reply and adds a
// private note (a macro whose reply is empty is refused when saved). In
// Chromium the agent runs it on a customer's SMS conversation: the reply
// goes out on the SMS channel as the agent's (placeholders filled, sent
// to Twilio), the note is the agent's, the label shows on the
// conversation.
func TestMacroReplyAndNoteInARealBrowser(t *testing.T) {
	mock := twilioMockURL(t)
	br := startBrowser(t)
	art := artifactsDir(t, "macros")
	for i, pw := range []string{uiRootPW, uiAlicePW} {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), 10)
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(fmt.Sprintf("SWITCHBOARD_AGENTS_%d_PASSWORD_HASH", i), string(h))
	}
	addr := freeAddr(t)
	base := "http://" + addr
	p := start(t, writeConfig(t, embeddedStore(t), smsChannelYAML(base, mock)), addr)

	if code := call(t, "POST", base+"/api/v1/labels", adminToken, map[string]any{"name": "acked"}, nil); code != 200 {
		t.Fatalf("label: %d", code)
	}
	if code := call(t, "POST", base+"/api/v1/macros", adminToken, map[string]any{"id": "ack", "name": "Acknowledge",
		"actions": []map[string]any{{"type": "send_reply", "text": " "}}}, nil); code != 400 {
		t.Fatalf("macro with an empty reply: %d, want 400", code)
	}
	if code := call(t, "POST", base+"/api/v1/macros", adminToken, map[string]any{"id": "ack", "name": "Acknowledge",
		"actions": []map[string]any{{"type": "add_label", "value": "acked"},
			{"type": "send_reply", "text": "Hi, {{agent.name}} here: we are looking into it."},
			{"type": "add_note", "text": "Acknowledged by {{agent.name}}"}}}, nil); code != 200 {
		t.Fatalf("macro: %d", code)
	}

	const ann = "+14155550123"
	if code, _ := p.smsPost(t, "/webhooks/twilio/sms", smsMessage(1, ann, "Where is my parcel?"), ""); code != 200 {
		t.Fatalf("sms webhook: %d", code)
	}
	var convID string
	waitFor(t, "the SMS", 20*time.Second, func() bool {
		es := p.smsTimeline(t, "phone:"+ann)
		if len(es) == 1 {
			convID = es[0].ConversationID
		}
		return convID != ""
	})

	br.signIn("alice", base, "alice", uiAlicePW)
	br.do("alice", "click", map[string]any{"selector": `#f-view [data-view="all"]`})
	br.do("alice", "click", map[string]any{"selector": `#conv-list .item[data-id="` + convID + `"]`})
	br.do("alice", "select", map[string]any{"selector": "#macro-pick", "value": "ack"})
	br.do("alice", "click", map[string]any{"selector": "#macro-run"})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-label-chips .label-chip", "text": "acked"})

	type entry struct {
		Kind      string `json:"kind"`
		Direction string `json:"direction"`
		Channel   string `json:"channel"`
		Agent     string `json:"agent"`
		Text      string `json:"text"`
		Status    string `json:"status"`
	}
	var replies, notes []entry
	var seen []entry
	defer func() {
		if t.Failed() {
			t.Logf("timeline: %+v", seen)
		}
	}()
	waitFor(t, "the macro's reply sent to Twilio and its note", 20*time.Second, func() bool {
		c, _ := p.find(t, "phone:"+ann)
		var page struct {
			Entries []entry `json:"entries"`
		}
		call(t, "GET", base+"/api/v1/customers/"+c.ID+"/timeline?limit=50", adminToken, nil, &page)
		replies, notes, seen = nil, nil, page.Entries
		for _, e := range page.Entries {
			switch {
			case e.Direction == "out":
				replies = append(replies, e)
			case e.Kind == "note":
				notes = append(notes, e)
			}
		}
		return len(replies) == 1 && slices.Contains([]string{"sent", "delivered"}, replies[0].Status) && len(notes) == 1
	})
	if r := replies[0]; r.Agent != "alice" || r.Channel != "sms" || r.Text != "Hi, alice here: we are looking into it." {
		t.Fatalf("the macro's reply: %+v; want alice's, on sms, placeholders filled", r)
	}
	if n := notes[0]; n.Agent != "alice" || n.Text != "Acknowledged by alice" {
		t.Fatalf("the macro's note: %+v", n)
	}
	br.do("alice", "waitText", map[string]any{"selector": "#timeline", "text": "Hi, alice here"})
	br.do("alice", "screenshot", map[string]any{"path": filepath.Join(art, "macro-reply.png")})
	var conv struct {
		Status string   `json:"status"`
		Labels []string `json:"labels"`
	}
	call(t, "GET", base+"/api/v1/conversations/"+convID, adminToken, nil, &conv)
	if conv.Status != "pending" || strings.Join(conv.Labels, ",") != "acked" {
		t.Fatalf("after the macro: %+v; want pending (answered), labelled acked", conv)
	}
}
