package main_test

import (
	"strings"
	"testing"
	"time"
)

// TestEndToEndSLABreaches: the real binary with an `sla:` policy from its
// config (first_response and resolution 1 s, around the clock): each
// conversation carries its due time, the list sorted by due time
// (?sort=sla_due) has the earlier one first, and once the due times pass
// unanswered the breaches are recorded on the conversation, counted in
// the service report and exposed on /metrics as
// switchboard_sla_breaches_total{channel,target}.
func TestEndToEndSLABreaches(t *testing.T) {
	eachStore(t, func(t *testing.T, sc string) {
		p := start(t, writeConfig(t, sc, "sla:\n  - name: fast\n    first_response: 1s\n    resolution: 1s\n"), freeAddr(t))
		p.post(t, "crm", map[string]any{"external_id": "s1", "sender": map[string]string{"email": "rae@example.com"}, "text": "first"})
		time.Sleep(1100 * time.Millisecond) // due a second apart
		p.post(t, "crm", map[string]any{"external_id": "s2", "sender": map[string]string{"email": "sam@example.com"}, "text": "second"})
		type conv struct {
			ID  string `json:"id"`
			SLA *struct {
				Policy   string    `json:"policy"`
				Due      time.Time `json:"due"`
				Breached []string  `json:"breached"`
			} `json:"sla"`
		}
		var list struct {
			Conversations []conv `json:"conversations"`
		}
		waitFor(t, "both conversations by due time", 10*time.Second, func() bool {
			call(t, "GET", p.base+"/api/v1/conversations?sort=sla_due", adminToken, nil, &list)
			return len(list.Conversations) == 2
		})
		first, second := list.Conversations[0], list.Conversations[1]
		if first.SLA == nil || second.SLA == nil || first.SLA.Policy != "fast" || !first.SLA.Due.Before(second.SLA.Due) {
			t.Fatalf("by due time: %+v", list.Conversations)
		}
		if es := p.csatTimeline(t, "email:rae@example.com"); len(es) != 1 || es[0].ConversationID != first.ID {
			t.Fatalf("rae's conversation is not listed first: %+v, first %s", es, first.ID)
		}
		// Nobody answers: the breaches count when the due times pass
		// (the hub looks every 10 s).
		var metrics string
		waitFor(t, "the breaches on /metrics", 30*time.Second, func() bool {
			_, metrics = getMetrics(t, p.base+"/metrics", adminToken)
			return strings.Contains(metrics, `switchboard_sla_breaches_total{channel="crm",target="first_response"} 2`) &&
				strings.Contains(metrics, `switchboard_sla_breaches_total{channel="crm",target="resolution"} 2`)
		})
		var c conv
		call(t, "GET", p.base+"/api/v1/conversations/"+first.ID, adminToken, nil, &c)
		if c.SLA == nil || len(c.SLA.Breached) != 2 {
			t.Fatalf("conversation after its due times: %+v", c.SLA)
		}
		var rep struct {
			Rows []struct {
				Key           string `json:"key"`
				Conversations int    `json:"conversations"`
				SLABreaches   struct {
					FirstResponse int `json:"first_response"`
					Resolution    int `json:"resolution"`
				} `json:"sla_breaches"`
			} `json:"rows"`
		}
		waitFor(t, "the breaches in the report", 10*time.Second, func() bool {
			call(t, "GET", p.base+"/api/v1/reports/service?group_by=channel", adminToken, nil, &rep)
			for _, r := range rep.Rows {
				if r.Key == "crm" {
					return r.Conversations == 2 && r.SLABreaches.FirstResponse == 2 && r.SLABreaches.Resolution == 2
				}
			}
			return false
		})
	})
}
