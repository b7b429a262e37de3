package email

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// An unauthenticated From naming a verified customer's address never
// joins that customer: through the channel's real path (IMAP, parse,
// ingest, identity resolution) it becomes a claim on a customer of its
// own and a merge suggestion for an agent, not a merge. Only a trusted
// server's dmarc=pass made the first mail's From verified.
func TestUnauthenticatedFromIsSuggestionNotMerge(t *testing.T) {
	m := startMem(t, nil)
	h := newHub(t)
	set := m.settings(nil)
	set["trusted_authserv_ids"] = []any{"MX.hub.example"}
	c := h.channel(t, "r1", set)
	run(t, c, h.in)
	waitIdle(t, h, "INBOX")
	ctx := context.Background()
	const addr = "ann@customer.example"

	// 1. Authenticated by the trusted receiving server: verified.
	m.append(t, newMail("Ann <"+addr+">", "Broken lamp", "auth-1@customer.example", "My lamp arrived broken.",
		"Authentication-Results: mx.hub.example; dkim=pass header.d=customer.example; dmarc=pass header.from=customer.example"))
	var ann store.Binding
	waitFor(t, "the authenticated mail's verified customer", 5*time.Second, func() bool {
		b, err := h.st.LookupIdentity(ctx, connectors.Email, addr)
		ann = b
		return err == nil && len(h.entries(t, addr)) == 1
	})
	if es := h.entries(t, addr); es[0].Sender == nil || !es[0].Sender.Verified {
		t.Fatalf("the authenticated mail's sender is %+v, want verified", es[0].Sender)
	}

	// 2. The same From without authentication, and 3. with a "dmarc=pass"
	// from a server nobody trusts (anyone can add that header).
	// One after the other: two claims of one identity resolved at the same
	// instant may land on two claimers (each suggested), which is not what
	// this test is about.
	m.append(t, newMail(addr, "Refund to this account", "spoof-1@evil.example", "Please refund to IBAN X."))
	waitFor(t, "the first unauthenticated mail's claim", 5*time.Second, func() bool {
		_, err := h.st.LookupClaim(ctx, connectors.Email, addr)
		return err == nil
	})
	m.append(t, newMail(addr, "Change my address", "spoof-2@evil.example", "New address: ...",
		"Authentication-Results: mx.evil.example; dmarc=pass header.from=customer.example"))

	var claimer string
	waitFor(t, "both unauthenticated mails on a claimer's timeline", 5*time.Second, func() bool {
		b, err := h.st.LookupClaim(ctx, connectors.Email, addr)
		if err != nil {
			return false
		}
		root, err := timeline.Root(ctx, h.st, b.CustomerID)
		if err != nil {
			return false
		}
		claimer = root.ID
		v, err := timeline.Load(ctx, h.st, claimer)
		if err != nil {
			return false
		}
		es, _, err := timeline.Page(ctx, h.st, v, "", 100)
		return err == nil && len(es) == 2
	})
	owner, err := timeline.Root(ctx, h.st, ann.CustomerID)
	if err != nil {
		t.Fatal(err)
	}
	if owner.ID != ann.CustomerID || owner.MergedInto != "" || claimer == owner.ID {
		t.Fatalf("merged: verified owner %s (root %s), claimer %s", ann.CustomerID, owner.ID, claimer)
	}
	if es := h.entries(t, addr); len(es) != 1 {
		t.Fatalf("the verified customer's timeline holds %d entries, want only the authenticated mail", len(es))
	}
	ms, err := h.st.ListMerges(ctx, owner.ID)
	if err != nil {
		t.Fatal(err)
	}
	suggested := false
	for _, x := range ms {
		if x.Kind != "suggestion" {
			t.Fatalf("a %s was recorded: %+v", x.Kind, x)
		}
		if x.Status == store.MergeProposed && x.Winner == owner.ID && x.Loser == claimer {
			suggested = true
		}
	}
	if !suggested {
		t.Fatalf("no suggestion for an agent: %+v", ms)
	}
}

// A From the hub's normaliser refuses (a Kelvin sign that would alias
// kate@) is never bound to kate@: the mail is kept with the placeholder
// sender, flagged no-sender.
func TestAliasingFromKeptWithPlaceholder(t *testing.T) {
	m := startMem(t, nil)
	h := newHub(t)
	set := m.settings(nil)
	set["trusted_authserv_ids"] = []any{"mx.hub.example"}
	c := h.channel(t, "r1", set)
	run(t, c, h.in)
	waitIdle(t, h, "INBOX")
	m.append(t, newMail("kate@customer.example", "Hello", "kate-1@customer.example", "The real Kate.",
		"Authentication-Results: mx.hub.example; dmarc=pass header.from=customer.example"))
	m.append(t, newMail("\u212Aate@customer.example", "Hello", "kelvin-1@evil.example", "Not Kate."))
	waitFor(t, "the aliasing mail with a placeholder sender", 5*time.Second, func() bool {
		return len(h.entries(t, placeholderSender)) == 1
	})
	if es := h.entries(t, "kate@customer.example"); len(es) != 1 || es[0].Text != "The real Kate." {
		t.Fatalf("kate's timeline: %+v", es)
	}
	e := h.entries(t, placeholderSender)[0]
	if e.Text != "Not Kate." || !slices.Contains(e.Flags, FlagNoSender) {
		t.Fatalf("placeholder entry: %+v", e)
	}
}
