package main_test

import (
	"net/url"
	"testing"
	"time"
)

// TestEndToEndSearch: the real binary on the embedded store indexes a
// customer's message, an agent's reply and a note as they are processed,
// and GET /api/v1/search finds each, and the customer by email.
func TestEndToEndSearch(t *testing.T) {
	// The reply goes by SMS (the Twilio mock): the api channel only receives.
	mock := twilioMockURL(t)
	addr := freeAddr(t)
	p := start(t, writeConfig(t, embeddedStore(t), smsChannelYAML("http://"+addr, mock)), addr)
	p.post(t, "crm", map[string]any{"external_id": "s1", "sender": map[string]string{"email": "sue@example.com", "phone": "+358401234588"}, "text": "my blender arrived cracked"})
	type result struct {
		Customers []struct{ ID string } `json:"customers"`
		Hits      []struct {
			ID           string `json:"id"`
			Conversation string `json:"conversation_id"`
		} `json:"hits"`
	}
	find := func(q string) result {
		var r result
		call(t, "GET", p.base+"/api/v1/search?q="+url.QueryEscape(q), agentToken, nil, &r)
		return r
	}
	waitFor(t, "the message in search", 10*time.Second, func() bool { return len(find("blender").Hits) == 1 })
	conv := find("blender").Hits[0].Conversation
	if code := call(t, "POST", p.base+"/api/v1/conversations/"+conv+"/messages", agentToken, map[string]string{"text": "a replacement kettle ships today", "channel": "sms"}, nil); code != 202 {
		t.Fatalf("reply: %d", code)
	}
	if code := call(t, "POST", p.base+"/api/v1/conversations/"+conv+"/notes", agentToken, map[string]string{"text": "courier damage claim filed"}, nil); code != 201 {
		t.Fatalf("note: %d", code)
	}
	for _, q := range []string{"kettle", "courier"} {
		if r := find(q); len(r.Hits) != 1 || r.Hits[0].Conversation != conv {
			t.Errorf("%s: %+v", q, r)
		}
	}
	if r := find("SUE@example.com"); len(r.Customers) != 1 {
		t.Errorf("by email: %+v", r)
	}
}
