package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

func conversationTests() []testCase {
	return []testCase{
		{"OpenCreates", testOpenConversation},
		{"OpenSameThread", testOpenSameThread},
		{"OpenExistingID", testOpenExistingID},
		{"OpenConcurrent", testOpenConcurrent},
		{"Update", testUpdateConversation},
		{"UpdateCAS", testUpdateConversationCAS},
		{"ResolveReleasesThread", testResolveReleasesThread},
		{"ReopenConflict", testReopenConflict},
		{"ListFilters", testListConversationFilters},
		{"ListFollowsUpdates", testListFollowsUpdates},
		{"ListPaging", testListConversationPaging},
		{"Delete", testDeleteConversation},
		{"ListBySLADue", testListBySLADue},
	}
}

func checkConversation(t *testing.T, what string, got, want store.Conversation) {
	t.Helper()
	if got.ID != want.ID || got.CustomerID != want.CustomerID || got.Channel != want.Channel ||
		got.ThreadKey != want.ThreadKey || got.Subject != want.Subject || got.Status != want.Status ||
		got.Team != want.Team || got.Assignee != want.Assignee || got.Audience != want.Audience ||
		got.LastMessageID != want.LastMessageID || got.Preview != want.Preview {
		t.Errorf("%s =\n\t%+v\nwant\n\t%+v", what, got, want)
		return
	}
	if !got.LastActivity.Equal(want.LastActivity) {
		t.Errorf("%s: LastActivity = %v, want %v (must round-trip exactly: it orders the inbox)", what, got.LastActivity, want.LastActivity)
	}
	for _, tm := range []struct {
		name      string
		got, want time.Time
	}{
		{"CreatedAt", got.CreatedAt, want.CreatedAt},
		{"SnoozedUntil", got.SnoozedUntil, want.SnoozedUntil},
		{"LastInboundAt", got.LastInboundAt, want.LastInboundAt},
	} {
		if tm.want.IsZero() != tm.got.IsZero() || !closeTime(tm.got, tm.want, time.Millisecond) {
			t.Errorf("%s: %s = %v, want %v", what, tm.name, tm.got, tm.want)
		}
	}
}

func newConv(id, customer, threadKey string, at time.Time) store.Conversation {
	return store.Conversation{
		ID: id, CustomerID: customer, Channel: "sms", ThreadKey: threadKey,
		Subject: "subject " + id, Status: store.StatusOpen,
		LastMessageID: "m_" + id, Preview: "hello from " + id, LastInboundAt: at,
		CreatedAt: at, LastActivity: at,
	}
}

func convIDs(cs []store.Conversation) []string {
	ids := make([]string, len(cs))
	for i, c := range cs {
		ids[i] = c.ID
	}
	return ids
}

func testOpenConversation(t *testing.T, f Factory) {
	e := newEnv(t, f)
	c := newConv("cv1", "cust-1", "sms:+358401234567", epoch)
	c.Team, c.Assignee, c.Audience = "sales", "alice", store.TeamAudience("sales")
	c.SnoozedUntil = epoch.Add(time.Hour)
	got, created, err := e.s.OpenConversation(e.ctx, c)
	must(t, err, "OpenConversation")
	if !created {
		t.Errorf("OpenConversation of a new thread: created = false, want true")
	}
	checkConversation(t, "OpenConversation result", got, c)
	g, err := e.s.GetConversation(e.ctx, "cv1")
	must(t, err, "GetConversation")
	checkConversation(t, "GetConversation", g, c)
	_, err = e.s.GetConversation(e.ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "GetConversation(missing)")
	_, err = e.s.UpdateConversation(e.ctx, "missing", func(c *store.Conversation) error { c.Status = store.StatusPending; return nil })
	wantErr(t, err, store.ErrNotFound, "UpdateConversation(missing)")
}

