package storetest

import (
	"fmt"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

func entryTests() []testCase {
	return []testCase{
		{"AppendGet", testAppendGetEntry},
		{"AppendDuplicate", testAppendDuplicate},
		{"AppendConcurrent", testAppendConcurrent},
		{"Page", testPageEntries},
		{"PageOutOfRangeTimes", testPageOutOfRangeTimes},
		{"Update", testUpdateEntry},
		{"UpdateSortPosition", testUpdateEntrySortPosition},
		{"UpdateCAS", testUpdateEntryCAS},
		{"Count", testCountEntries},
		{"Delete", testDeleteEntries},
	}
}

func newEntry(id, customer string, at time.Time) store.Entry {
	return store.Entry{
		ID: id, CustomerID: customer, ConversationID: "cv-" + customer, Channel: "sms",
		Direction: connectors.Inbound, Kind: store.KindMessage, ProviderID: "SM" + id,
		Sender:     &connectors.Identity{Type: connectors.Phone, Value: "+358401234567", Verified: true},
		SenderName: "Ann", Text: "text of " + id, OccurredAt: at, CreatedAt: at, UpdatedAt: at,
	}
}

func richEntry(id, customer string, at time.Time) store.Entry {
	e := newEntry(id, customer, at)
	e.Direction = connectors.Outbound
	e.Agent = "alice"
	e.Subject = "Re: order 42"
	e.Text = "Hello\n\tworld – ünïcödé ✓"
	e.HTML = "<p>Hello <b>world</b></p>"
	e.Attachments = []connectors.Attachment{
		{Name: "a.pdf", ContentType: "application/pdf", Size: 1234, SHA256: strings.Repeat("ab", 32)},
		{Name: "big.bin", ContentType: "application/octet-stream", Size: 1 << 30, Omitted: "too large", Inline: true},
	}
	e.Fields = []connectors.Field{{Name: "Order", Value: "42"}, {Name: "Account", Value: "7"}, {Name: "Order", Value: "43"}}
	e.Flags = []string{"malformed-mime", "truncated"}
	e.Status = connectors.StatusQueued
	e.StatusDetail = "waiting"
	return e
}

func entryDiff(got, want store.Entry) string {
	var d []string
	cmp := func(name string, g, w any) {
		if fmt.Sprint(g) != fmt.Sprint(w) {
			d = append(d, fmt.Sprintf("%s = %v, want %v", name, g, w))
		}
	}
	cmp("ID", got.ID, want.ID)
	cmp("CustomerID", got.CustomerID, want.CustomerID)
	cmp("ConversationID", got.ConversationID, want.ConversationID)
	cmp("Channel", got.Channel, want.Channel)
	cmp("Direction", got.Direction, want.Direction)
	cmp("Kind", got.Kind, want.Kind)
	cmp("ProviderID", got.ProviderID, want.ProviderID)
	if (got.Sender == nil) != (want.Sender == nil) || got.Sender != nil && *got.Sender != *want.Sender {
		d = append(d, fmt.Sprintf("Sender = %v, want %v", got.Sender, want.Sender))
	}
	cmp("SenderName", got.SenderName, want.SenderName)
	cmp("Agent", got.Agent, want.Agent)
	cmp("Subject", got.Subject, want.Subject)
	cmp("Text", got.Text, want.Text)
	cmp("HTML", got.HTML, want.HTML)
	cmp("Attachments", fmt.Sprintf("%+v", got.Attachments), fmt.Sprintf("%+v", want.Attachments))
	cmp("Fields", fmt.Sprintf("%+v", got.Fields), fmt.Sprintf("%+v", want.Fields))
	cmp("Flags", fmt.Sprintf("%q", got.Flags), fmt.Sprintf("%q", want.Flags))
	cmp("Status", got.Status, want.Status)
	cmp("StatusDetail", got.StatusDetail, want.StatusDetail)
	if !got.OccurredAt.Equal(want.OccurredAt) {
		d = append(d, fmt.Sprintf("OccurredAt = %v, want %v (must round-trip exactly: it is the sort key)", got.OccurredAt, want.OccurredAt))
	}
	return strings.Join(d, "; ")
}

func checkEntry(t *testing.T, what string, got, want store.Entry) {
	t.Helper()
	if d := entryDiff(got, want); d != "" {
		t.Errorf("%s: %s", what, d)
	}
}

func entryIDs(es []store.Entry) []string {
	ids := make([]string, len(es))
	for i, e := range es {
		ids[i] = e.ID
	}
	return ids
}

func testAppendGetEntry(t *testing.T, f Factory) {
	e := newEnv(t, f)
	for _, want := range []store.Entry{richEntry("m_1", "cust-1", epoch), newEntry("m_2", "cust-1", epoch.Add(time.Second))} {
		got, created, err := e.s.AppendEntry(e.ctx, want)
		must(t, err, "AppendEntry(%s)", want.ID)
		if !created {
			t.Errorf("AppendEntry(%s) of a new id: created = false, want true", want.ID)
		}
		checkEntry(t, "AppendEntry("+want.ID+") result", got, want)
		g, err := e.s.GetEntry(e.ctx, want.ID)
		must(t, err, "GetEntry(%s)", want.ID)
		checkEntry(t, "GetEntry("+want.ID+")", g, want)
	}
	// A note without sender.
	note := store.Entry{ID: "n_1", CustomerID: "cust-1", Direction: connectors.Note, Kind: store.KindNote, Agent: "bob", Text: "call back", OccurredAt: epoch.Add(2 * time.Second)}
	_, _, err := e.s.AppendEntry(e.ctx, note)
	must(t, err, "AppendEntry(note)")
	g, err := e.s.GetEntry(e.ctx, "n_1")
	must(t, err, "GetEntry(note)")
	checkEntry(t, "GetEntry(note)", g, note)

	_, err = e.s.GetEntry(e.ctx, "missing")
	wantErr(t, err, store.ErrNotFound, "GetEntry(missing)")
	_, err = e.s.UpdateEntry(e.ctx, "missing", func(en *store.Entry) error { en.Status = connectors.StatusSent; return nil })
	wantErr(t, err, store.ErrNotFound, "UpdateEntry(missing)")
}

func testAppendDuplicate(t *testing.T, f Factory) {
	e := newEnv(t, f)
	orig := richEntry("m_1", "cust-1", epoch)
	_, _, err := e.s.AppendEntry(e.ctx, orig)
	must(t, err, "AppendEntry")
	dups := []struct {
		name string
		e    store.Entry
	}{
		{"same entry again", orig},
		{"different text", func() store.Entry { d := orig; d.Text = "changed"; return d }()},
		{"different customer", func() store.Entry { d := newEntry("m_1", "cust-2", epoch.Add(time.Hour)); d.Text = "other"; return d }()},
		{"different time", func() store.Entry { d := orig; d.OccurredAt = epoch.Add(-time.Hour); return d }()},
	}
	for _, tc := range dups {
		got, created, err := e.s.AppendEntry(e.ctx, tc.e)
		must(t, err, "duplicate AppendEntry (%s)", tc.name)
		if created {
			t.Errorf("duplicate AppendEntry (%s): created = true, want false", tc.name)
		}
		checkEntry(t, "duplicate AppendEntry ("+tc.name+") result", got, orig)
	}
	g, err := e.s.GetEntry(e.ctx, "m_1")
	must(t, err, "GetEntry")
	checkEntry(t, "GetEntry after duplicates", g, orig)
	for cust, want := range map[string]int{"cust-1": 1, "cust-2": 0} {
		n, err := e.s.CountEntries(e.ctx, cust)
		must(t, err, "CountEntries(%s)", cust)
		if n != want {
			t.Errorf("CountEntries(%s) after duplicate appends = %d, want %d", cust, n, want)
		}
		page, err := e.s.PageEntries(e.ctx, cust, "", 100)
		must(t, err, "PageEntries(%s)", cust)
		if len(page) != want {
			t.Errorf("PageEntries(%s) after duplicate appends = %v, want %d entries", cust, entryIDs(page), want)
		}
	}
}

func testAppendConcurrent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	const n = 16
	created := make([]bool, n)
	errs := make([]error, n)
	custs := make([]string, n)
	concurrently(t, n, func(i int) {
		en := newEntry("m_race", fmt.Sprintf("cust-%d", i%2), epoch.Add(time.Duration(i)*time.Millisecond))
		en.Text = fmt.Sprintf("copy %d", i)
		var got store.Entry
		got, created[i], errs[i] = e.s.AppendEntry(e.ctx, en)
		custs[i] = got.CustomerID + "/" + got.Text
	})
	winners := 0
	for i := range n {
		if errs[i] != nil {
			t.Errorf("AppendEntry #%d: %v", i, errs[i])
		}
		if created[i] {
			winners++
		}
	}
	if winners != 1 {
		t.Errorf("%d concurrent AppendEntry of one id: %d created, want exactly 1", n, winners)
	}
	g, err := e.s.GetEntry(e.ctx, "m_race")
	must(t, err, "GetEntry")
	for i := range n {
		if errs[i] == nil && custs[i] != g.CustomerID+"/"+g.Text {
			t.Errorf("AppendEntry #%d returned %s, GetEntry has %s/%s", i, custs[i], g.CustomerID, g.Text)
		}
	}
	total := 0
	for _, c := range []string{"cust-0", "cust-1"} {
		k, err := e.s.CountEntries(e.ctx, c)
		must(t, err, "CountEntries(%s)", c)
		total += k
		p, err := e.s.PageEntries(e.ctx, c, "", 100)
		must(t, err, "PageEntries(%s)", c)
		if len(p) != k {
			t.Errorf("PageEntries(%s) has %d entries, CountEntries says %d", c, len(p), k)
		}
	}
	if total != 1 {
		t.Errorf("after %d concurrent appends of one id the timelines hold %d entries, want 1", n, total)
	}
}

