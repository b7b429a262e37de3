package erasure

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Report says what an erasure removed.
type Report struct {
	Customers      []string `json:"customers"`
	Identities     int      `json:"identities"`
	Entries        int      `json:"entries"`
	Attachments    int      `json:"attachments"`
	Conversations  int      `json:"conversations"`
	Quarantined    int      `json:"quarantined"`
	MergesScrubbed int      `json:"merges_scrubbed"`
}

// Erase removes a person completely (DESIGN invariant 7): every customer
// record of their merged view, the identity bindings and claims pointing at
// them, every timeline entry and its attachment blobs, their conversations,
// consents and quarantined messages, and the evidence text of merges and
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
	var ids []connectors.Identity
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
		// Attachments first: once the entries are gone nothing names the blobs.
		for before := ""; ; {
			es, err := st.PageEntries(ctx, c.ID, before, 500)
			if err != nil {
				return rep, err
			}
			for _, e := range es {
				for _, a := range e.Attachments {
					if a.SHA256 != "" && blobs != nil {
						if err := blobs.Delete(ctx, a.SHA256); err != nil {
							return rep, fmt.Errorf("erase: attachment: %w", err)
						}
						rep.Attachments++
					}
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
			if m.Evidence == "erased" && m.MessageID == "" {
				continue
			}
			if _, err := st.UpdateMerge(ctx, m.ID, func(x *store.Merge) error {
				x.Evidence, x.MessageID = "erased", ""
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
	// Quarantined messages from any of the person's identities.
	qs, err := st.ListQuarantine(ctx, "", 100000)
	if err != nil {
		return rep, err
	}
	for _, q := range qs {
		var m connectors.Message
		if json.Unmarshal(q.Payload, &m) != nil {
			continue
		}
		if slices.ContainsFunc(m.Identities, func(x connectors.Identity) bool {
			return slices.ContainsFunc(ids, func(y connectors.Identity) bool { return x.Type == y.Type && x.Value == y.Value })
		}) {
			if _, err := st.TakeQuarantine(ctx, q.ID); err == nil {
				rep.Quarantined++
			}
		}
	}
	// The audit goes before the customer records: while they exist a
	// failed audit can be retried (the API answers 5xx, and running the
	// erasure again finishes it and writes the record); once they are gone
	// nothing would run it again.
	if err := st.AppendAudit(ctx, store.AuditRecord{At: clock().UTC(), Actor: by, Action: "customer.erase", Target: v.Root.ID,
		Detail: fmt.Sprintf("%d customer record(s), %d entries, %d attachments", len(rep.Customers), rep.Entries, rep.Attachments)}); err != nil {
		return rep, fmt.Errorf("erase: audit: %w", err)
	}
	for _, c := range v.Members {
		if err := st.DeleteCustomer(ctx, c.ID); err != nil {
			return rep, err
		}
	}
	return rep, nil
}