func testOpenSameThread(t *testing.T, f Factory) {
	e := newEnv(t, f)
	first := newConv("cv1", "cust-1", "sms:thread", epoch)
	_, _, err := e.s.OpenConversation(e.ctx, first)
	must(t, err, "OpenConversation(cv1)")
	second := newConv("cv2", "cust-1", "sms:thread", epoch.Add(time.Minute))
	got, created, err := e.s.OpenConversation(e.ctx, second)
	must(t, err, "OpenConversation(cv2) on the same thread")
	if created {
		t.Errorf("OpenConversation on a thread with an unresolved conversation: created = true, want false")
	}
	checkConversation(t, "OpenConversation(cv2) result", got, first)
	_, err = e.s.GetConversation(e.ctx, "cv2")
	wantErr(t, err, store.ErrNotFound, "GetConversation(cv2): the losing id must not be stored")

	// The thread key is per customer.
	other := newConv("cv3", "cust-2", "sms:thread", epoch.Add(2*time.Minute))
	got, created, err = e.s.OpenConversation(e.ctx, other)
	must(t, err, "OpenConversation(cv3) same thread key, other customer")
	if !created || got.ID != "cv3" {
		t.Errorf("OpenConversation for another customer with the same thread key = %s, created=%v; want cv3 created", got.ID, created)
	}

	// Pending and snoozed conversations are unresolved: they keep the key.
	for _, st := range []string{store.StatusPending, store.StatusSnoozed} {
		_, err = e.s.UpdateConversation(e.ctx, "cv1", func(c *store.Conversation) error { c.Status = st; return nil })
		must(t, err, "UpdateConversation(cv1 -> %s)", st)
		got, created, err = e.s.OpenConversation(e.ctx, newConv("cv4", "cust-1", "sms:thread", epoch.Add(3*time.Minute)))
		must(t, err, "OpenConversation(cv4) with cv1 %s", st)
		if created || got.ID != "cv1" {
			t.Errorf("OpenConversation with cv1 %s = %s, created=%v; want cv1, created=false", st, got.ID, created)
		}
	}
}

func testOpenExistingID(t *testing.T, f Factory) {
	e := newEnv(t, f)
	first := newConv("cv1", "cust-1", "sms:a", epoch)
	_, _, err := e.s.OpenConversation(e.ctx, first)
	must(t, err, "OpenConversation(cv1)")
	// Same id, other thread key (a retry with a deterministic id).
	retry := newConv("cv1", "cust-1", "sms:b", epoch.Add(time.Minute))
	got, created, err := e.s.OpenConversation(e.ctx, retry)
	must(t, err, "OpenConversation with an existing id")
	if created {
		t.Errorf("OpenConversation with an existing id: created = true, want false")
	}
	checkConversation(t, "OpenConversation with an existing id", got, first)
	// The retry must not have taken thread key sms:b.
	fresh := newConv("cv2", "cust-1", "sms:b", epoch.Add(2*time.Minute))
	got, created, err = e.s.OpenConversation(e.ctx, fresh)
	must(t, err, "OpenConversation(cv2, sms:b)")
	if !created || got.ID != "cv2" {
		t.Errorf("OpenConversation(cv2, sms:b) = %s, created=%v; want cv2 created (the id-retry must not take sms:b)", got.ID, created)
	}
	// Same id, resolved: still returned as is.
	_, err = e.s.UpdateConversation(e.ctx, "cv1", func(c *store.Conversation) error { c.Status = store.StatusResolved; return nil })
	must(t, err, "resolve cv1")
	got, created, err = e.s.OpenConversation(e.ctx, first)
	must(t, err, "OpenConversation(cv1) after resolving it")
	if created || got.ID != "cv1" || got.Status != store.StatusResolved {
		t.Errorf("OpenConversation with the id of a resolved conversation = %s (%s), created=%v; want cv1 resolved, created=false", got.ID, got.Status, created)
	}
}

func testOpenConcurrent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	const n = 16
	type result struct {
		id      string
		created bool
		err     error
	}
	res := make([]result, n)
	concurrently(t, n, func(i int) {
		c := newConv(fmt.Sprintf("cv%02d", i), "cust-1", "sms:race", epoch)
		got, created, err := e.s.OpenConversation(e.ctx, c)
		res[i] = result{got.ID, created, err}
	})
	winners, winner := 0, ""
	for i, r := range res {
		if r.err != nil {
			t.Errorf("OpenConversation #%d: %v", i, r.err)
		}
		if r.created {
			winners++
			winner = r.id
		}
	}
	if winners != 1 {
		t.Fatalf("%d concurrent OpenConversation calls: %d created, want exactly 1", n, winners)
	}
	for i, r := range res {
		if r.err == nil && r.id != winner {
			t.Errorf("OpenConversation #%d returned %q, want the winner %q", i, r.id, winner)
		}
	}
	list, _, err := e.s.ListConversations(e.ctx, store.ConversationFilter{CustomerIDs: []string{"cust-1"}, Limit: 100})
	must(t, err, "ListConversations")
	if g := convIDs(list); !sameStrings(g, []string{winner}) {
		t.Errorf("ListConversations after concurrent opens = %v, want only %q", g, winner)
	}
	for i := range n {
		id := fmt.Sprintf("cv%02d", i)
		if id == winner {
			continue
		}
		if _, err := e.s.GetConversation(e.ctx, id); err == nil {
			t.Errorf("GetConversation(%s) found a losing conversation", id)
		}
	}
}