func testPageEntries(t *testing.T, f Factory) {
	e := newEnv(t, f)
	const n = 50
	var all []store.Entry
	for i := range n {
		// Groups of equal timestamps, inserted out of order, some in the past.
		at := epoch.Add(time.Duration((i*7)%10)*time.Second - 3*time.Second)
		if i%5 == 0 {
			at = at.Add(time.Nanosecond) // differs from its group only in the last digit
		}
		en := newEntry(fmt.Sprintf("m_%02d", (i*13)%n), "cust-1", at)
		_, created, err := e.s.AppendEntry(e.ctx, en)
		must(t, err, "AppendEntry(%s)", en.ID)
		if !created {
			t.Fatalf("AppendEntry(%s): created = false", en.ID)
		}
		all = append(all, en)
	}
	// Another customer's entries interleaved in time must not show up.
	for i := range 5 {
		_, _, err := e.s.AppendEntry(e.ctx, newEntry(fmt.Sprintf("x_%d", i), "cust-2", epoch.Add(time.Duration(i)*time.Second)))
		must(t, err, "AppendEntry(cust-2)")
	}
	sort.Slice(all, func(i, j int) bool { return all[i].SortKey() > all[j].SortKey() })
	want := entryIDs(all)

	for _, limit := range []int{7, 1, 10, 50, 100} {
		var got []string
		before := ""
		for pages := 0; ; pages++ {
			if pages > n+1 {
				t.Fatalf("PageEntries(limit=%d) did not reach the end", limit)
			}
			page, err := e.s.PageEntries(e.ctx, "cust-1", before, limit)
			must(t, err, "PageEntries(before=%q, limit=%d)", before, limit)
			if len(page) > limit {
				t.Fatalf("PageEntries(limit=%d) returned %d entries", limit, len(page))
			}
			if len(page) == 0 {
				break
			}
			for _, en := range page {
				if en.CustomerID != "cust-1" {
					t.Errorf("PageEntries(cust-1) returned %s of %s", en.ID, en.CustomerID)
				}
				if before != "" && en.SortKey() >= before {
					t.Errorf("PageEntries(before=%q) returned %s with SortKey %q, not < before", before, en.ID, en.SortKey())
				}
			}
			got = append(got, entryIDs(page)...)
			before = page[len(page)-1].SortKey()
		}
		if !sameStrings(got, want) {
			t.Errorf("PageEntries by %d gave\n\t%v\nwant (newest first by (OccurredAt, ID), no duplicates, no gaps)\n\t%v", limit, got, want)
		}
	}
	// A page from the middle.
	page, err := e.s.PageEntries(e.ctx, "cust-1", all[9].SortKey(), 5)
	must(t, err, "PageEntries(middle)")
	if g := entryIDs(page); !sameStrings(g, want[10:15]) {
		t.Errorf("PageEntries(before=%s, 5) = %v, want %v", all[9].ID, g, want[10:15])
	}
	// Entries come back whole.
	checkEntry(t, "PageEntries first entry", page[0], all[10])
	// A customer without entries.
	page, err = e.s.PageEntries(e.ctx, "nobody", "", 10)
	must(t, err, "PageEntries(nobody)")
	if len(page) != 0 {
		t.Errorf("PageEntries(nobody) = %v, want none", entryIDs(page))
	}
}

