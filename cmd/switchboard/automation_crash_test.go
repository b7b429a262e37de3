package main_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestRulesUnderSIGKILL (issue 24), on both stores: while messages matching a rule pour
// into the real binary, it is killed with SIGKILL and restarted, twice.
// Every accepted message ends with the rule's effect and exactly one
// record of it: one rule event on the timeline per message, one rule.run
// audit record per message, and every conversation labelled.
func TestRulesUnderSIGKILL(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test; not in -short")
	}
	eachStore(t, func(t *testing.T, sc string) {
		cfg := writeConfig(t, sc, "")
		addr := freeAddr(t)
		p := start(t, cfg, addr)
		base := "http://" + addr
		if code := call(t, "POST", base+"/api/v1/labels", adminToken, map[string]any{"name": "billing"}, nil); code != 200 {
			t.Fatalf("label: %d", code)
		}
		if code := call(t, "POST", base+"/api/v1/rules", adminToken, map[string]any{"id": "lasku", "name": "Invoices", "event": "message.received", "enabled": true,
			"conditions": []map[string]any{{"type": "text_contains", "value": "lasku"}},
			"actions":    []map[string]any{{"type": "add_label", "value": "billing"}}}, nil); code != 200 {
			t.Fatalf("rule: %d", code)
		}
		const customers = 10
		p, accepted := postThroughKills(t, p, cfg, addr, "lasku-", "kill", customers)
		t.Logf("%d messages accepted, 2 kills", len(accepted))
		if len(accepted) < 50 {
			t.Fatalf("only %d messages accepted", len(accepted))
		}
		var last string
		waitFor(t, "every accepted message with its rule run once", 120*time.Second, func() bool {
			msgs, events := map[string]int{}, 0
			for i := 0; i < customers; i++ {
				c, code := p.find(t, fmt.Sprintf("email:kill%d@example.com", i))
				if code != 200 {
					continue
				}
				for _, e := range p.timeline(t, c.ID) {
					switch {
					case strings.HasPrefix(e.Text, "lasku-"):
						msgs[e.Text]++
					case strings.HasPrefix(e.Text, `Rule "Invoices"`):
						events++
					}
				}
			}
			missing := 0
			for ext := range accepted {
				if msgs[ext] == 0 {
					missing++
				}
			}
			runs := auditCount(t, base, "rule.run")
			last = fmt.Sprintf("%d accepted, %d missing, %d messages stored, %d rule events, %d rule.run records", len(accepted), missing, len(msgs), events, runs)
			return missing == 0 && events == len(msgs) && runs == len(msgs)
		})
		t.Log(last)
		countConvs := func(q string) int {
			total, before := 0, ""
			for {
				var page struct {
					Conversations []struct{ ID string } `json:"conversations"`
					Next          string                `json:"next"`
				}
				call(t, "GET", base+"/api/v1/conversations?limit=500"+q+"&before="+url.QueryEscape(before), adminToken, nil, &page)
				total += len(page.Conversations)
				if page.Next == "" {
					return total
				}
				before = page.Next
			}
		}
		all, labelled := countConvs(""), countConvs("&label=billing")
		if all < len(accepted) || labelled != all {
			t.Fatalf("%d conversations (one per accepted message's thread: %d), %d labelled billing: want all", all, len(accepted), labelled)
		}
	})
}

// postThroughKills posts to the crm api channel from 4 senders for three
// rounds, SIGKILLing the hub p at the end of the first two and starting it
// again; message i is EXTi (its external id, thread and text) from
// EMAILi%customers@example.com. It returns the running hub and the
// external ids that were accepted (202).
func postThroughKills(t *testing.T, p *proc, cfg, addr, ext, email string, customers int) (*proc, map[string]bool) {
	t.Helper()
	base := "http://" + addr
	client := &http.Client{Timeout: 5 * time.Second}
	var mu sync.Mutex
	accepted := map[string]bool{}
	n := 0
	send := func() {
		mu.Lock()
		n++
		i := n
		mu.Unlock()
		id := fmt.Sprintf("%s%d", ext, i)
		body, _ := json.Marshal(map[string]any{"external_id": id, "thread_id": id, "text": id,
			"sender": map[string]string{"email": fmt.Sprintf("%s%d@example.com", email, i%customers)}})
		req, _ := http.NewRequest("POST", base+"/api/v1/channels/crm/messages", bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+adminToken)
		resp, err := client.Do(req)
		if err != nil {
			return
		}
		resp.Body.Close()
		if resp.StatusCode == 202 {
			mu.Lock()
			accepted[id] = true
			mu.Unlock()
		}
	}
	for round := 0; round < 3; round++ {
		stop := make(chan struct{})
		var wg sync.WaitGroup
		for w := 0; w < 4; w++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for {
					select {
					case <-stop:
						return
					default:
						send()
					}
				}
			}()
		}
		time.Sleep(time.Duration(400+300*round) * time.Millisecond)
		if round < 2 {
			p.kill() // SIGKILL
		}
		close(stop)
		wg.Wait()
		if round < 2 {
			p = start(t, cfg, addr)
		}
	}
	return p, accepted
}

// auditCount is how many audit records with action the hub at base holds,
// read page by page.
func auditCount(t *testing.T, base, action string) int {
	t.Helper()
	runs, cursor := 0, ""
	for {
		var page struct {
			Audit []struct{ Action string } `json:"audit"`
			Next  string                    `json:"next"`
		}
		call(t, "GET", base+"/api/v1/audit?action="+url.QueryEscape(action)+"&limit=500&cursor="+url.QueryEscape(cursor), adminToken, nil, &page)
		runs += len(page.Audit)
		if page.Next == "" {
			return runs
		}
		cursor = page.Next
	}
}
