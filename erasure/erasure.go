package erasure

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// ErrHeld: the person is under a legal hold (store.Hold), so erasure is
// refused until the hold is released.
var ErrHeld = errors.New("customer is under a legal hold")

// Report says what an erasure removed.
type Report struct {
	Customers      []string `json:"customers"`
	Identities     int      `json:"identities"`
	Entries        int      `json:"entries"`
	Attachments    int      `json:"attachments"`
	Conversations  int      `json:"conversations"`
	Quarantined    int      `json:"quarantined"`
	MergesScrubbed int      `json:"merges_scrubbed"`
	// SharedAttachments are blobs left in place because another
	// customer's entries still reference them (store.BlobRefs).
	SharedAttachments int `json:"shared_attachments"`
	// Tombstones are the keyed hashes of inbound message ids kept so a
	// provider's replay does not bring the person back.
	Tombstones int `json:"tombstones"`
	// Compacted: the embedded store's file was rewritten without the
	// pages that held the person's records.
	Compacted bool `json:"compacted"`
	// DeadLetters are dead-lettered queue items removed (eraseParked):
	// inbound messages that carried one of the person's identities, and
	// the outbound items of their replies.
	DeadLetters int `json:"dead_letters"`
	// Queued are the person's inbound messages taken from the ingest
	// queue, not yet processed (each also got a tombstone, for one a
	// router held at that moment).
	Queued int `json:"queued"`
}

// Compactor is a store whose freed space can still hold erased bytes and
// that can rewrite itself without them (the embedded store).
type Compactor interface {
	Compact(ctx context.Context) error
}