func testUpdateConversation(t *testing.T, f Factory) {
	e := newEnv(t, f)
	c := newConv("cv1", "cust-1", "sms:a", epoch)
	opened, _, err := e.s.OpenConversation(e.ctx, c)
	must(t, err, "OpenConversation")
	later := epoch.Add(time.Hour)
	upd, err := e.s.UpdateConversation(e.ctx, "cv1", func(c *store.Conversation) error {
		if c.ID != "cv1" || c.Status != store.StatusOpen {
			return fmt.Errorf("fn got %s/%s, want cv1/open", c.ID, c.Status)
		}
		c.Status = store.StatusSnoozed
		c.SnoozedUntil = later
		c.Assignee = "bob"
		c.Team = "support"
		c.Preview = "updated"
		c.LastActivity = later
		return nil
	})
	must(t, err, "UpdateConversation")
	want := c
	want.Status, want.SnoozedUntil, want.Assignee, want.Team, want.Preview, want.LastActivity = store.StatusSnoozed, later, "bob", "support", "updated", later
	checkConversation(t, "UpdateConversation result", upd, want)
	if upd.Version <= opened.Version {
		t.Errorf("UpdateConversation: Version %d -> %d, want it incremented", opened.Version, upd.Version)
	}
	got, err := e.s.GetConversation(e.ctx, "cv1")
	must(t, err, "GetConversation")
	checkConversation(t, "GetConversation after update", got, want)

	_, err = e.s.UpdateConversation(e.ctx, "cv1", func(c *store.Conversation) error { c.Status = store.StatusResolved; return errBoom })
	checkAbort(t, err, "UpdateConversation with fn returning an error")
	got, err = e.s.GetConversation(e.ctx, "cv1")
	must(t, err, "GetConversation")
	checkConversation(t, "GetConversation after aborted update", got, want)
	// The aborted resolve must not have released the thread key.
	o, created, err := e.s.OpenConversation(e.ctx, newConv("cv2", "cust-1", "sms:a", later))
	must(t, err, "OpenConversation after aborted resolve")
	if created || o.ID != "cv1" {
		t.Errorf("OpenConversation after an aborted resolve = %s, created=%v; want cv1", o.ID, created)
	}
}

