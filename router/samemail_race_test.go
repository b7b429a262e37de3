package router_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// TestOneMailTwoMailboxesTwoReplicas: the same mail (one Message-ID, one
// sender) reaching two email channels is processed by two Router
// instances (two replicas) at the same moment, round after round: each
// round makes exactly one entry, listing both mailboxes, and a redelivery
// of either copy adds nothing.
func TestOneMailTwoMailboxesTwoReplicas(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		chans := []directory.Channel{{Name: "support-mail", Type: "email", Phase: store.PhaseLive, Trusted: true},
			{Name: "sales-mail", Type: "email", Phase: store.PhaseLive, Trusted: true}}
		dir := directory.New(st, chans, store.SystemClock, nil)
		in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
		replicas := []*router.Router{router.New(st, dir, router.Options{}), router.New(st, dir, router.Options{})}
		t0 := time.Now().UTC().Add(-time.Hour).Truncate(time.Second)
		const rounds = 50
		for round := range rounds {
			from := fmt.Sprintf("race%d@customer.example", round)
			msgID := fmt.Sprintf("race-%d-%d@customer.example", round, t0.UnixNano())
			copies := make([]connectors.Message, 2)
			for i, ch := range chans {
				hints := connectors.ThreadHints{MessageID: msgID, Mailbox: ch.Name + "/INBOX"}
				m, err := in.Prepare(connectors.Message{Channel: ch.Name, ProviderID: "INBOX/<" + msgID + ">", ThreadKey: msgID,
					Subject: "Two mailboxes", Text: "one mail", OccurredAt: t0.Add(time.Duration(round) * time.Second),
					Fields:     []connectors.Field{{Name: "Message-ID", Value: "<" + msgID + ">"}},
					Identities: []connectors.Identity{{Type: connectors.Email, Value: from}}, Thread: &hints})
				if err != nil {
					t.Fatal(err)
				}
				copies[i] = m
			}
			start := make(chan struct{})
			errs := make([]error, 2)
			var wg sync.WaitGroup
			for i := range copies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					<-start
					errs[i] = replicas[i].Process(ctx, copies[i])
				}()
			}
			close(start)
			wg.Wait()
			for _, err := range errs {
				if err != nil {
					t.Fatal(err)
				}
			}
			// A redelivery of each copy, on the other replica.
			for i := range copies {
				if err := replicas[1-i].Process(ctx, copies[i]); err != nil {
					t.Fatal(err)
				}
			}
			id, err := st.GetProviderID(ctx, router.MessageIDIndex, "<"+msgID+">")
			if err != nil {
				t.Fatalf("round %d: Message-ID not indexed: %v", round, err)
			}
			e, err := st.GetEntry(ctx, id)
			if err != nil {
				t.Fatalf("round %d: entry %s: %v", round, id, err)
			}
			es, err := st.PageEntries(ctx, e.CustomerID, "", 10)
			if err != nil {
				t.Fatal(err)
			}
			if len(es) != 1 {
				t.Fatalf("round %d: %d entries for one mail through two mailboxes, want 1", round, len(es))
			}
			for _, mb := range []string{"support-mail/INBOX", "sales-mail/INBOX"} {
				if !listsMailbox(es[0].Fields, mb) {
					t.Fatalf("round %d: entry fields %+v, want %s in %s", round, es[0].Fields, mb, router.MailboxesField)
				}
			}
			cs, _, err := st.ListConversations(ctx, store.ConversationFilter{CustomerIDs: []string{e.CustomerID}})
			if err != nil {
				t.Fatal(err)
			}
			if len(cs) != 1 {
				t.Fatalf("round %d: %d conversations, want 1", round, len(cs))
			}
		}
	})
}

func listsMailbox(fs []connectors.Field, mb string) bool {
	for _, f := range fs {
		if f.Name != router.MailboxesField {
			continue
		}
		for _, x := range splitMailboxes(f.Value) {
			if x == mb {
				return true
			}
		}
	}
	return false
}

func splitMailboxes(v string) []string {
	var out []string
	for len(v) > 0 {
		i := 0
		for i < len(v) && v[i] != ',' {
			i++
		}
		out = append(out, v[:i])
		if i == len(v) {
			break
		}
		v = v[i+1:]
		for len(v) > 0 && v[0] == ' ' {
			v = v[1:]
		}
	}
	return out
}