func testUpdateEntry(t *testing.T, f Factory) {
	e := newEnv(t, f)
	orig := richEntry("m_1", "cust-1", epoch)
	appended, _, err := e.s.AppendEntry(e.ctx, orig)
	must(t, err, "AppendEntry")
	upd, err := e.s.UpdateEntry(e.ctx, "m_1", func(en *store.Entry) error {
		if en.Status != connectors.StatusQueued {
			return fmt.Errorf("fn got status %q, want %q", en.Status, connectors.StatusQueued)
		}
		en.Status = connectors.StatusSent
		en.StatusDetail = ""
		en.ProviderID = "SMxyz"
		en.Flags = append(en.Flags, "edited")
		return nil
	})
	must(t, err, "UpdateEntry(queued -> sent)")
	want := orig
	want.Status, want.StatusDetail, want.ProviderID = connectors.StatusSent, "", "SMxyz"
	want.Flags = append(append([]string(nil), orig.Flags...), "edited")
	checkEntry(t, "UpdateEntry result", upd, want)
	if upd.Version <= appended.Version {
		t.Errorf("UpdateEntry: Version %d -> %d, want it incremented", appended.Version, upd.Version)
	}
	g, err := e.s.GetEntry(e.ctx, "m_1")
	must(t, err, "GetEntry")
	checkEntry(t, "GetEntry after UpdateEntry", g, want)
	page, err := e.s.PageEntries(e.ctx, "cust-1", "", 10)
	must(t, err, "PageEntries")
	if len(page) != 1 {
		t.Fatalf("PageEntries after UpdateEntry = %v, want [m_1]", entryIDs(page))
	}
	checkEntry(t, "PageEntries after UpdateEntry", page[0], want)

	_, err = e.s.UpdateEntry(e.ctx, "m_1", func(en *store.Entry) error { en.Status = connectors.StatusFailed; return errBoom })
	checkAbort(t, err, "UpdateEntry with fn returning an error")
	g, err = e.s.GetEntry(e.ctx, "m_1")
	must(t, err, "GetEntry")
	checkEntry(t, "GetEntry after aborted UpdateEntry", g, want)
}