func testUpdateConversationCAS(t *testing.T, f Factory) {
	e := newEnv(t, f)
	_, _, err := e.s.OpenConversation(e.ctx, newConv("cv1", "cust-1", "sms:a", epoch))
	must(t, err, "OpenConversation")
	before, err := e.s.GetConversation(e.ctx, "cv1")
	must(t, err, "GetConversation")
	const n = 16
	errs := make([]error, n)
	concurrently(t, n, func(i int) {
		_, errs[i] = e.s.UpdateConversation(e.ctx, "cv1", func(c *store.Conversation) error {
			c.Preview += fmt.Sprintf("[%02d]", i)
			return nil
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("UpdateConversation #%d: %v", i, err)
		}
	}
	got, err := e.s.GetConversation(e.ctx, "cv1")
	must(t, err, "GetConversation")
	for i := range n {
		if c := strings.Count(got.Preview, fmt.Sprintf("[%02d]", i)); c != 1 {
			t.Errorf("after %d concurrent UpdateConversation appends, update %d appears %d times in Preview %q (want once: lost update)", n, i, c, got.Preview)
		}
	}
	if got.Version != before.Version+n {
		t.Errorf("Version after %d updates = %d, want %d", n, got.Version, before.Version+n)
	}
}

func resolve(t *testing.T, e *env, id string) {
	t.Helper()
	got, err := e.s.UpdateConversation(e.ctx, id, func(c *store.Conversation) error { c.Status = store.StatusResolved; return nil })
	must(t, err, "resolve %s", id)
	if got.Status != store.StatusResolved {
		t.Fatalf("resolve %s: status = %q", id, got.Status)
	}
}

func testResolveReleasesThread(t *testing.T, f Factory) {
	e := newEnv(t, f)
	_, _, err := e.s.OpenConversation(e.ctx, newConv("cv1", "cust-1", "sms:a", epoch))
	must(t, err, "OpenConversation(cv1)")
	resolve(t, e, "cv1")
	got, created, err := e.s.OpenConversation(e.ctx, newConv("cv2", "cust-1", "sms:a", epoch.Add(time.Hour)))
	must(t, err, "OpenConversation(cv2) after resolving cv1")
	if !created || got.ID != "cv2" {
		t.Fatalf("OpenConversation after resolving the thread's conversation = %s, created=%v; want cv2 created", got.ID, created)
	}
	// The next message on the thread lands in cv2.
	got, created, err = e.s.OpenConversation(e.ctx, newConv("cv3", "cust-1", "sms:a", epoch.Add(2*time.Hour)))
	must(t, err, "OpenConversation(cv3)")
	if created || got.ID != "cv2" {
		t.Errorf("OpenConversation(cv3) = %s, created=%v; want cv2", got.ID, created)
	}
	old, err := e.s.GetConversation(e.ctx, "cv1")
	must(t, err, "GetConversation(cv1)")
	if old.Status != store.StatusResolved {
		t.Errorf("cv1 status = %q, want resolved", old.Status)
	}
}

func testReopenConflict(t *testing.T, f Factory) {
	e := newEnv(t, f)
	_, _, err := e.s.OpenConversation(e.ctx, newConv("cv1", "cust-1", "sms:a", epoch))
	must(t, err, "OpenConversation(cv1)")
	resolve(t, e, "cv1")
	_, _, err = e.s.OpenConversation(e.ctx, newConv("cv2", "cust-1", "sms:a", epoch.Add(time.Hour)))
	must(t, err, "OpenConversation(cv2)")

	// cv2 holds the key: reopening cv1 conflicts and changes nothing.
	for _, st := range []string{store.StatusOpen, store.StatusPending} {
		_, err = e.s.UpdateConversation(e.ctx, "cv1", func(c *store.Conversation) error { c.Status = st; return nil })
		wantErr(t, err, store.ErrConflict, "reopening cv1 (-> %s) while cv2 holds its thread key", st)
	}
	old, err := e.s.GetConversation(e.ctx, "cv1")
	must(t, err, "GetConversation(cv1)")
	if old.Status != store.StatusResolved {
		t.Errorf("cv1 after a conflicting reopen: status %q, want resolved", old.Status)
	}
	got, created, err := e.s.OpenConversation(e.ctx, newConv("cv9", "cust-1", "sms:a", epoch.Add(2*time.Hour)))
	must(t, err, "OpenConversation(cv9)")
	if created || got.ID != "cv2" {
		t.Errorf("OpenConversation after the conflicting reopen = %s, created=%v; want cv2", got.ID, created)
	}
	// Updating a resolved conversation without reopening it is fine.
	_, err = e.s.UpdateConversation(e.ctx, "cv1", func(c *store.Conversation) error { c.Assignee = "alice"; return nil })
	must(t, err, "UpdateConversation(cv1) staying resolved")

	// Once cv2 is resolved, cv1 can be reopened and takes the key back.
	resolve(t, e, "cv2")
	reopened, err := e.s.UpdateConversation(e.ctx, "cv1", func(c *store.Conversation) error { c.Status = store.StatusOpen; return nil })
	must(t, err, "reopening cv1 after cv2 was resolved")
	if reopened.Status != store.StatusOpen {
		t.Errorf("reopened cv1 status = %q", reopened.Status)
	}
	got, created, err = e.s.OpenConversation(e.ctx, newConv("cv10", "cust-1", "sms:a", epoch.Add(3*time.Hour)))
	must(t, err, "OpenConversation(cv10)")
	if created || got.ID != "cv1" {
		t.Errorf("OpenConversation after reopening cv1 = %s, created=%v; want cv1 (it re-took the thread key)", got.ID, created)
	}
	// And reopening cv2 now conflicts with cv1.
	_, err = e.s.UpdateConversation(e.ctx, "cv2", func(c *store.Conversation) error { c.Status = store.StatusOpen; return nil })
	wantErr(t, err, store.ErrConflict, "reopening cv2 while reopened cv1 holds the key")
}

// filterFixture opens the conversations the filter table runs against.
func filterFixture(t *testing.T, e *env) {
	t.Helper()
	type row struct {
		id, cust, channel, status, team, assignee, audience string
	}
	rows := []row{
		{"k01", "cA", "sms", store.StatusOpen, "sales", "", store.AudienceAll},
		{"k02", "cA", "email", store.StatusPending, "sales", "alice", store.AudienceAll},
		{"k03", "cB", "sms", store.StatusOpen, "support", "bob", store.AudienceShadow},
		{"k04", "cB", "slack", store.StatusResolved, "support", "", store.AudienceAll},
		{"k05", "cC", "email", store.StatusOpen, "", "alice", store.TeamAudience("sales")},
		{"k06", "cC", "sms", store.StatusSnoozed, "sales", "", store.TeamAudience("support")},
		{"k07", "cA", "slack", store.StatusOpen, "support", "alice", store.AudienceAll},
	}
	for i, r := range rows {
		at := epoch.Add(time.Duration(i+1) * time.Minute)
		c := store.Conversation{ID: r.id, CustomerID: r.cust, Channel: r.channel, ThreadKey: r.channel + ":" + r.id,
			Status: r.status, Team: r.team, Assignee: r.assignee, Audience: r.audience, CreatedAt: at, LastActivity: at}
		if r.status == store.StatusResolved {
			c.Status = store.StatusOpen
		}
		_, created, err := e.s.OpenConversation(e.ctx, c)
		must(t, err, "OpenConversation(%s)", r.id)
		if !created {
			t.Fatalf("OpenConversation(%s): created = false", r.id)
		}
		if r.status == store.StatusResolved {
			resolve(t, e, r.id)
		}
	}
}

func testListConversationFilters(t *testing.T, f Factory) {
	e := newEnv(t, f)
	filterFixture(t, e)
	tests := []struct {
		name string
		f    store.ConversationFilter
		want []string
	}{
		{"all", store.ConversationFilter{}, []string{"k07", "k06", "k05", "k04", "k03", "k02", "k01"}},
		{"status open", store.ConversationFilter{Status: store.StatusOpen}, []string{"k07", "k05", "k03", "k01"}},
		{"status resolved", store.ConversationFilter{Status: store.StatusResolved}, []string{"k04"}},
		{"status snoozed", store.ConversationFilter{Status: store.StatusSnoozed}, []string{"k06"}},
		{"channel sms", store.ConversationFilter{Channel: "sms"}, []string{"k06", "k03", "k01"}},
		{"channel none", store.ConversationFilter{Channel: "whatsapp"}, nil},
		{"assignee alice", store.ConversationFilter{Assignee: "alice"}, []string{"k07", "k05", "k02"}},
		{"unassigned", store.ConversationFilter{Assignee: "-"}, []string{"k06", "k04", "k01"}},
		{"team sales", store.ConversationFilter{Team: "sales"}, []string{"k06", "k02", "k01"}},
		{"audience live", store.ConversationFilter{Audiences: []string{store.AudienceAll}}, []string{"k07", "k04", "k02", "k01"}},
		{"audience live+sales", store.ConversationFilter{Audiences: []string{store.AudienceAll, store.TeamAudience("sales")}}, []string{"k07", "k05", "k04", "k02", "k01"}},
		{"audience shadow", store.ConversationFilter{Audiences: []string{store.AudienceShadow}}, []string{"k03"}},
		{"audience empty non-nil", store.ConversationFilter{Audiences: []string{}}, nil},
		{"customer cA", store.ConversationFilter{CustomerIDs: []string{"cA"}}, []string{"k07", "k02", "k01"}},
		{"customers cB cC", store.ConversationFilter{CustomerIDs: []string{"cB", "cC"}}, []string{"k06", "k05", "k04", "k03"}},
		{"customers empty non-nil", store.ConversationFilter{CustomerIDs: []string{}}, nil},
		{"open sms", store.ConversationFilter{Status: store.StatusOpen, Channel: "sms"}, []string{"k03", "k01"}},
		{"open sms live", store.ConversationFilter{Status: store.StatusOpen, Channel: "sms", Audiences: []string{store.AudienceAll}}, []string{"k01"}},
		{"unassigned sales", store.ConversationFilter{Assignee: "-", Team: "sales"}, []string{"k06", "k01"}},
		{"cA open", store.ConversationFilter{CustomerIDs: []string{"cA"}, Status: store.StatusOpen}, []string{"k07", "k01"}},
		{"alice support live", store.ConversationFilter{Assignee: "alice", Team: "support", Audiences: []string{""}}, []string{"k07"}},
	}
	for _, tc := range tests {
		f := tc.f
		f.Limit = 100
		got, _, err := e.s.ListConversations(e.ctx, f)
		if err != nil {
			t.Errorf("ListConversations(%s): %v", tc.name, err)
			continue
		}
		if g := convIDs(got); !sameStrings(g, tc.want) {
			t.Errorf("ListConversations(%s) = %v, want %v (newest activity first)", tc.name, g, tc.want)
		}
		for _, c := range got {
			if !store.MatchConversation(c, tc.f) {
				t.Errorf("ListConversations(%s) returned %s (status %q channel %q assignee %q team %q audience %q customer %q), which does not match the filter",
					tc.name, c.ID, c.Status, c.Channel, c.Assignee, c.Team, c.Audience, c.CustomerID)
			}
		}
	}
}

func testListFollowsUpdates(t *testing.T, f Factory) {
	e := newEnv(t, f)
	filterFixture(t, e)
	list := func(f store.ConversationFilter) []string {
		t.Helper()
		f.Limit = 100
		got, _, err := e.s.ListConversations(e.ctx, f)
		must(t, err, "ListConversations(%+v)", f)
		return convIDs(got)
	}
	// New activity moves a conversation to the top.
	_, err := e.s.UpdateConversation(e.ctx, "k01", func(c *store.Conversation) error {
		c.LastActivity = epoch.Add(time.Hour)
		c.Status = store.StatusPending
		c.Assignee = "carol"
		c.Audience = store.AudienceShadow
		return nil
	})
	must(t, err, "UpdateConversation(k01)")
	tests := []struct {
		name string
		f    store.ConversationFilter
		want []string
	}{
		{"all", store.ConversationFilter{}, []string{"k01", "k07", "k06", "k05", "k04", "k03", "k02"}},
		{"status open", store.ConversationFilter{Status: store.StatusOpen}, []string{"k07", "k05", "k03"}},
		{"status pending", store.ConversationFilter{Status: store.StatusPending}, []string{"k01", "k02"}},
		{"unassigned", store.ConversationFilter{Assignee: "-"}, []string{"k06", "k04"}},
		{"assignee carol", store.ConversationFilter{Assignee: "carol"}, []string{"k01"}},
		{"audience shadow", store.ConversationFilter{Audiences: []string{store.AudienceShadow}}, []string{"k01", "k03"}},
		{"audience live", store.ConversationFilter{Audiences: []string{store.AudienceAll}}, []string{"k07", "k04", "k02"}},
	}
	for _, tc := range tests {
		if g := list(tc.f); !sameStrings(g, tc.want) {
			t.Errorf("after updating k01: ListConversations(%s) = %v, want %v", tc.name, g, tc.want)
		}
	}
}

func testListConversationPaging(t *testing.T, f Factory) {
	e := newEnv(t, f)
	const n = 25
	var all []store.Conversation
	for i := range n {
		// Pairs share a LastActivity, so the order needs a tie-break.
		at := epoch.Add(time.Duration(i/2) * time.Second)
		c := newConv(fmt.Sprintf("p%02d", (i*11)%n), fmt.Sprintf("cust-%d", i%4), fmt.Sprintf("sms:%d", i), at)
		if i%3 == 0 {
			c.Status = store.StatusPending
		}
		_, created, err := e.s.OpenConversation(e.ctx, c)
		must(t, err, "OpenConversation(%s)", c.ID)
		if !created {
			t.Fatalf("OpenConversation(%s): created = false", c.ID)
		}
		all = append(all, c)
	}
	tests := []struct {
		name  string
		f     store.ConversationFilter
		limit int
	}{
		{"all by 10", store.ConversationFilter{}, 10},
		{"all by 1", store.ConversationFilter{}, 1},
		{"all by 25", store.ConversationFilter{}, 25},
		{"all by 7", store.ConversationFilter{}, 7},
		{"open by 4", store.ConversationFilter{Status: store.StatusOpen}, 4},
		{"two customers by 3", store.ConversationFilter{CustomerIDs: []string{"cust-1", "cust-2"}}, 3},
	}
	for _, tc := range tests {
		var want []string
		var wantConvs []store.Conversation
		for _, c := range all {
			if store.MatchConversation(c, tc.f) {
				wantConvs = append(wantConvs, c)
			}
		}
		for _, c := range wantConvs {
			want = append(want, c.ID)
		}
		var got []string
		var gotConvs []store.Conversation
		f := tc.f
		f.Limit = tc.limit
		maxPages := (len(want)+tc.limit-1)/tc.limit + 1
		pages := 0
		for {
			pages++
			if pages > maxPages {
				t.Errorf("ListConversations(%s): cursor not \"\" after %d pages (%d conversations, limit %d)", tc.name, maxPages, len(want), tc.limit)
				break
			}
			page, next, err := e.s.ListConversations(e.ctx, f)
			if err != nil {
				t.Errorf("ListConversations(%s, before=%q): %v", tc.name, f.Before, err)
				break
			}
			if len(page) > tc.limit {
				t.Errorf("ListConversations(%s): page of %d, limit %d", tc.name, len(page), tc.limit)
			}
			gotConvs = append(gotConvs, page...)
			got = append(got, convIDs(page)...)
			if next == "" {
				break
			}
			if next == f.Before {
				t.Errorf("ListConversations(%s): cursor %q did not advance", tc.name, next)
				break
			}
			f.Before = next
		}
		if d := dupes(got); len(d) > 0 {
			t.Errorf("ListConversations(%s) paging returned duplicates %v", tc.name, d)
		}
		if !sameStrings(sortedCopy(got), sortedCopy(want)) {
			t.Errorf("ListConversations(%s) paging by %d returned %v, want the set %v (no gaps, no duplicates)", tc.name, tc.limit, sortedCopy(got), sortedCopy(want))
		}
		for i := 1; i < len(gotConvs); i++ {
			if gotConvs[i].LastActivity.After(gotConvs[i-1].LastActivity) {
				t.Errorf("ListConversations(%s): %s (%v) after %s (%v); want newest activity first", tc.name,
					gotConvs[i].ID, gotConvs[i].LastActivity, gotConvs[i-1].ID, gotConvs[i-1].LastActivity)
				break
			}
		}
	}
}

func testDeleteConversation(t *testing.T, f Factory) {
	e := newEnv(t, f)
	_, _, err := e.s.OpenConversation(e.ctx, newConv("cv1", "cust-1", "sms:a", epoch))
	must(t, err, "OpenConversation(cv1)")
	_, _, err = e.s.OpenConversation(e.ctx, newConv("cv2", "cust-1", "sms:b", epoch.Add(time.Second)))
	must(t, err, "OpenConversation(cv2)")
	must(t, e.s.DeleteConversation(e.ctx, "cv1"), "DeleteConversation(cv1)")
	_, err = e.s.GetConversation(e.ctx, "cv1")
	wantErr(t, err, store.ErrNotFound, "GetConversation after DeleteConversation")
	list, _, err := e.s.ListConversations(e.ctx, store.ConversationFilter{Limit: 100})
	must(t, err, "ListConversations")
	if g := convIDs(list); !sameStrings(g, []string{"cv2"}) {
		t.Errorf("ListConversations after deleting cv1 = %v, want [cv2]", g)
	}
	list, _, err = e.s.ListConversations(e.ctx, store.ConversationFilter{CustomerIDs: []string{"cust-1"}, Status: store.StatusOpen, Limit: 100})
	must(t, err, "ListConversations(cust-1, open)")
	if g := convIDs(list); !sameStrings(g, []string{"cv2"}) {
		t.Errorf("ListConversations(cust-1, open) after deleting cv1 = %v, want [cv2]", g)
	}
	// Its thread key is released.
	got, created, err := e.s.OpenConversation(e.ctx, newConv("cv3", "cust-1", "sms:a", epoch.Add(time.Hour)))
	must(t, err, "OpenConversation(cv3) on the deleted conversation's thread")
	if !created || got.ID != "cv3" {
		t.Errorf("OpenConversation on a deleted conversation's thread = %s, created=%v; want cv3 created", got.ID, created)
	}
	must(t, e.s.DeleteConversation(e.ctx, "cv1"), "DeleteConversation of a missing conversation (must not be an error)")
}
