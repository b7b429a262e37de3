package main_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/bcrypt"
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
		// The answer is in the service report, once.
		var rep struct {
			Rows []struct {
				Key  string `json:"key"`
				CSAT struct {
					Responses     int64   `json:"responses"`
					Score         float64 `json:"score"`
					PositiveShare float64 `json:"positive_share"`
				} `json:"csat"`
			} `json:"rows"`
		}
		waitFor(t, "the answer in the report", 10*time.Second, func() bool {
			call(t, "GET", p.base+"/api/v1/reports/service?group_by=channel", adminToken, nil, &rep)
			for _, r := range rep.Rows {
				if r.Key == "sms" && r.CSAT.Responses > 0 {
					return true
				}
			}
			return false
		})
		for _, r := range rep.Rows {
			if r.Key == "sms" && (r.CSAT.Responses != 1 || r.CSAT.Score != 4 || r.CSAT.PositiveShare != 1) {
				t.Fatalf("report row %+v, want one answer scoring 4", r)
			}
		}
	})
}

// slackClick posts a signed block_actions interaction (sig overrides the
// signature).
func slackClick(t *testing.T, hubURL, value, actionTS, sig string) int {
	t.Helper()
	payload, _ := json.Marshal(map[string]any{"type": "block_actions", "team": map[string]string{"id": e2eSlackTeam},
		"user":      map[string]string{"id": "U0E2ELEO1", "name": "leo"},
		"container": map[string]string{"type": "message", "channel_id": "C0E2ESUPP", "message_ts": "1770000000.000002", "thread_ts": "1767261600.000100"},
		"actions":   []map[string]string{{"action_id": "choice-" + value, "value": value, "action_ts": actionTS, "type": "button"}}})
	body := []byte(url.Values{"payload": {string(payload)}}.Encode())
	ts := time.Now().Unix()
	if sig == "" {
		m := hmac.New(sha256.New, []byte(e2eSlackSecret))
		fmt.Fprintf(m, "v0:%d:%s", ts, body)
		sig = "v0=" + hex.EncodeToString(m.Sum(nil))
	}
	req, _ := http.NewRequest("POST", hubURL+"/webhooks/slack/slack-support/interactivity", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Slack-Request-Timestamp", strconv.FormatInt(ts, 10))
	req.Header.Set("X-Slack-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestEndToEndSlackSurvey: on Slack the survey is a message with buttons
// (chat.postMessage to slack-go's slacktest server); a click arrives as a
// signed interactivity request and becomes the csat entry; a click with a
// bad signature is 401 and records nothing.
func TestEndToEndSlackSurvey(t *testing.T) {
	eachStore(t, func(t *testing.T, sc string) {
		peer := newSlackPeer(t)
		tokenFile := filepath.Join(t.TempDir(), "slack-bot-token")
		os.WriteFile(tokenFile, []byte(e2eSlackToken+"\n"), 0o600)
		extra := fmt.Sprintf(`  - name: slack-support
    type: slack
    phase: live
    slack:
      bot_token_file: %s
      signing_secret: %s
      api_url: %s
    csat:
      enabled: true
      delay: 0s
`, tokenFile, e2eSlackSecret, peer.GetAPIURL())
		p := start(t, writeConfig(t, sc, extra), freeAddr(t))
		if code := slackEvent(t, p.base, slackMessage("Ev0CSAT1", "1767261600.000100", "", "the dashboard is empty"), "", 0); code != 200 {
			t.Fatalf("event: %d", code)
		}
		leo := "slack:" + e2eSlackTeam + ":U0E2ELEO1"
		var es []csatEntry
		waitFor(t, "the Slack message", 10*time.Second, func() bool { es = p.csatTimeline(t, leo); return len(es) == 1 })
		conv := es[0].ConversationID
		if code := call(t, "POST", p.base+"/api/v1/conversations/"+conv+"/messages", agentToken, map[string]string{"text": "Fixed."}, nil); code != 202 {
			t.Fatalf("reply: %d", code)
		}
		if code := call(t, "PATCH", p.base+"/api/v1/conversations/"+conv, agentToken, map[string]string{"status": "resolved"}, nil); code != 200 {
			t.Fatalf("resolve: %d", code)
		}
		waitFor(t, "the survey posted", 20*time.Second, func() bool { return len(peer.posted()) == 2 })
		survey := peer.posted()[1]
		if b := survey.Get("blocks"); !strings.Contains(b, `"action_id":"choice-5"`) || !strings.Contains(b, `"action_id":"choice-1"`) ||
			survey.Get("thread_ts") != "1767261600.000100" {
			t.Fatalf("survey post %v, want buttons choice-1..choice-5 in the thread", survey)
		}
		if code := slackClick(t, p.base, "1", slackTS(time.Now()), "v0="+strings.Repeat("0", 64)); code != 401 {
			t.Fatalf("forged click: %d, want 401", code)
		}
		if code := slackClick(t, p.base, "5", slackTS(time.Now()), ""); code != 200 {
			t.Fatalf("click: %d", code)
		}
		var answer csatEntry
		deadline := time.Now().Add(10 * time.Second)
		for answer.ID == "" && time.Now().Before(deadline) {
			for _, e := range p.csatTimeline(t, leo) {
				if e.Kind == "csat" {
					answer = e
				}
			}
			time.Sleep(100 * time.Millisecond)
		}
		if answer.ID == "" {
			t.Logf("timeline: %+v", p.csatTimeline(t, leo))
		}
		if answer.CSAT == nil || answer.CSAT.Score != 5 || answer.ConversationID != conv {
			t.Fatalf("answer %+v", answer)
		}
		time.Sleep(300 * time.Millisecond)
		n := 0
		for _, e := range p.csatTimeline(t, leo) {
			if e.Kind == "csat" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("%d answers, want 1 (the forged click recorded nothing)", n)
		}
	})
}

func slackTS(t time.Time) string { return fmt.Sprintf("%d.%06d", t.Unix(), t.Nanosecond()/1000) }

// TestSurveyAnswerInTheInboxUI: an agent in Chromium opens the resolved
// conversation and sees the customer's score and comment on its timeline.
func TestSurveyAnswerInTheInboxUI(t *testing.T) {
	br := startBrowser(t)
	mock := twilioMockURL(t)
	addr := freeAddr(t)
	h, err := bcrypt.GenerateFromPassword([]byte(uiAlicePW), 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SWITCHBOARD_AGENTS_1_PASSWORD_HASH", string(h)) // agents[1] is alice
	yaml := smsChannelYAML("http://"+addr, mock) + "    csat:\n      enabled: true\n      delay: 0s\n"
	p := start(t, writeConfig(t, embeddedStore(t), yaml), addr)
	const ann = "+14155550188"
	wh := "/webhooks/twilio/sms"
	p.smsPost(t, wh, smsMessage(201, ann, "My invoice is wrong"), "")
	var es []csatEntry
	waitFor(t, "the SMS", 10*time.Second, func() bool { es = p.csatTimeline(t, "phone:"+ann); return len(es) == 1 })
	conv := es[0].ConversationID
	call(t, "POST", p.base+"/api/v1/conversations/"+conv+"/messages", agentToken, map[string]string{"text": "Corrected."}, nil)
	call(t, "PATCH", p.base+"/api/v1/conversations/"+conv, agentToken, map[string]string{"status": "resolved"}, nil)
	waitFor(t, "the survey", 20*time.Second, func() bool { return len(p.csatTimeline(t, "phone:"+ann)) == 3 })
	p.smsPost(t, wh, smsMessage(202, ann, "2 took three calls"), "")
	waitFor(t, "the answer", 10*time.Second, func() bool { return len(p.csatTimeline(t, "phone:"+ann)) == 4 })

	br.signIn("alice", p.base, "alice", uiAlicePW)
	br.do("alice", "click", map[string]any{"selector": `#f-view [data-view="all"]`}) // the first view is Unassigned
	br.do("alice", "select", map[string]any{"selector": "#f-status", "value": "resolved"})
	br.do("alice", "click", map[string]any{"selector": `#conv-list li[data-id="` + conv + `"]`, "timeout": 15000})
	br.do("alice", "waitFor", map[string]any{"selector": "#tl-entries .entry.csat"})
	got := br.strings("alice", "texts", map[string]any{"selector": "#tl-entries .entry.csat"})
	br.do("alice", "screenshot", map[string]any{"path": filepath.Join(artifactsDir(t, "ui"), "csat-answer.png")})
	if len(got) != 1 || !strings.Contains(got[0], "★★☆☆☆ 2/5") || !strings.Contains(got[0], "took three calls") {
		t.Fatalf("csat entry in the UI: %q", got)
	}
}