func testUpdateEntrySortPosition(t *testing.T, f Factory) {
	e := newEnv(t, f)
	orig := newEntry("m_1", "cust-1", epoch)
	_, _, err := e.s.AppendEntry(e.ctx, orig)
	must(t, err, "AppendEntry")
	tests := []struct {
		name string
		fn   func(*store.Entry)
	}{
		{"OccurredAt", func(en *store.Entry) { en.OccurredAt = en.OccurredAt.Add(time.Second) }},
		{"OccurredAt by 1ns", func(en *store.Entry) { en.OccurredAt = en.OccurredAt.Add(time.Nanosecond) }},
		{"CustomerID", func(en *store.Entry) { en.CustomerID = "cust-2" }},
		{"both", func(en *store.Entry) { en.CustomerID = "cust-2"; en.OccurredAt = epoch.Add(-time.Hour) }},
	}
	for _, tc := range tests {
		_, err := e.s.UpdateEntry(e.ctx, "m_1", func(en *store.Entry) error {
			en.Text = "must not be stored"
			tc.fn(en)
			return nil
		})
		wantErr(t, err, store.ErrConflict, "UpdateEntry changing %s", tc.name)
	}
	g, err := e.s.GetEntry(e.ctx, "m_1")
	must(t, err, "GetEntry")
	checkEntry(t, "GetEntry after rejected sort-position changes", g, orig)
	for cust, want := range map[string]int{"cust-1": 1, "cust-2": 0} {
		page, err := e.s.PageEntries(e.ctx, cust, "", 10)
		must(t, err, "PageEntries(%s)", cust)
		if len(page) != want {
			t.Errorf("PageEntries(%s) after rejected changes = %v, want %d entries", cust, entryIDs(page), want)
		}
	}
	// Same OccurredAt in another time zone is the same instant: allowed.
	_, err = e.s.UpdateEntry(e.ctx, "m_1", func(en *store.Entry) error {
		en.OccurredAt = en.OccurredAt.In(time.FixedZone("X", 3*3600))
		en.Text = "tz"
		return nil
	})
	must(t, err, "UpdateEntry with OccurredAt in another zone (same instant)")
}

