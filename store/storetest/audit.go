package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// auditFixture appends 12 records, one a minute from epoch: actors alice
// and bob in turn, actions conversation.assign / conversation.status /
// customer.merge in turn, customers c0..c3 (as Target, or as Customer
// with a conversation as Target).
func auditFixture(t *testing.T, e *env) []store.AuditRecord {
	t.Helper()
	var recs []store.AuditRecord
	actions := []string{"conversation.assign", "conversation.status", "customer.merge"}
	for i := range 12 {
		r := store.AuditRecord{At: epoch.Add(time.Duration(i) * time.Minute), Actor: []string{"alice", "bob"}[i%2],
			Action: actions[i%3], Target: fmt.Sprintf("c%d", i%4)}
		if i%3 != 2 {
			r.Target, r.Customer = fmt.Sprintf("conv-%d", i), fmt.Sprintf("c%d", i%4)
		}
		must(t, e.s.AppendAudit(e.ctx, r), "AppendAudit %d", i)
		recs = append(recs, r)
	}
	return recs
}

// queryAll follows Next to the end and returns the minutes (record index)
// of every record, in the order returned.
func queryAll(t *testing.T, e *env, q store.AuditQuery) []int {
	t.Helper()
	var got []int
	for pages := 0; ; pages++ {
		if pages > 50 {
			t.Fatalf("QueryAudit(%+v): more than 50 pages", q)
		}
		p, err := e.s.QueryAudit(e.ctx, q)
		must(t, err, "QueryAudit(%+v)", q)
		if len(p.Records) > q.PageLimit() {
			t.Fatalf("QueryAudit(%+v) returned %d records, over the limit", q, len(p.Records))
		}
		for _, r := range p.Records {
			got = append(got, int(r.At.Sub(epoch)/time.Minute))
		}
		if p.Next == "" {
			return got
		}
		q.Cursor = p.Next
	}
}

func testAuditQuery(t *testing.T, f Factory) {
	e := newEnv(t, f)
	auditFixture(t, e)
	for _, c := range []struct {
		name string
		q    store.AuditQuery
		want []int
	}{
		{"all, pages of 5", store.AuditQuery{Limit: 5}, []int{11, 10, 9, 8, 7, 6, 5, 4, 3, 2, 1, 0}},
		{"actor", store.AuditQuery{Actor: "bob", Limit: 2}, []int{11, 9, 7, 5, 3, 1}},
		{"action exact", store.AuditQuery{Action: "customer.merge"}, []int{11, 8, 5, 2}},
		{"action prefix", store.AuditQuery{Action: "conversation", Limit: 3}, []int{10, 9, 7, 6, 4, 3, 1, 0}},
		{"action is no bare prefix", store.AuditQuery{Action: "conv"}, nil},
		{"customer as target or customer", store.AuditQuery{Customer: "c1"}, []int{9, 5, 1}},
		{"from inclusive, to exclusive", store.AuditQuery{From: epoch.Add(3 * time.Minute), To: epoch.Add(7 * time.Minute), Limit: 2}, []int{6, 5, 4, 3}},
		{"everything at once", store.AuditQuery{Actor: "alice", Action: "conversation", From: epoch.Add(time.Minute), To: epoch.Add(11 * time.Minute)}, []int{10, 6, 4}},
	} {
		got := queryAll(t, e, c.q)
		if fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("%s: got minutes %v, want %v", c.name, got, c.want)
		}
	}
	p, err := e.s.QueryAudit(e.ctx, store.AuditQuery{Limit: 1})
	must(t, err, "QueryAudit(limit 1)")
	if len(p.Records) != 1 || p.Records[0].Target != "c3" || p.Records[0].Action != "customer.merge" || p.Records[0].Actor != "bob" {
		t.Errorf("newest record %+v, want minute 11: bob's customer.merge of c3", p.Records)
	}
	p, err = e.s.QueryAudit(e.ctx, store.AuditQuery{Customer: "c2", Limit: 1})
	must(t, err, "QueryAudit(customer c2)")
	if len(p.Records) != 1 || p.Records[0].Customer != "c2" || p.Records[0].Target != "conv-10" {
		t.Errorf("newest record of c2 %+v, want minute 10: conv-10 of customer c2", p.Records)
	}
	if _, err := e.s.QueryAudit(e.ctx, store.AuditQuery{Cursor: "not a cursor"}); !errors.Is(err, store.ErrBadAuditCursor) {
		t.Errorf("QueryAudit with a forged cursor: %v, want ErrBadAuditCursor", err)
	}
}

func testAuditAppendOnce(t *testing.T, f Factory) {
	e := newEnv(t, f)
	r := store.AuditRecord{ID: "act-1", At: epoch, Actor: "alice", Action: "conversation.assign", Target: "conv-1"}
	for range 3 {
		must(t, e.s.AppendAudit(e.ctx, r), "AppendAudit(act-1)")
	}
	must(t, e.s.AppendAudit(e.ctx, store.AuditRecord{At: epoch, Actor: "alice", Action: "x"}), "AppendAudit without id")
	must(t, e.s.AppendAudit(e.ctx, store.AuditRecord{At: epoch, Actor: "alice", Action: "x"}), "AppendAudit without id")
	p, err := e.s.QueryAudit(e.ctx, store.AuditQuery{})
	must(t, err, "QueryAudit")
	if len(p.Records) != 3 {
		t.Fatalf("%d records, want 3 (a given id is written once, records without one each time): %+v", len(p.Records), p.Records)
	}
}

func testAuditDeleteBefore(t *testing.T, f Factory) {
	e := newEnv(t, f)
	auditFixture(t, e)
	must(t, e.s.AppendAudit(e.ctx, store.AuditRecord{ID: "given", At: epoch.Add(30 * time.Second), Actor: "carol", Action: "x"}), "AppendAudit(given)")
	n, err := e.s.DeleteAuditBefore(e.ctx, epoch.Add(2*time.Minute), 0)
	must(t, err, "DeleteAuditBefore")
	// Minutes 0 and 1 go; on a backend ordered by append, the record given
	// at 0:30 was appended after 11 newer ones and stays until they go.
	if n < 2 {
		t.Errorf("DeleteAuditBefore removed %d records, want at least 2", n)
	}
	got := queryAll(t, e, store.AuditQuery{Actor: "alice"})
	if fmt.Sprint(got) != fmt.Sprint([]int{10, 8, 6, 4, 2}) {
		t.Errorf("alice's records after deleting before 0:02: minutes %v, want [10 8 6 4 2]", got)
	}
	n, err = e.s.DeleteAuditBefore(e.ctx, epoch.Add(time.Hour), 3)
	must(t, err, "DeleteAuditBefore(max 3)")
	if n != 3 {
		t.Errorf("DeleteAuditBefore(max 3) removed %d", n)
	}
	_, err = e.s.DeleteAuditBefore(e.ctx, epoch.Add(time.Hour), 0)
	must(t, err, "DeleteAuditBefore(all)")
	if got := queryAll(t, e, store.AuditQuery{}); len(got) != 0 {
		t.Errorf("records left after deleting everything: %v", got)
	}
	// A given id removed with its record may be written again.
	must(t, e.s.AppendAudit(e.ctx, store.AuditRecord{ID: "given", At: epoch.Add(2 * time.Hour), Actor: "carol", Action: "x"}), "AppendAudit(given) again")
	if got := queryAll(t, e, store.AuditQuery{}); len(got) != 1 {
		t.Errorf("records after re-adding a removed id: %v, want one", got)
	}
}
