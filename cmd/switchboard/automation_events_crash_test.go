package main_test

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// TestNewEventRulesUnderSIGKILL (issue 24), on both stores: through the api channel of the
// real binary, killed with SIGKILL and restarted twice while messages pour
// in, each opening its own conversation. A conversation.opened rule adds
// a private note ("Welcome"): every conversation ends with exactly one
// note, one rule event and one rule.run audit record. Afterwards an agent
// adds the label urgent through the API (label.added): its rule's note is
// written once and its own label raises no further rule.
func TestNewEventRulesUnderSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test; not in -short")
	}
	eachStore(t, func(t *testing.T, sc string) {
		cfg := writeConfig(t, sc, "")
		addr := freeAddr(t)
		p := start(t, cfg, addr)
		base := "http://" + addr
		for _, l := range []string{"urgent", "escalated", "loop"} {
			if code := call(t, "POST", base+"/api/v1/labels", adminToken, map[string]any{"name": l}, nil); code != 200 {
				t.Fatalf("label %s: %d", l, code)
			}
		}
		for _, r := range []map[string]any{
			{"id": "welcome", "name": "Welcome", "event": "conversation.opened", "enabled": true,
				"conditions": []map[string]any{{"type": "phase", "value": "live"}},
				"actions":    []map[string]any{{"type": "add_note", "text": "Welcome to {{conversation.id}}"}}},
			{"id": "escalate", "name": "Escalate", "event": "label.added", "enabled": true,
				"conditions": []map[string]any{{"type": "added_label", "value": "urgent"}},
				"actions":    []map[string]any{{"type": "add_label", "value": "escalated"}, {"type": "add_note", "text": "Escalated"}}},
			{"id": "loop", "name": "Loop", "event": "label.added", "enabled": true,
				"conditions": []map[string]any{{"type": "added_label", "value": "escalated"}},
				"actions":    []map[string]any{{"type": "add_label", "value": "loop"}}},
		} {
			if code := call(t, "POST", base+"/api/v1/rules", adminToken, r, nil); code != 200 {
				t.Fatalf("rule %v: %d", r["id"], code)
			}
		}
		const customers = 10
		p, accepted := postThroughKills(t, p, cfg, addr, "open-", "open", customers)
		t.Logf("%d messages accepted, 2 kills", len(accepted))
		if len(accepted) < 20 {
			t.Fatalf("only %d messages accepted", len(accepted))
		}
		// welcome notes per conversation, escalation notes, rule events.
		scan := func() (msgs map[string]string, welcome map[string]int, escalated, events int) {
			msgs, welcome = map[string]string{}, map[string]int{}
			for i := 0; i < customers; i++ {
				c, code := p.find(t, fmt.Sprintf("email:open%d@example.com", i))
				if code != 200 {
					continue
				}
				for _, e := range p.timeline(t, c.ID) {
					switch {
					case strings.HasPrefix(e.Text, "open-"):
						msgs[e.Text] = e.ConversationID
					case strings.HasPrefix(e.Text, "Welcome to "):
						welcome[strings.TrimPrefix(e.Text, "Welcome to ")]++
					case e.Text == "Escalated":
						escalated++
					case strings.HasPrefix(e.Text, "Rule "):
						events++
					}
				}
			}
			return
		}
		var last string
		var msgs map[string]string
		waitFor(t, "every conversation welcomed once", 120*time.Second, func() bool {
			var welcome map[string]int
			var events int
			msgs, welcome, _, events = scan()
			missing, twice := 0, 0
			for ext, conv := range msgs {
				if !accepted[ext] {
					continue
				}
				switch welcome[conv] {
				case 0:
					missing++
				case 1:
				default:
					twice++
				}
			}
			for ext := range accepted {
				if _, ok := msgs[ext]; !ok {
					missing++
				}
			}
			runs := auditCount(t, base, "rule.run")
			last = fmt.Sprintf("%d accepted, %d stored, %d not welcomed, %d welcomed twice, %d rule events, %d rule.run records", len(accepted), len(msgs), missing, twice, events, runs)
			if twice > 0 {
				t.Fatal(last)
			}
			return missing == 0 && len(welcome) == len(msgs) && events == len(msgs) && runs == len(msgs)
		})
		t.Log(last)

		// label.added through the API, on the live process.
		var conv string
		for _, c := range msgs {
			conv = c
			break
		}
		var got struct {
			Labels []string `json:"labels"`
		}
		if code := call(t, "POST", base+"/api/v1/conversations/"+conv+"/labels", adminToken, map[string]any{"add": []string{"urgent"}}, &got); code != 200 {
			t.Fatalf("label: %d", code)
		}
		if strings.Join(got.Labels, ",") != "escalated,urgent" {
			t.Fatalf("labels after urgent: %v; want escalated,urgent (a rule's label fires no rule)", got.Labels)
		}
		waitFor(t, "the escalation note", 30*time.Second, func() bool {
			_, _, escalated, _ := scan()
			if escalated > 1 {
				t.Fatalf("%d escalation notes", escalated)
			}
			return escalated == 1
		})
	})
}
