package main_test

import (
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
)

// TestLabelsRulesAndMacrosInARealBrowser (issue 24): through the real
// binary, an admin defines labels, a rule and a macro over the API; a
// message posted to the api channel is labelled by the rule in the
// router's processing; in Chromium the agent sees the label on the
// conversation and the priority the rule set in the list, makes it urgent,
// adds another label from the label menu and runs the macro, which resolves
// the conversation and labels it.
func TestLabelsRulesAndMacrosInARealBrowser(t *testing.T) {
	br := startBrowser(t)
	art := artifactsDir(t, "labels")
	for i, pw := range []string{uiRootPW, uiAlicePW} {
		h, err := bcrypt.GenerateFromPassword([]byte(pw), 10)
		if err != nil {
			t.Fatal(err)
		}
		t.Setenv(fmt.Sprintf("SWITCHBOARD_AGENTS_%d_PASSWORD_HASH", i), string(h))
	}
	addr := freeAddr(t)
	base := "http://" + addr
	p := start(t, writeConfig(t, embeddedStore(t), ""), addr)

	must := func(code int, what string) {
		t.Helper()
		if code != 200 {
			t.Fatalf("%s: %d", what, code)
		}
	}
	must(call(t, "POST", base+"/api/v1/labels", adminToken, map[string]any{"name": "billing", "color": "#22aa44"}, nil), "label billing")
	must(call(t, "POST", base+"/api/v1/labels", adminToken, map[string]any{"name": "vip", "color": "#cc2222"}, nil), "label vip")
	must(call(t, "POST", base+"/api/v1/labels", adminToken, map[string]any{"name": "done"}, nil), "label done")
	must(call(t, "POST", base+"/api/v1/attributes", adminToken, map[string]any{"name": "plan", "type": "list", "on": "customer", "options": []string{"free", "gold"}}, nil), "attribute plan")
	must(call(t, "POST", base+"/api/v1/attributes", adminToken, map[string]any{"name": "customer_no", "type": "number", "on": "customer"}, nil), "attribute customer_no")
	must(call(t, "POST", base+"/api/v1/rules", adminToken, map[string]any{"id": "lasku", "name": "Invoices", "event": "message.received", "enabled": true,
		"conditions": []map[string]any{{"type": "text_contains", "value": "lasku"}},
		"actions":    []map[string]any{{"type": "add_label", "value": "billing"}, {"type": "set_priority", "value": "high"}}}, nil), "rule")
	if code := call(t, "POST", base+"/api/v1/macros", adminToken, map[string]any{"id": "wrap", "name": "Wrap up", "actions": []map[string]any{{"type": "add_label", "value": "nope"}}}, nil); code != 400 {
		t.Fatalf("macro with an unknown label: %d, want 400", code)
	}
	must(call(t, "POST", base+"/api/v1/macros", adminToken, map[string]any{"id": "wrap", "name": "Wrap up",
		"actions": []map[string]any{{"type": "add_label", "value": "done"}, {"type": "resolve"}}}, nil), "macro")

	if code, _ := p.post(t, "crm", map[string]any{"external_id": "inv-1", "sender": map[string]string{"email": "lea@example.com", "name": "Lea Laine"},
		"text": "Hei, lasku 42 on väärin"}); code != 202 {
		t.Fatalf("post: %d", code)
	}
	var convID string
	waitFor(t, "the message on a labelled conversation", 20*time.Second, func() bool {
		var out struct {
			Conversations []struct {
				ID     string   `json:"id"`
				Labels []string `json:"labels"`
			} `json:"conversations"`
		}
		call(t, "GET", base+"/api/v1/conversations?label=billing", adminToken, nil, &out)
		if len(out.Conversations) == 1 {
			convID = out.Conversations[0].ID
		}
		return convID != ""
	})

	br.signIn("alice", base, "alice", uiAlicePW)
	br.do("alice", "click", map[string]any{"selector": `#f-view [data-view="all"]`})
	br.do("alice", "click", map[string]any{"selector": `#conv-list .item[data-id="` + convID + `"]`})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-label-chips .label-chip", "text": "billing"})
	// Priority (issue 24): the rule raised it to high, shown as a word in
	// the list row; the agent makes it urgent from the conversation view.
	item := `#conv-list .item[data-id="` + convID + `"]`
	br.do("alice", "waitText", map[string]any{"selector": item + " .prio", "text": "High"})
	br.do("alice", "select", map[string]any{"selector": "#priority-set", "value": "urgent"})
	br.do("alice", "waitText", map[string]any{"selector": item + " .prio", "text": "Urgent"})
	var prio struct {
		Priority string `json:"priority"`
	}
	call(t, "GET", base+"/api/v1/conversations/"+convID, adminToken, nil, &prio)
	if prio.Priority != "urgent" {
		t.Fatalf("priority after the agent's choice in the browser = %q, want urgent", prio.Priority)
	}
	br.do("alice", "select", map[string]any{"selector": "#label-add", "value": "vip"})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-label-chips .label-chip", "text": "vip"})
	// The label added in the conversation marks the customer too; the
	// customer panel edits the custom attributes.
	br.do("alice", "waitText", map[string]any{"selector": "#cust-labels .label-chip", "text": "vip"})
	br.do("alice", "select", map[string]any{"selector": "#cust-attr-plan", "value": "gold"})
	br.do("alice", "fill", map[string]any{"selector": "#cust-attr-customer_no", "value": "4711"})
	br.do("alice", "click", map[string]any{"selector": "#cust-attr-save"})
	var cust struct {
		ID         string            `json:"id"`
		Labels     []string          `json:"labels"`
		Attributes map[string]string `json:"attributes"`
	}
	waitFor(t, "the attributes saved from the customer panel", 10*time.Second, func() bool {
		var c struct {
			CustomerID string `json:"customer_id"`
		}
		call(t, "GET", base+"/api/v1/conversations/"+convID, adminToken, nil, &c)
		call(t, "GET", base+"/api/v1/customers/"+c.CustomerID, adminToken, nil, &cust)
		return cust.Attributes["plan"] == "gold" && cust.Attributes["customer_no"] == "4711"
	})
	if strings.Join(cust.Labels, ",") != "vip" {
		t.Fatalf("customer labels = %v, want vip (added in the conversation view)", cust.Labels)
	}
	br.do("alice", "screenshot", map[string]any{"path": filepath.Join(art, "labels.png")})
	br.do("alice", "select", map[string]any{"selector": "#macro-pick", "value": "wrap"})
	br.do("alice", "click", map[string]any{"selector": "#macro-run"})
	br.do("alice", "waitText", map[string]any{"selector": "#conv-label-chips .label-chip", "text": "done"})
	br.do("alice", "screenshot", map[string]any{"path": filepath.Join(art, "macro.png")})

	var conv struct {
		Status   string   `json:"status"`
		Labels   []string `json:"labels"`
		Assignee string   `json:"assignee"`
	}
	call(t, "GET", base+"/api/v1/conversations/"+convID, adminToken, nil, &conv)
	if conv.Status != "resolved" || strings.Join(conv.Labels, ",") != "billing,done,vip" {
		t.Fatalf("after the macro in the browser: %+v", conv)
	}
	var audit struct {
		Records []struct{ Action, Actor, Detail string } `json:"audit"`
	}
	call(t, "GET", base+"/api/v1/audit?limit=200", adminToken, nil, &audit)
	var seen []string
	for _, r := range audit.Records {
		seen = append(seen, r.Actor+" "+r.Action+" "+r.Detail)
	}
	all := strings.Join(seen, "\n")
	for _, want := range []string{"automation rule.run", "alice conversation.update status=resolved", "+labels=done", "priority=urgent"} {
		if !strings.Contains(all, want) {
			t.Fatalf("audit lacks %q:\n%s", want, all)
		}
	}
}
