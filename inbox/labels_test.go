package inbox_test

import (
	"context"
	"encoding/json"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
	"github.com/switchboard-hub/switchboard/timeline"
)

// TestLabelsAndAttributesAPI (issue 24), on both stores: admins keep the
// label list and attribute definitions; agents label conversations (and
// through them customers) and set attributes; unknown labels, attributes
// and bad values answer 400; label= filters the conversation list; the
// export carries the customer's labels and attributes and the erasure
// removes them.
func TestLabelsAndAttributesAPI(t *testing.T) {
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
				o.Conversations = timeline.NewService(st, timeline.Options{})
			})
			admin := []string{"Authorization", "Bearer root-token"}
			agent := []string{"Authorization", "Bearer bot-token"}
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
			// The catalog: admins only, validated.
			call("POST", "/api/v1/labels", `{"name":"billing","color":"#22aa44","description":"Invoices"}`, 403, agent)
			call("POST", "/api/v1/labels", `{"name":"billing","color":"#22aa44","description":"Invoices"}`, 200, admin)
			call("POST", "/api/v1/labels", `{"name":"vip","color":"#ff0000"}`, 200, admin)
			call("POST", "/api/v1/labels", `{"name":"Bad Name"}`, 400, admin)
			call("POST", "/api/v1/labels", `{"name":"x","color":"red"}`, 400, admin)
			call("POST", "/api/v1/attributes", `{"name":"plan","type":"list","on":"customer","options":["free","gold"]}`, 200, admin)
			call("POST", "/api/v1/attributes", `{"name":"customer_no","type":"number","on":"customer"}`, 200, admin)
			call("POST", "/api/v1/attributes", `{"name":"due","type":"date","on":"conversation"}`, 200, admin)
			call("POST", "/api/v1/attributes", `{"name":"x","type":"colour","on":"customer"}`, 400, admin)
			call("POST", "/api/v1/attributes", `{"name":"x","type":"list","on":"customer"}`, 400, admin)
			ls := call("GET", "/api/v1/labels", "", 200, agent)["labels"].([]any)
			if len(ls) != 2 || ls[0].(map[string]any)["name"] != "billing" || ls[0].(map[string]any)["color"] != "#22aa44" {
				t.Fatalf("label list = %v", ls)
			}
			if as := call("GET", "/api/v1/attributes", "", 200, agent)["attributes"].([]any); len(as) != 3 {
				t.Fatalf("attribute list = %v", as)
			}

			res, err := identity.NewResolver(st, store.SystemClock, nil, nil).Resolve(ctx, connectors.Message{ID: "crm:m1", Channel: "crm",
				Identities: []connectors.Identity{{Type: connectors.Email, Value: "lea@example.com", Verified: true}}, ReceivedAt: time.Now()})
			if err != nil {
				t.Fatal(err)
			}
			for _, id := range []string{"lv1", "lv2"} {
				if _, _, err := st.OpenConversation(ctx, store.Conversation{ID: id, CustomerID: res.Customer, Channel: "crm", ThreadKey: "crm|" + id,
					Status: store.StatusOpen, CreatedAt: time.Now(), LastActivity: time.Now()}); err != nil {
					t.Fatal(err)
				}
			}
			call("POST", "/api/v1/conversations/lv1/labels", `{"add":["nope"]}`, 400, agent)
			c := call("POST", "/api/v1/conversations/lv1/labels", `{"add":["vip","billing"],"customer":true}`, 200, agent)
			if got := c["labels"].([]any); len(got) != 2 || got[0] != "billing" || got[1] != "vip" {
				t.Fatalf("conversation labels = %v", got)
			}
			c = call("POST", "/api/v1/conversations/lv1/labels", `{"remove":["billing"]}`, 200, agent)
			if got := c["labels"].([]any); len(got) != 1 || got[0] != "vip" {
				t.Fatalf("conversation labels after a removal = %v", got)
			}
			// label= matches the conversation's labels or its customer's:
			// lv2 has none, its customer (marked through lv1) has vip.
			ids := func(path string) []string {
				var out []string
				for _, c := range call("GET", path, "", 200, admin)["conversations"].([]any) {
					out = append(out, c.(map[string]any)["id"].(string))
				}
				slices.Sort(out)
				return out
			}
			if got := ids("/api/v1/conversations?label=vip"); !slices.Equal(got, []string{"lv1", "lv2"}) {
				t.Fatalf("label=vip listed %v, want lv1 (its label) and lv2 (its customer's)", got)
			}
			if got := ids("/api/v1/conversations?label=billing"); !slices.Equal(got, []string{"lv1", "lv2"}) {
				t.Fatalf("label=billing listed %v, want lv1 and lv2 (the customer's label)", got)
			}
			call("POST", "/api/v1/customers/"+res.Customer+"/labels", `{"remove":["billing"]}`, 200, agent)
			if got := ids("/api/v1/conversations?label=billing"); len(got) != 0 {
				t.Fatalf("label=billing after the customer lost it listed %v, want none", got)
			}
			call("POST", "/api/v1/customers/"+res.Customer+"/labels", `{"add":["billing"]}`, 200, agent)
			call("PATCH", "/api/v1/conversations/lv1/attributes", `{"due":"tomorrow"}`, 400, agent)
			call("PATCH", "/api/v1/conversations/lv1/attributes", `{"plan":"gold"}`, 400, agent) // a customer attribute
			c = call("PATCH", "/api/v1/conversations/lv1/attributes", `{"due":"2026-12-24"}`, 200, agent)
			if c["attributes"].(map[string]any)["due"] != "2026-12-24" {
				t.Fatalf("conversation attributes = %v", c["attributes"])
			}
			call("PATCH", "/api/v1/customers/"+res.Customer+"/attributes", `{"plan":"platinum"}`, 400, agent)
			call("PATCH", "/api/v1/customers/"+res.Customer+"/attributes", `{"customer_no":"12x"}`, 400, agent)
			cu := call("PATCH", "/api/v1/customers/"+res.Customer+"/attributes", `{"plan":"gold","customer_no":"04711"}`, 200, agent)
			if a := cu["attributes"].(map[string]any); a["plan"] != "gold" || a["customer_no"] != "4711" {
				t.Fatalf("customer attributes = %v", a)
			}
			if l := cu["labels"].([]any); len(l) != 2 {
				t.Fatalf("customer labels (marked through the conversation) = %v, want billing and vip", l)
			}
			cu = call("POST", "/api/v1/customers/"+res.Customer+"/labels", `{"remove":["billing"]}`, 200, agent)
			if l := cu["labels"].([]any); len(l) != 1 || l[0] != "vip" {
				t.Fatalf("customer labels = %v", l)
			}
			// The audit log has the changes.
			recs, err := st.ListAudit(ctx, 100)
			if err != nil {
				t.Fatal(err)
			}
			var audited []string
			for _, r := range recs {
				audited = append(audited, r.Action+":"+r.Detail)
			}
			all := strings.Join(audited, "\n")
			for _, want := range []string{"label.put:", "attribute.put:", "+labels=vip,billing", "customer.labels:attributes=customer_no,plan"} {
				if !strings.Contains(all, want) {
					t.Fatalf("audit log lacks %q:\n%s", want, all)
				}
			}

			// Export: the customer's labels and attributes go with them.
			rec := e.do("GET", "/api/v1/customers/"+res.Customer+"/export?format=json", "", nil, admin...)
			if rec.Code != 200 {
				t.Fatalf("export: %d %s", rec.Code, rec.Body)
			}
			body := rec.Body.String()
			for _, want := range []string{`"labels":["vip"]`, `"customer_no":"4711"`, `"plan":"gold"`, `"due":"2026-12-24"`} {
				if !strings.Contains(body, want) {
					t.Fatalf("export lacks %s: %s", want, body)
				}
			}
			// Erasure: gone with the customer.
			if rec := e.do("DELETE", "/api/v1/customers/"+res.Customer, "", nil, admin...); rec.Code != 200 {
				t.Fatalf("erase: %d %s", rec.Code, rec.Body)
			}
			if _, err := st.GetCustomer(ctx, res.Customer); err == nil {
				t.Fatal("the customer's record (labels, attributes) outlived the erasure")
			}
			if list := call("GET", "/api/v1/conversations?label=vip", "", 200, admin)["conversations"].([]any); len(list) != 0 {
				t.Fatalf("label=vip after the erasure listed %v", list)
			}
		})
	}
}
