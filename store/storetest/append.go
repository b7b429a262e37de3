package storetest

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
)

// AppendToConversation: an entry and its conversation's update as one step.

func appendToConversationTests() []testCase {
	return []testCase{
		{"Both", testAppendToConversation},
		{"Duplicate", testAppendToConversationDuplicate},
		{"StaleSeen", testAppendToConversationStaleSeen},
		{"Refused", testAppendToConversationRefused},
		{"Concurrent", testAppendToConversationConcurrent},
	}
}

// touch is the fn a message applies: it becomes the latest activity.
func touch(id string, at time.Time) func(*store.Conversation) error {
	return func(c *store.Conversation) error {
		c.LastMessageID = id
		c.Preview += "[" + id + "]"
		if at.After(c.LastActivity) {
			c.LastActivity = at
		}
		return nil
	}
}

func testAppendToConversation(t *testing.T, f Factory) {
	e := newEnv(t, f)
	opened, _, err := e.s.OpenConversation(e.ctx, newConv("cv1", "cust-1", "sms:a", epoch))
	must(t, err, "OpenConversation")
	at := epoch.Add(time.Minute)
	en := richEntry("m_1", "cust-1", at)
	en.ConversationID = "cv1"
	got, conv, created, err := e.s.AppendToConversation(e.ctx, en, opened, touch("m_1", at))
	must(t, err, "AppendToConversation")
	if !created {
		t.Fatalf("AppendToConversation of a new entry: created = false")
	}
	checkEntry(t, "AppendToConversation entry", got, en)
	want := opened
	want.LastMessageID, want.Preview, want.LastActivity = "m_1", opened.Preview+"[m_1]", at
	checkConversation(t, "AppendToConversation conversation", conv, want)
	if conv.Version != opened.Version+1 {
		t.Errorf("conversation Version %d -> %d, want one more", opened.Version, conv.Version)
	}
	g, err := e.s.GetEntry(e.ctx, "m_1")
	must(t, err, "GetEntry")
	checkEntry(t, "GetEntry after AppendToConversation", g, en)
	stored, err := e.s.GetConversation(e.ctx, "cv1")
	must(t, err, "GetConversation")
	checkConversation(t, "GetConversation after AppendToConversation", stored, want)
	// The update is visible to the conversation list too (activity order).
	list, _, err := e.s.ListConversations(e.ctx, store.ConversationFilter{})
	must(t, err, "ListConversations")
	if len(list) != 1 || !list[0].LastActivity.Equal(at) {
		t.Errorf("ListConversations after AppendToConversation = %+v, want cv1 with LastActivity %v", list, at)
	}
	if n, err := e.s.CountEntries(e.ctx, "cust-1"); err != nil || n != 1 {
		t.Errorf("CountEntries = %d, %v; want 1", n, err)
	}
}

func testAppendToConversationDuplicate(t *testing.T, f Factory) {
	e := newEnv(t, f)
	opened, _, err := e.s.OpenConversation(e.ctx, newConv("cv1", "cust-1", "sms:a", epoch))
	must(t, err, "OpenConversation")
	en := newEntry("m_1", "cust-1", epoch.Add(time.Minute))
	en.ConversationID = "cv1"
	_, first, _, err := e.s.AppendToConversation(e.ctx, en, opened, touch("m_1", en.OccurredAt))
	must(t, err, "AppendToConversation")
	again := en
	again.Text = "a redelivered copy"
	got, conv, created, err := e.s.AppendToConversation(e.ctx, again, first, func(c *store.Conversation) error {
		c.Preview = "must not be applied"
		return nil
	})
	must(t, err, "AppendToConversation again")
	if created {
		t.Errorf("AppendToConversation of an existing entry: created = true")
	}
	checkEntry(t, "AppendToConversation of an existing entry", got, en)
	if conv.ID != "" {
		t.Errorf("AppendToConversation of an existing entry returned conversation %+v, want the zero value", conv)
	}
	stored, err := e.s.GetConversation(e.ctx, "cv1")
	must(t, err, "GetConversation")
	checkConversation(t, "conversation after the repeated call", stored, first)
	if stored.Version != first.Version {
		t.Errorf("conversation Version after the repeated call = %d, want %d (unchanged)", stored.Version, first.Version)
	}
	// AppendEntry and AppendToConversation share one dedupe.
	_, created, err = e.s.AppendEntry(e.ctx, again)
	must(t, err, "AppendEntry")
	if created {
		t.Errorf("AppendEntry after AppendToConversation of the same id: created = true")
	}
	plain := newEntry("m_2", "cust-1", epoch.Add(2*time.Minute))
	plain.ConversationID = "cv1"
	_, _, err = e.s.AppendEntry(e.ctx, plain)
	must(t, err, "AppendEntry(m_2)")
	_, _, created, err = e.s.AppendToConversation(e.ctx, plain, stored, touch("m_2", plain.OccurredAt))
	must(t, err, "AppendToConversation(m_2)")
	if created {
		t.Errorf("AppendToConversation of an entry AppendEntry wrote: created = true")
	}
	if n, err := e.s.CountEntries(e.ctx, "cust-1"); err != nil || n != 2 {
		t.Errorf("CountEntries = %d, %v; want 2", n, err)
	}
}

