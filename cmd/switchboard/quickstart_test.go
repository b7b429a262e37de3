package main_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestQuickstart follows the README's tour: the shipped quick-start config,
// the bootstrap token, two messages for one person from two directions.
func TestQuickstart(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("SWITCHBOARD_STORE_EMBEDDED_PATH", filepath.Join(dir, "data"))
	p := start(t, filepath.Join("..", "..", "examples", "quickstart.yaml"), freeAddr(t))
	b, err := os.ReadFile(filepath.Join(dir, "data", "admin-token"))
	if err != nil {
		t.Fatalf("bootstrap token: %v", err)
	}
	tok := strings.TrimSpace(string(b))
	for _, m := range []map[string]any{
		{"external_id": "order-1", "sender": map[string]string{"email": "ada@example.com", "name": "Ada"}, "text": "Where is my order?"},
		{"external_id": "sms-1", "sender": map[string]string{"phone": "+358401112223"}, "text": "Any news?"},
		{"external_id": "crm-7", "sender": map[string]string{"email": "ada@example.com", "phone": "+358401112223"}, "text": "Ada updated her phone number"},
	} {
		var out struct{ ID string }
		if code := call(t, "POST", p.base+"/api/v1/channels/crm/messages", tok, m, &out); code != 202 {
			t.Fatalf("post: %d", code)
		}
		time.Sleep(20 * time.Millisecond) // distinct arrival times, so the order is well defined
	}
	var c customer
	waitFor(t, "one customer with three entries", 10*time.Second, func() bool {
		code := call(t, "GET", p.base+"/api/v1/customers?identity=phone:%2B358401112223", tok, nil, &c)
		return code == 200 && len(p.timelineWith(t, c.ID, tok)) == 3
	})
	if c.Name != "Ada" || len(c.Identities) != 2 {
		t.Fatalf("customer = %+v", c)
	}
}

func (p *proc) timelineWith(t *testing.T, id, tok string) []map[string]any {
	var page struct {
		Entries []map[string]any `json:"entries"`
	}
	call(t, "GET", p.base+"/api/v1/customers/"+id+"/timeline", tok, nil, &page)
	return page.Entries
}
