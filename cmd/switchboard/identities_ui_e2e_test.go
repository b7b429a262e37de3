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

// Issue 22, the agent's identity corrections in the customer panel, in a
// real browser against the real binary, on both stores: alice adds a phone
// number as verified (with a reason, read in identity.default_region),
// sees it listed and the event on the timeline, then removes it; then adds
// an address and moves it to another customer (found by a pasted customer
// id, then by the other customer's email). The API agrees at every step.
func TestUICustomerPanelIdentities(t *testing.T) {
	br := startBrowser(t)
	h, err := bcrypt.GenerateFromPassword([]byte(uiAlicePW), 10)
	if err != nil {
		t.Fatal(err)
	}
	t.Setenv("SWITCHBOARD_AGENTS_1_PASSWORD_HASH", string(h)) // agents[1] is alice
	for _, backend := range []struct {
		name  string
		store func(*testing.T) string
	}{{"embedded", embeddedStore}, {"redis", redisStore}} {
		t.Run(backend.name, func(t *testing.T) {
			addr := freeAddr(t)
			base := "http://" + addr
			p := start(t, writeConfig(t, backend.store(t), ""), addr)
			email := fmt.Sprintf("ivy-%s-%d@example.com", backend.name, time.Now().UnixNano())
			if code, _ := p.post(t, "crm", map[string]any{"external_id": "ivy-1", "sender": map[string]string{"email": email, "name": "Ivy Identity"},
				"text": "Please call me instead."}); code != 202 {
				t.Fatalf("api post: %d", code)
			}
			var ivy customer
			waitFor(t, "Ivy on a timeline", 15*time.Second, func() bool {
				var code int
				ivy, code = p.find(t, "email:"+email)
				return code == 200
			})

			ctx := "alice-" + backend.name
			br.signIn(ctx, base, "alice", uiAlicePW)
			br.do(ctx, "click", map[string]any{"selector": `#f-view [data-view="all"]`})
			br.do(ctx, "waitText", map[string]any{"selector": "#conv-list .item .who", "text": "Ivy Identity"})
			br.do(ctx, "click", map[string]any{"selector": "#conv-list .item"})
			br.do(ctx, "waitText", map[string]any{"selector": "#conv-name", "text": "Ivy Identity"})
			br.do(ctx, "waitText", map[string]any{"selector": "#cust-ids li", "text": email})

			// A verified identity needs a reason: the form says so, nothing is added.
			br.do(ctx, "select", map[string]any{"selector": "#cust-id-type", "value": "phone"})
			br.do(ctx, "fill", map[string]any{"selector": "#cust-id-value", "value": "040 765 4321"})
			br.do(ctx, "click", map[string]any{"selector": "#cust-id-verified"})
			br.do(ctx, "click", map[string]any{"selector": "#cust-id-add"})
			br.do(ctx, "waitText", map[string]any{"selector": "#cust-id-error", "text": "needs a reason"})
			if _, code := p.find(t, "phone:+358407654321"); code != 404 {
				t.Fatalf("a verified phone without a reason was added: lookup %d", code)
			}
			br.do(ctx, "fill", map[string]any{"selector": "#cust-id-reason", "value": "checked on the phone"})
			br.do(ctx, "click", map[string]any{"selector": "#cust-id-add"})
			br.do(ctx, "waitText", map[string]any{"selector": "#cust-ids li", "text": "+358407654321"})
			ids := strings.Join(br.strings(ctx, "texts", map[string]any{"selector": "#cust-ids li"}), "\n")
			if !strings.Contains(ids, "+358407654321✓ verified") && !strings.Contains(ids, "+358407654321 ✓ verified") {
				t.Fatalf("identities shown after the add:\n%s", ids)
			}
			if c, code := p.find(t, "phone:+358407654321"); code != 200 || c.ID != ivy.ID {
				t.Fatalf("lookup of the added phone: %d %s, want %s", code, c.ID, ivy.ID)
			}
			br.do(ctx, "waitText", map[string]any{"selector": "#tl-entries .entry", "text": "added phone:+358407654321 as verified: checked on the phone"})
			br.do(ctx, "screenshot", map[string]any{"path": filepath.Join(artifactsDir(t, "ui"), "identity-added-"+backend.name+".png")})

			// Remove it again.
			br.do(ctx, "click", map[string]any{"selector": `#cust-ids .id-remove[data-key="phone:+358407654321"]`})
			br.do(ctx, "waitText", map[string]any{"selector": "#tl-entries .entry", "text": "removed phone …21"})
			// The timeline's live event can arrive before the customer
			// panel has reloaded its identities: wait for the row to go.
			br.do(ctx, "waitFor", map[string]any{"selector": `#cust-ids .id-remove[data-key="phone:+358407654321"]`, "state": "detached"})
			if ids := strings.Join(br.strings(ctx, "texts", map[string]any{"selector": "#cust-ids li"}), "\n"); strings.Contains(ids, "+358407654321") || !strings.Contains(ids, email) {
				t.Fatalf("identities shown after the removal:\n%s", ids)
			}
			if _, code := p.find(t, "phone:+358407654321"); code != 404 {
				t.Fatalf("lookup of the removed phone: %d, want 404", code)
			}

			// Move an identity to another customer (Bo), found first by a
			// pasted customer id, then by one of Bo's identities.
			boEmail := fmt.Sprintf("bo-%s-%d@example.com", backend.name, time.Now().UnixNano())
			if code, _ := p.post(t, "crm", map[string]any{"external_id": "bo-1", "sender": map[string]string{"email": boEmail, "name": "Bo Target"},
				"text": "Hello from Bo."}); code != 202 {
				t.Fatalf("api post: %d", code)
			}
			var bo customer
			waitFor(t, "Bo on a timeline", 15*time.Second, func() bool {
				var code int
				bo, code = p.find(t, "email:"+boEmail)
				return code == 200
			})
			work := "work-" + email
			br.do(ctx, "select", map[string]any{"selector": "#cust-id-type", "value": "email"})
			br.do(ctx, "fill", map[string]any{"selector": "#cust-id-value", "value": work})
			br.do(ctx, "click", map[string]any{"selector": "#cust-id-add"})
			br.do(ctx, "waitText", map[string]any{"selector": "#cust-ids li", "text": work})
			br.do(ctx, "click", map[string]any{"selector": `#cust-ids .id-move[data-key="email:` + work + `"]`})
			br.do(ctx, "waitText", map[string]any{"selector": "#cust-move-what", "text": "Move email " + work})
			br.do(ctx, "fill", map[string]any{"selector": "#cust-move-target", "value": "nobody-" + boEmail})
			br.do(ctx, "click", map[string]any{"selector": "#cust-move-find"})
			br.do(ctx, "waitText", map[string]any{"selector": "#cust-move-error", "text": "No customer found"})
			br.do(ctx, "fill", map[string]any{"selector": "#cust-move-target", "value": ivy.ID})
			br.do(ctx, "click", map[string]any{"selector": "#cust-move-find"})
			br.do(ctx, "waitText", map[string]any{"selector": "#cust-move-error", "text": "That is this customer"})
			br.do(ctx, "fill", map[string]any{"selector": "#cust-move-target", "value": bo.ID})
			br.do(ctx, "click", map[string]any{"selector": "#cust-move-find"})
			br.do(ctx, "waitText", map[string]any{"selector": "#cust-move-found", "text": "To Bo Target (" + bo.ID + "): email:" + boEmail})
			br.do(ctx, "fill", map[string]any{"selector": "#cust-move-target", "value": boEmail})
			if found := br.strings(ctx, "texts", map[string]any{"selector": "#cust-move-found"}); len(found) != 1 || found[0] != "" {
				t.Fatalf("the target shown after the text changed: %q", found)
			}
			br.do(ctx, "press", map[string]any{"key": "Enter"}) // Enter in the target field finds
			br.do(ctx, "waitText", map[string]any{"selector": "#cust-move-found", "text": "To Bo Target (" + bo.ID + ")"})
			br.do(ctx, "fill", map[string]any{"selector": "#cust-move-reason", "value": "Bo's work address"})
			br.do(ctx, "click", map[string]any{"selector": "#cust-move-go"})
			br.do(ctx, "waitText", map[string]any{"selector": "#tl-entries .entry", "text": "moved email:" + work + " to customer " + bo.ID + ": Bo's work address"})
			if ids := strings.Join(br.strings(ctx, "texts", map[string]any{"selector": "#cust-ids li"}), "\n"); strings.Contains(ids, work) || !strings.Contains(ids, email) {
				t.Fatalf("identities shown after the move:\n%s", ids)
			}
			br.do(ctx, "screenshot", map[string]any{"path": filepath.Join(artifactsDir(t, "ui"), "identity-moved-"+backend.name+".png")})
			lists := func(c customer, value string) bool {
				for _, i := range c.Identities {
					if i.Type == "email" && i.Value == value {
						return true
					}
				}
				return false
			}
			var a, b customer
			call(t, "GET", p.base+"/api/v1/customers/"+ivy.ID, adminToken, nil, &a)
			call(t, "GET", p.base+"/api/v1/customers/"+bo.ID, adminToken, nil, &b)
			if lists(a, work) || !lists(a, email) {
				t.Fatalf("Ivy after the move: %+v", a.Identities)
			}
			if !lists(b, work) || !lists(b, boEmail) {
				t.Fatalf("Bo after the move: %+v", b.Identities)
			}
			if c, code := p.find(t, "email:"+work); code != 200 || c.ID != bo.ID {
				t.Fatalf("lookup of the moved email: %d %s, want %s", code, c.ID, bo.ID)
			}
			var boTimeline []string
			for _, e := range p.timeline(t, bo.ID) {
				boTimeline = append(boTimeline, e.Text)
			}
			if !slices.Contains(boTimeline, "alice moved email:"+work+" here from customer "+ivy.ID+": Bo's work address") {
				t.Fatalf("Bo's timeline after the move: %q", boTimeline)
			}

			var audit struct {
				Audit []struct{ Action, Actor string }
			}
			call(t, "GET", p.base+"/api/v1/audit?limit=50", adminToken, nil, &audit)
			var got []string
			for _, a := range audit.Audit {
				if strings.HasPrefix(a.Action, "customer.identity.") {
					got = append(got, a.Actor+" "+a.Action)
				}
			}
			if strings.Join(got, ",") != "alice customer.identity.move,alice customer.identity.add,alice customer.identity.remove,alice customer.identity.add" {
				t.Fatalf("identity audit records %q", got)
			}
		})
	}
}
