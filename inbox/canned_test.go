package inbox_test

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
)

// TestCannedRepliesAPI (issue 19), on both stores: agents keep personal
// canned replies and see the shared ones admins keep; nobody reads or
// touches another agent's personal ones (403), agents cannot write shared
// ones (403); unknown placeholders are refused (400); a list for a
// conversation carries each text rendered for it; every write is audited.
func TestCannedRepliesAPI(t *testing.T) {
	for _, backend := range []string{"embedded", "redis"} {
		t.Run(backend, func(t *testing.T) {
			ctx := context.Background()
			var st store.Store
			e := newUIEnvWith(t, "", func(o *inbox.Options) {
				if backend == "redis" {
					c, prefix := testenv.Redis(t)
					rs := sbredis.New(c, sbredis.Options{Prefix: prefix})
					t.Cleanup(func() { rs.Close() })
					o.Store = rs
				}
				st = o.Store
				o.Credentials = append(o.Credentials, inbox.Credential{Principal: inbox.Principal{Name: "eve", Role: "agent"}, TokenSHA256: inbox.HashToken("eve-token")})
			})
			admin := []string{"Authorization", "Bearer root-token"}
			bot := []string{"Authorization", "Bearer bot-token"}
			eve := []string{"Authorization", "Bearer eve-token"}
			call := func(method, path, body string, want int, hdr []string) map[string]any {
				t.Helper()
				rec := e.do(method, path, body, nil, hdr...)
				if rec.Code != want {
					t.Fatalf("%s %s %s: %d %s, want %d", method, path, body, rec.Code, rec.Body, want)
				}
				var out map[string]any
				json.Unmarshal(rec.Body.Bytes(), &out)
				return out
			}
			list := func(hdr []string, query string) map[string]map[string]any {
				t.Helper()
				out := map[string]map[string]any{}
				for _, x := range call("GET", "/api/v1/canned_replies"+query, "", 200, hdr)["canned_replies"].([]any) {
					r := x.(map[string]any)
					out[r["shortcut"].(string)] = r
				}
				return out
			}

			// Shared replies: admins only.
			shared := call("POST", "/api/v1/canned_replies", `{"shortcut":"hello","title":"Greeting","text":"Hi {{customer.name}}, {{agent.name}} here.","shared":true}`, 201, admin)
			call("POST", "/api/v1/canned_replies", `{"shortcut":"refund","title":"Refund","text":"x","shared":true}`, 403, bot)
			// Personal ones: anyone's own.
			mine := call("POST", "/api/v1/canned_replies", `{"shortcut":"case","title":"Case number","text":"Your case is {{ conversation.id }}."}`, 201, bot)
			if mine["owner"] != "bot" || mine["shared"] != false || !strings.HasPrefix(mine["id"].(string), "cr_") {
				t.Fatalf("personal reply = %v", mine)
			}
			call("POST", "/api/v1/canned_replies", `{"shortcut":"secret","title":"Eve's","text":"only eve"}`, 201, eve)

			// Bad input: clear 400s naming the problem; duplicates 409.
			for body, want := range map[string]string{
				`{"shortcut":"x1","title":"T","text":"Hi {{customer.email}}"}`: "unknown placeholder {{customer.email}}",
				`{"shortcut":"x2","title":"T","text":"Hi {{customer.name"}`:    "without closing",
				`{"shortcut":"Bad Name","title":"T","text":"t"}`:               "shortcut",
				`{"shortcut":"x3","title":"","text":"t"}`:                      "title",
				`{"shortcut":"x4","title":"T","text":" "}`:                     "text",
				`{"shortcut":"x5","title":"T","text":"t","owner":"eve"}`:       "unknown field",
			} {
				out := call("POST", "/api/v1/canned_replies", body, 400, bot)
				if msg, _ := out["message"].(string); !strings.Contains(msg, want) {
					t.Errorf("POST %s: message %q lacks %q", body, msg, want)
				}
			}
			call("POST", "/api/v1/canned_replies", `{"shortcut":"case","title":"Again","text":"t"}`, 409, bot)
			call("POST", "/api/v1/canned_replies", `{"shortcut":"case","title":"Eve's case","text":"t"}`, 201, eve) // another agent's scope

			// Who sees what.
			if l := list(bot, ""); len(l) != 2 || l["hello"]["shared"] != true || l["case"]["owner"] != "bot" {
				t.Fatalf("bot sees %v", l)
			}
			if l := list(eve, ""); len(l) != 3 || l["secret"] == nil || l["case"]["owner"] != "eve" {
				t.Fatalf("eve sees %v", l)
			}
			if l := list(admin, ""); len(l) != 1 || l["hello"] == nil {
				t.Fatalf("admin sees %v (personal replies are their owners' alone)", l)
			}
			id, sharedID := mine["id"].(string), shared["id"].(string)
			call("GET", "/api/v1/canned_replies/"+id, "", 200, bot)
			call("GET", "/api/v1/canned_replies/"+id, "", 403, eve)
			call("PATCH", "/api/v1/canned_replies/"+id, `{"text":"stolen"}`, 403, eve)
			call("DELETE", "/api/v1/canned_replies/"+id, "", 403, eve)
			call("PATCH", "/api/v1/canned_replies/"+id, `{"text":"stolen"}`, 403, admin)
			call("PATCH", "/api/v1/canned_replies/"+sharedID, `{"text":"mine now"}`, 403, bot)
			call("DELETE", "/api/v1/canned_replies/"+sharedID, "", 403, bot)
			call("GET", "/api/v1/canned_replies/cr_nope", "", 404, bot)

			// Edits: validated; the scope stays.
			call("PATCH", "/api/v1/canned_replies/"+id, `{"text":"{{ticket.id}}"}`, 400, bot)
			call("PATCH", "/api/v1/canned_replies/"+id, `{"shared":true}`, 400, bot)
			got := call("PATCH", "/api/v1/canned_replies/"+id, `{"title":"Case","text":"Case {{conversation.id}} for {{customer.name}}."}`, 200, bot)
			if got["title"] != "Case" || got["shortcut"] != "case" || got["owner"] != "bot" {
				t.Fatalf("patched = %v", got)
			}
			call("PATCH", "/api/v1/canned_replies/"+sharedID, `{"title":"Hello"}`, 200, admin)

			// Rendered for a conversation the caller sees.
			now := time.Now()
			if err := st.CreateCustomer(ctx, store.Customer{ID: "cc1", Name: "Mia Virtanen", CreatedAt: now}); err != nil {
				t.Fatal(err)
			}
			if _, _, err := st.OpenConversation(ctx, store.Conversation{ID: "cv1", CustomerID: "cc1", Channel: "crm", ThreadKey: "crm|cv1",
				Status: store.StatusOpen, CreatedAt: now, LastActivity: now}); err != nil {
				t.Fatal(err)
			}
			l := list(bot, "?conversation_id=cv1")
			if l["hello"]["rendered"] != "Hi Mia Virtanen, bot here." || l["case"]["rendered"] != "Case cv1 for Mia Virtanen." {
				t.Fatalf("rendered: %v", l)
			}
			if l["hello"]["text"] != "Hi {{customer.name}}, {{agent.name}} here." {
				t.Fatalf("the stored text changed: %v", l["hello"])
			}
			call("GET", "/api/v1/canned_replies?conversation_id=nope", "", 404, bot)

			// Delete; the audit log has every write, without the texts.
			call("DELETE", "/api/v1/canned_replies/"+id, "", 204, bot)
			call("GET", "/api/v1/canned_replies/"+id, "", 404, bot)
			if l := list(bot, ""); len(l) != 1 {
				t.Fatalf("after delete bot sees %v", l)
			}
			page, err := st.QueryAudit(ctx, store.AuditQuery{Action: "canned", Limit: 100})
			if err != nil {
				t.Fatal(err)
			}
			count := map[string]int{}
			for _, r := range page.Records {
				count[r.Actor+" "+r.Action]++
				if strings.Contains(r.Detail, "Mia") || strings.Contains(r.Detail, "{{") {
					t.Errorf("audit detail holds the text: %+v", r)
				}
			}
			// Refused input (400, 403) is not audited; the duplicate (409)
			// is, as an attempt: its record was written before the store
			// found the clash.
			want := map[string]int{"root canned.create": 1, "bot canned.create": 2, "eve canned.create": 2, "bot canned.update": 1, "root canned.update": 1, "bot canned.delete": 1}
			for k, n := range want {
				if count[k] != n {
					t.Errorf("audit %q: %d records, want %d (all: %v)", k, count[k], n, count)
				}
			}
		})
	}
}
