package router_test

import (
	"context"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/erasure"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// TestThreadingChain runs each step of the email threading chain on both
// stores: a reference the hub has seen, the subject token, the
// Thread-Index root, the subject within the window (and not after it),
// never another customer's conversation, and one mail through two
// mailboxes as one entry.
func TestThreadingChain(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive, Trusted: true},
			{Name: "mail2", Type: "email", Phase: store.PhaseLive, Trusted: true},
			{Name: "mail3", Type: "email", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
		in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{})
		t0 := time.Now().UTC().Add(-30 * 24 * time.Hour).Truncate(time.Second)
		n := 0
		send := func(channel, from, msgID, subject string, at time.Time, hints connectors.ThreadHints) store.Entry {
			t.Helper()
			n++
			hints.MessageID, hints.Subject, hints.Window = msgID, connectors.NormalizeSubject(subject), 14*24*time.Hour
			hints.Mailbox = channel + "/INBOX"
			m, err := in.Prepare(connectors.Message{Channel: channel, ProviderID: "INBOX/<" + msgID + ">", ThreadKey: msgID, Subject: subject,
				Text: subject, OccurredAt: at, Fields: []connectors.Field{{Name: "Message-ID", Value: "<" + msgID + ">"}}, Identities: []connectors.Identity{{Type: connectors.Email, Value: from}}, Thread: &hints})
			if err != nil {
				t.Fatal(err)
			}
			if err := rt.Process(ctx, m); err != nil {
				t.Fatal(err)
			}
			b, err := st.LookupIdentity(ctx, connectors.Email, from)
			if err != nil {
				t.Fatalf("message %s: sender: %v", msgID, err)
			}
			e, err := st.GetEntry(ctx, router.MailEntryID(b.CustomerID, msgID))
			if err != nil {
				t.Fatalf("message %s: %v", msgID, err)
			}
			return e
		}
		first := send("mail", "ann@customer.example", "a1@c", "Broken lamp", t0, connectors.ThreadHints{})
		conv := first.ConversationID
		for _, tc := range []struct {
			name    string
			from    string
			subject string
			at      time.Duration
			hints   connectors.ThreadHints
			same    bool
		}{
			{"reference seen", "ann@customer.example", "Rewritten", time.Hour, connectors.ThreadHints{Refs: []string{"zz@elsewhere", "a1@c"}}, true},
			{"token", "ann@customer.example", "Antw: my lamp", 2 * time.Hour, connectors.ThreadHints{Token: connectors.ConversationToken(conv)}, true},
			{"thread-index", "ann@customer.example", "RE: lamp?", 3 * time.Hour, connectors.ThreadHints{IndexRoot: connectors.ThreadIndexRoot(conv)}, true},
			{"subject in window", "ann@customer.example", "VS: SV: AW: Broken lamp", 13 * 24 * time.Hour, connectors.ThreadHints{}, true},
			{"subject after the window", "ann@customer.example", "Re: Broken lamp", 28 * 24 * time.Hour, connectors.ThreadHints{}, false},
			{"another customer's reference", "bob@other.example", "Re: Broken lamp", 3 * time.Hour, connectors.ThreadHints{Refs: []string{"a1@c"}, Token: connectors.ConversationToken(conv)}, false},
			{"new topic", "ann@customer.example", "Invoice", 4 * time.Hour, connectors.ThreadHints{}, false},
		} {
			if tc.name == "another customer's reference" {
				// Bob also forges a mail reusing Ann's first Message-ID:
				// it stays his, and her record stays hers.
				forged := send("mail3", "bob@other.example", "a1@c", "Broken lamp", t0.Add(90*time.Minute), connectors.ThreadHints{})
				if forged.CustomerID == first.CustomerID || forged.ConversationID == conv {
					t.Fatalf("a forged Message-ID joined Ann: %+v", forged)
				}
			}
			e := send("mail", tc.from, "m"+string(rune('a'+n))+"@c", tc.subject, t0.Add(tc.at), tc.hints)
			if got := e.ConversationID == conv; got != tc.same {
				t.Errorf("%s: same conversation = %v, want %v", tc.name, got, tc.same)
			}
			if tc.name == "subject in window" && !hasField(e.Fields, router.ThreadedByField) {
				t.Errorf("%s: fields %+v, want %q saying why", tc.name, e.Fields, router.ThreadedByField)
			}
		}
		// The first mail again through the second mailbox: no new entry.
		dup := send2(t, ctx, st, in, rt, "mail2", "a1@c")
		if dup {
			t.Fatal("the second mailbox's copy has an entry of its own")
		}
		e, err := st.GetEntry(ctx, first.ID)
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, f := range e.Fields {
			found = found || f.Name == router.MailboxesField && f.Value == "mail/INBOX, mail2/INBOX"
		}
		if !found {
			t.Fatalf("fields %+v, want Mailboxes listing both", e.Fields)
		}
		// After erasure, the second mailbox's copy fetched again (a
		// resync) does not bring Ann back, though it never had an entry
		// id of its own to bury.
		if _, err := erasure.Erase(ctx, st, nil, e.CustomerID, "admin", store.SystemClock, rt.Conversations().Delete); err != nil {
			t.Fatal(err)
		}
		if send2(t, ctx, st, in, rt, "mail2", "a1@c") {
			t.Fatal("a copy of the erased mail made a new entry")
		}
		if _, err := st.LookupIdentity(ctx, connectors.Email, "ann@customer.example"); err == nil {
			t.Fatal("a copy of the erased mail brought the person back")
		}
		if _, err := st.LookupClaim(ctx, connectors.Email, "ann@customer.example"); err == nil {
			t.Fatal("a copy of the erased mail brought the person back (claim)")
		}
	})
}

// send2 processes the copy of mail msgID that reached channel and reports
// whether it got an entry of its own.
func send2(t *testing.T, ctx context.Context, st store.Store, in *router.Ingest, rt *router.Router, channel, msgID string) bool {
	m, err := in.Prepare(connectors.Message{Channel: channel, ProviderID: "INBOX/<" + msgID + ">", ThreadKey: msgID, Subject: "Broken lamp",
		Text: "Broken lamp", Fields: []connectors.Field{{Name: "Message-ID", Value: "<" + msgID + ">"}}, Identities: []connectors.Identity{{Type: connectors.Email, Value: "ann@customer.example"}},
		Thread: &connectors.ThreadHints{MessageID: msgID, Mailbox: channel + "/INBOX"}})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // a redelivery changes nothing either
		if err := rt.Process(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	_, err = st.GetEntry(ctx, m.ID)
	return err == nil
}

func hasField(fs []connectors.Field, name string) bool {
	for _, f := range fs {
		if f.Name == name {
			return true
		}
	}
	return false
}