// Erase removes a person completely (DESIGN invariant 7): every customer
// record of their merged view, the identity bindings and claims pointing at
// them, every timeline entry and its attachment blobs, their conversations,
// consents, their messages parked outside any timeline (quarantined or
// dead-lettered: eraseParked), and the evidence text of merges and
// suggestions that name them (the merge records keep only opaque ids).
// Each step is idempotent, and the customer records go last, so an erasure
// interrupted by a crash or an error is finished by running it again.
//
// deleteConversation deletes each of the person's conversations: the
// conversation service's Delete (timeline.Service.Delete), which also
// takes the conversation off its assignee's load, so each conversation is
// deleted, and its load released, exactly once. Erasure itself writes no
// conversation and knows nothing about load.
func Erase(ctx context.Context, st store.Store, blobs connectors.Blobs, customerID, by string, clock store.Clock, deleteConversation func(context.Context, store.Conversation) error) (Report, error) {
	var rep Report
	v, err := timeline.Load(ctx, st, customerID)
	if err != nil {
		return rep, err
	}
	rep.Customers = v.IDs()
	if held, ok := v.Held(); ok {
		return rep, fmt.Errorf("erase %s: %w", held, ErrHeld)
	}
	tombs := store.NewTombstoner(st)
	shared := map[string]int{} // blob → references left after this person's last one
	var ids []connectors.Identity
	entryIDs := map[string]bool{} // for the outbound dead letters of their replies
	for _, c := range v.Members {
		ids = append(ids, c.Identities...)
	}
	for _, c := range v.Members {
		for _, id := range c.Identities {
			if err := st.UnbindIdentity(ctx, id.Type, id.Value, c.ID); err != nil {
				return rep, fmt.Errorf("erase: unbind %s: %w", id.Type, err)
			}
			rep.Identities++
		}
		// The name hints (a hash of the name and an email domain or phone prefix).
		for _, h := range identity.NameHints(c.Name, c.Identities) {
			if err := st.UnbindIdentity(ctx, identity.NameHintType, h.Key, c.ID); err != nil {
				return rep, fmt.Errorf("erase: unbind name hint: %w", err)
			}
		}
		// Attachments first: once the entries are gone nothing names the blobs.
		for before := ""; ; {
			es, err := st.PageEntries(ctx, c.ID, before, 500)
			if err != nil {
				return rep, err
			}
			for _, e := range es {
				entryIDs[e.ID] = true
				// A replay of an inbound message must not bring the
				// person back: its id's keyed hash outlives the entry.
				if e.Direction == connectors.Inbound && e.Kind == store.KindMessage {
					if err := tombs.Bury(ctx, e.ID, clock().UTC()); err != nil {
						return rep, fmt.Errorf("erase: tombstone: %w", err)
					}
					rep.Tombstones++
					// A mail's copy that reached another mailbox was
					// folded into this entry (no id of its own): its
					// Message-ID is buried too (store.MessageIDTombstone).
					for _, f := range e.Fields {
						if f.Name == "Message-ID" {
							if err := tombs.Bury(ctx, store.MessageIDTombstone(f.Value), clock().UTC()); err != nil {
								return rep, fmt.Errorf("erase: tombstone: %w", err)
							}
						}
					}
				}
				for _, a := range e.Attachments {
					if a.SHA256 == "" {
						continue
					}
					left, err := store.DropBlobRef(ctx, st, blobs, a.SHA256, e.ID)
					if err != nil {
						return rep, fmt.Errorf("erase: %w", err)
					}
					shared[a.SHA256] = left
				}
			}
			if len(es) < 500 {
				break
			}
			before = es[len(es)-1].SortKey()
		}
		n, err := st.DeleteEntries(ctx, c.ID)
		if err != nil {
			return rep, err
		}
		rep.Entries += n
		for {
			cs, _, err := st.ListConversations(ctx, store.ConversationFilter{CustomerIDs: []string{c.ID}, Limit: 500})
			if err != nil {
				return rep, err
			}
			for _, conv := range cs {
				if err := deleteConversation(ctx, conv); err != nil {
					return rep, err
				}
				rep.Conversations++
			}
			if len(cs) < 500 {
				break
			}
		}
		if err := st.DeleteConsents(ctx, c.ID); err != nil {
			return rep, err
		}
		// Outgoing webhook events about the person, delivered or not.
		if _, err := st.DeleteWebhookCustomer(ctx, c.ID); err != nil {
			return rep, fmt.Errorf("erase: webhook events: %w", err)
		}
		ms, err := st.ListMerges(ctx, c.ID)
		if err != nil {
			return rep, err
		}
		for _, m := range ms {
			if m.Evidence == "erased" && m.MessageID == "" && m.Identity == "" {
				continue
			}
			if _, err := st.UpdateMerge(ctx, m.ID, func(x *store.Merge) error {
				x.Evidence, x.MessageID, x.Identity = "erased", "", ""
				if x.Status == store.MergeProposed {
					x.Status = store.MergeRejected
				}
				return nil
			}); err != nil && !errors.Is(err, store.ErrNotFound) {
				return rep, err
			}
			rep.MergesScrubbed++
		}
	}
	// Their messages parked outside any timeline: quarantined or dead-lettered.
	p, err := eraseParked(ctx, st, tombs, clock().UTC(), ids, entryIDs)
	rep.Quarantined, rep.DeadLetters, rep.Queued = p.quarantined, p.dead, p.queued
	if err != nil {
		return rep, err
	}
	for _, left := range shared {
		if left > 0 {
			rep.SharedAttachments++
		} else {
			rep.Attachments++
		}
	}
	// The audit goes before the customer records: while they exist a
	// failed audit can be retried (the API answers 5xx, and running the
	// erasure again finishes it and writes the record); once they are gone
	// nothing would run it again.
	if err := st.AppendAudit(ctx, store.AuditRecord{At: clock().UTC(), Actor: by, Action: "customer.erase", Target: v.Root.ID,
		Detail: fmt.Sprintf("%d customer record(s), %d entries, %d attachments (%d shared kept), %d tombstones, %d quarantined, %d dead letters, %d queued", len(rep.Customers), rep.Entries, rep.Attachments, rep.SharedAttachments, rep.Tombstones, rep.Quarantined, rep.DeadLetters, rep.Queued)}); err != nil {
		return rep, fmt.Errorf("erase: %w: %w", store.ErrAuditFailed, err)
	}
	for _, c := range v.Members {
		if err := st.DeleteCustomer(ctx, c.ID); err != nil {
			return rep, err
		}
	}
	// bbolt frees the pages that held the records but never overwrites
	// them: the file is rewritten with the live records only.
	if c, ok := st.(Compactor); ok {
		if err := c.Compact(ctx); err != nil {
			return rep, fmt.Errorf("erase: compact: %w", err)
		}
		rep.Compacted = true
	}
	return rep, nil
}