func testUpdateEntryCAS(t *testing.T, f Factory) {
	e := newEnv(t, f)
	_, _, err := e.s.AppendEntry(e.ctx, newEntry("m_1", "cust-1", epoch))
	must(t, err, "AppendEntry")
	before, err := e.s.GetEntry(e.ctx, "m_1")
	must(t, err, "GetEntry")
	const n = 16
	errs := make([]error, n)
	concurrently(t, n, func(i int) {
		_, errs[i] = e.s.UpdateEntry(e.ctx, "m_1", func(en *store.Entry) error {
			en.Flags = append(en.Flags, fmt.Sprintf("f%02d", i))
			return nil
		})
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("UpdateEntry #%d: %v", i, err)
		}
	}
	g, err := e.s.GetEntry(e.ctx, "m_1")
	must(t, err, "GetEntry")
	var want []string
	for i := range n {
		want = append(want, fmt.Sprintf("f%02d", i))
	}
	if got := sortedCopy(g.Flags); !sameStrings(got, want) {
		t.Errorf("after %d concurrent UpdateEntry appends: Flags = %v, want each of %v once (lost update)", n, got, want)
	}
	if g.Version != before.Version+n {
		t.Errorf("Version after %d updates = %d, want %d", n, g.Version, before.Version+n)
	}
}

func testCountEntries(t *testing.T, f Factory) {
	e := newEnv(t, f)
	n, err := e.s.CountEntries(e.ctx, "cust-1")
	must(t, err, "CountEntries on an empty timeline")
	if n != 0 {
		t.Errorf("CountEntries(empty) = %d, want 0", n)
	}
	for i := range 12 {
		cust := "cust-1"
		if i%3 == 0 {
			cust = "cust-2"
		}
		_, _, err := e.s.AppendEntry(e.ctx, newEntry(fmt.Sprintf("m_%d", i), cust, epoch.Add(time.Duration(i)*time.Second)))
		must(t, err, "AppendEntry")
	}
	for cust, want := range map[string]int{"cust-1": 8, "cust-2": 4, "cust-3": 0} {
		n, err := e.s.CountEntries(e.ctx, cust)
		must(t, err, "CountEntries(%s)", cust)
		if n != want {
			t.Errorf("CountEntries(%s) = %d, want %d", cust, n, want)
		}
	}
}