func testAppendToConversationStaleSeen(t *testing.T, f Factory) {
	e := newEnv(t, f)
	opened, _, err := e.s.OpenConversation(e.ctx, newConv("cv1", "cust-1", "sms:a", epoch))
	must(t, err, "OpenConversation")
	// An agent assigns the conversation after the caller read it.
	_, err = e.s.UpdateConversation(e.ctx, "cv1", func(c *store.Conversation) error { c.Assignee = "bob"; return nil })
	must(t, err, "UpdateConversation")
	for i, seen := range []store.Conversation{opened, {}, {ID: "cv1", CustomerID: "cust-1", Preview: "made up"}} {
		id := fmt.Sprintf("m_%d", i)
		en := newEntry(id, "cust-1", epoch.Add(time.Duration(i+1)*time.Minute))
		en.ConversationID = "cv1"
		_, conv, created, err := e.s.AppendToConversation(e.ctx, en, seen, touch(id, en.OccurredAt))
		must(t, err, "AppendToConversation with seen copy %d", i)
		if !created {
			t.Errorf("AppendToConversation with seen copy %d: created = false", i)
		}
		if conv.Assignee != "bob" || !strings.HasSuffix(conv.Preview, "["+id+"]") || strings.Contains(conv.Preview, "made up") {
			t.Errorf("AppendToConversation with stale seen copy %d: conversation %+v; want the assignment kept and fn applied to the stored state", i, conv)
		}
	}
	stored, err := e.s.GetConversation(e.ctx, "cv1")
	must(t, err, "GetConversation")
	if stored.Assignee != "bob" || stored.Preview != opened.Preview+"[m_0][m_1][m_2]" || stored.Version != opened.Version+4 {
		t.Errorf("conversation after three appends with stale copies = %+v; want assignee bob, preview %q, version %d", stored, opened.Preview+"[m_0][m_1][m_2]", opened.Version+4)
	}
}

func testAppendToConversationRefused(t *testing.T, f Factory) {
	e := newEnv(t, f)
	opened, _, err := e.s.OpenConversation(e.ctx, newConv("cv1", "cust-1", "sms:a", epoch))
	must(t, err, "OpenConversation")
	en := newEntry("m_1", "cust-1", epoch.Add(time.Minute))
	en.ConversationID = "cv1"
	_, _, _, err = e.s.AppendToConversation(e.ctx, en, opened, func(c *store.Conversation) error { return errBoom })
	checkAbort(t, err, "AppendToConversation with fn returning an error")
	missing := newEntry("m_2", "cust-1", epoch.Add(time.Minute))
	missing.ConversationID = "cv-missing"
	_, _, _, err = e.s.AppendToConversation(e.ctx, missing, store.Conversation{}, touch("m_2", missing.OccurredAt))
	wantErr(t, err, store.ErrNotFound, "AppendToConversation to a missing conversation")
	for _, id := range []string{"m_1", "m_2"} {
		if _, err := e.s.GetEntry(e.ctx, id); err == nil {
			t.Errorf("entry %s stored by a refused AppendToConversation", id)
		}
	}
	stored, err := e.s.GetConversation(e.ctx, "cv1")
	must(t, err, "GetConversation")
	if stored.Version != opened.Version {
		t.Errorf("conversation changed by a refused AppendToConversation: %+v", stored)
	}
	// A refused call leaves the id free: the same entry can still be added.
	_, _, created, err := e.s.AppendToConversation(e.ctx, en, opened, touch("m_1", en.OccurredAt))
	must(t, err, "AppendToConversation after a refused one")
	if !created {
		t.Errorf("AppendToConversation after a refused one: created = false")
	}
}

func testAppendToConversationConcurrent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	opened, _, err := e.s.OpenConversation(e.ctx, newConv("cv1", "cust-1", "sms:a", epoch))
	must(t, err, "OpenConversation")
	// 16 callers: 8 distinct messages, each delivered twice at once, all
	// starting from the same (soon stale) copy of the conversation.
	const n = 16
	created := make([]bool, n)
	errs := make([]error, n)
	concurrently(t, n, func(i int) {
		id := fmt.Sprintf("m_%02d", i/2)
		en := newEntry(id, "cust-1", epoch.Add(time.Duration(i/2+1)*time.Second))
		en.ConversationID = "cv1"
		_, _, created[i], errs[i] = e.s.AppendToConversation(e.ctx, en, opened, touch(id, en.OccurredAt))
	})
	for i, err := range errs {
		if err != nil {
			t.Errorf("AppendToConversation #%d: %v", i, err)
		}
	}
	for m := 0; m < n/2; m++ {
		if created[2*m] == created[2*m+1] {
			t.Errorf("message m_%02d delivered twice at once: created = %v and %v, want exactly one true", m, created[2*m], created[2*m+1])
		}
	}
	stored, err := e.s.GetConversation(e.ctx, "cv1")
	must(t, err, "GetConversation")
	for m := 0; m < n/2; m++ {
		if c := strings.Count(stored.Preview, fmt.Sprintf("[m_%02d]", m)); c != 1 {
			t.Errorf("message m_%02d applied %d times to the conversation (preview %q), want once", m, c, stored.Preview)
		}
	}
	if stored.Version != opened.Version+n/2 {
		t.Errorf("conversation Version = %d, want %d (one update per message)", stored.Version, opened.Version+n/2)
	}
	if want := epoch.Add(n / 2 * time.Second); !stored.LastActivity.Equal(want) {
		t.Errorf("LastActivity = %v, want %v (the latest message)", stored.LastActivity, want)
	}
	if cnt, err := e.s.CountEntries(e.ctx, "cust-1"); err != nil || cnt != n/2 {
		t.Errorf("CountEntries = %d, %v; want %d", cnt, err, n/2)
	}
}
