package main_test

import (
	"slices"
	"strings"
	"testing"
	"time"
)

type csatEntry struct {
	ID             string   `json:"id"`
	ConversationID string   `json:"conversation_id"`
	Kind           string   `json:"kind"`
	Direction      string   `json:"direction"`
	Text           string   `json:"text"`
	Status         string   `json:"status"`
	Flags          []string `json:"flags"`
	CSAT           *struct {
		Score   int    `json:"score"`
		Scale   int    `json:"scale"`
		Comment string `json:"comment"`
	} `json:"csat"`
}

func (p *proc) csatTimeline(t *testing.T, identity string) []csatEntry {
	t.Helper()
	c, code := p.find(t, identity)
	if code != 200 {
		return nil
	}
	var page struct {
		Entries []csatEntry `json:"entries"`
	}
	call(t, "GET", p.base+"/api/v1/customers/"+c.ID+"/timeline?limit=200", adminToken, nil, &page)
	return page.Entries
}

// TestEndToEndSMSSurvey: the real binary with an SMS channel asking for
// surveys (delay 0s): a conversation answered by an agent and resolved
// gets one survey, sent to Twilio's API (the Prism mock) and flagged
// automatic; the customer's signed webhook "4 fast" becomes a csat entry
// in the resolved conversation, which stays resolved; a second "5" is an
// ordinary message.
func TestEndToEndSMSSurvey(t *testing.T) {
	mock := twilioMockURL(t)
	eachStore(t, func(t *testing.T, sc string) {
		addr := freeAddr(t)
		yaml := smsChannelYAML("http://"+addr, mock) + "    csat:\n      enabled: true\n      delay: 0s\n      question: \"How did we do?\"\n"
		p := start(t, writeConfig(t, sc, yaml), addr)
		const ann = "+14155550177"
		wh := "/webhooks/twilio/sms"
		if code, _ := p.smsPost(t, wh, smsMessage(101, ann, "Where is my order?"), ""); code != 200 {
			t.Fatalf("webhook: %d", code)
		}
		var es []csatEntry
		waitFor(t, "the SMS", 10*time.Second, func() bool { es = p.csatTimeline(t, "phone:"+ann); return len(es) == 1 })
		conv := es[0].ConversationID
		if code := call(t, "POST", p.base+"/api/v1/conversations/"+conv+"/messages", agentToken, map[string]string{"text": "It ships today."}, nil); code != 202 {
			t.Fatalf("reply: %d", code)
		}
		if code := call(t, "PATCH", p.base+"/api/v1/conversations/"+conv, agentToken, map[string]string{"status": "resolved"}, nil); code != 200 {
			t.Fatalf("resolve: %d", code)
		}
		var survey csatEntry
		waitFor(t, "the survey sent", 20*time.Second, func() bool {
			for _, e := range p.csatTimeline(t, "phone:"+ann) {
				if slices.Contains(e.Flags, "automatic") {
					survey = e
				}
			}
			return survey.Status == "sent"
		})
		if !strings.HasPrefix(survey.Text, "How did we do?") || survey.ConversationID != conv {
			t.Fatalf("survey %+v", survey)
		}
		if code, _ := p.smsPost(t, wh, smsMessage(102, ann, "4 fast"), ""); code != 200 {
			t.Fatalf("answer webhook: %d", code)
		}
		var answer csatEntry
		waitFor(t, "the answer", 10*time.Second, func() bool {
			for _, e := range p.csatTimeline(t, "phone:"+ann) {
				if e.Kind == "csat" {
					answer = e
				}
			}
			return answer.ID != ""
		})
		if answer.CSAT == nil || answer.CSAT.Score != 4 || answer.CSAT.Scale != 5 || answer.CSAT.Comment != "fast" || answer.ConversationID != conv {
			t.Fatalf("answer %+v", answer)
		}
		var c struct{ Status string }
		call(t, "GET", p.base+"/api/v1/conversations/"+conv, agentToken, nil, &c)
		if c.Status != "resolved" {
			t.Fatalf("the answer reopened the conversation: %s", c.Status)
		}
		p.smsPost(t, wh, smsMessage(103, ann, "5"), "")
		waitFor(t, "the second score", 10*time.Second, func() bool { return len(p.csatTimeline(t, "phone:"+ann)) == 5 })
		n := 0
		for _, e := range p.csatTimeline(t, "phone:"+ann) {
			if e.Kind == "csat" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d csat entries after a second score, want 1", n)
		}
	})
}