func testDeleteEntries(t *testing.T, f Factory) {
	e := newEnv(t, f)
	for i := range 6 {
		cust := "cust-1"
		if i >= 4 {
			cust = "cust-2"
		}
		_, _, err := e.s.AppendEntry(e.ctx, newEntry(fmt.Sprintf("m_%d", i), cust, epoch.Add(time.Duration(i)*time.Second)))
		must(t, err, "AppendEntry")
	}
	n, err := e.s.DeleteEntries(e.ctx, "cust-1")
	must(t, err, "DeleteEntries(cust-1)")
	if n != 4 {
		t.Errorf("DeleteEntries(cust-1) = %d, want 4", n)
	}
	for i := range 4 {
		_, err := e.s.GetEntry(e.ctx, fmt.Sprintf("m_%d", i))
		wantErr(t, err, store.ErrNotFound, "GetEntry(m_%d) after DeleteEntries", i)
	}
	if c, err := e.s.CountEntries(e.ctx, "cust-1"); err != nil || c != 0 {
		t.Errorf("CountEntries(cust-1) after DeleteEntries = %d, %v; want 0", c, err)
	}
	if p, err := e.s.PageEntries(e.ctx, "cust-1", "", 10); err != nil || len(p) != 0 {
		t.Errorf("PageEntries(cust-1) after DeleteEntries = %v, %v; want none", entryIDs(p), err)
	}
	// The other customer is untouched.
	if c, err := e.s.CountEntries(e.ctx, "cust-2"); err != nil || c != 2 {
		t.Errorf("CountEntries(cust-2) after deleting cust-1 = %d, %v; want 2", c, err)
	}
	if _, err := e.s.GetEntry(e.ctx, "m_4"); err != nil {
		t.Errorf("GetEntry(m_4) of cust-2 after deleting cust-1: %v", err)
	}
	// The dedupe records are gone too: the ids can be appended again.
	again := newEntry("m_0", "cust-3", epoch.Add(time.Hour))
	got, created, err := e.s.AppendEntry(e.ctx, again)
	must(t, err, "AppendEntry(m_0) after erasure")
	if !created {
		t.Errorf("AppendEntry(m_0) after DeleteEntries: created = false, want true (dedupe record must be erased)")
	}
	checkEntry(t, "AppendEntry(m_0) after erasure", got, again)
	n, err = e.s.DeleteEntries(e.ctx, "cust-1")
	must(t, err, "second DeleteEntries(cust-1)")
	if n != 0 {
		t.Errorf("second DeleteEntries(cust-1) = %d, want 0", n)
	}
}

// testPageOutOfRangeTimes: an entry dated beyond what Unix nanoseconds hold
// (year 9999, as a broken client may send) is the newest on the timeline,
// one dated before 1678 the oldest, and both page like any other.
func testPageOutOfRangeTimes(t *testing.T, f Factory) {
	e := newEnv(t, f)
	times := map[string]time.Time{
		"m_far":    time.Date(9999, 12, 31, 23, 59, 59, 0, time.UTC),
		"m_2262":   store.MaxSortTime.Add(-time.Second),
		"m_now":    epoch,
		"m_1970":   time.Unix(0, 0).UTC(),
		"m_1600":   time.Date(1600, 1, 1, 0, 0, 0, 0, time.UTC),
		"m_beyond": time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC),
	}
	for id, at := range times {
		_, _, err := e.s.AppendEntry(e.ctx, newEntry(id, "cust-1", at))
		must(t, err, "AppendEntry(%s)", id)
	}
	// The two beyond 2262 share the clamped time, then order by id.
	want := []string{"m_far", "m_beyond", "m_2262", "m_now", "m_1970", "m_1600"}
	var got []string
	before := ""
	for range len(want) + 1 {
		es, err := e.s.PageEntries(e.ctx, "cust-1", before, 2)
		must(t, err, "PageEntries")
		if len(es) == 0 {
			break
		}
		got = append(got, entryIDs(es)...)
		before = es[len(es)-1].SortKey()
	}
	if !sameStrings(got, want) {
		t.Errorf("timeline pages = %v, want %v", got, want)
	}
	far, err := e.s.GetEntry(e.ctx, "m_far")
	must(t, err, "GetEntry(m_far)")
	if !far.OccurredAt.Equal(times["m_far"]) {
		t.Errorf("OccurredAt = %v, want %v kept as sent (only the sort key is clamped)", far.OccurredAt, times["m_far"])
	}
}
