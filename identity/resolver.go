package identity

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Identity resolution (DESIGN invariant 4).
//
// Two indexes: verified bindings (store.BindIdentity) and claims
// (store.BindClaim). Only verified identities decide whose timeline a
// message joins, and only they merge customers automatically. A claimed
// identity joins a customer only through the claim index (so repeated
// claims cluster on one "claimer" customer); when it is verified-bound to
// someone else, or claimed by a different customer than the one the
// message resolved to, a merge suggestion is recorded instead.
//
// Merges never move data: the loser's record gets MergedInto = winner and
// the winner lists the loser in Members. Timelines join members when read,
// so an unmerge is just undoing the two links. The winner of an automatic
// merge is always the smaller (older, ids are time-ordered) root, and the
// loser's MergedInto is set by compare-and-swap only while empty: however
// many workers merge linked customers at once, the links form a forest that
// converges on the oldest root (invariant 5).

var errRetryMerge = errors.New("merge raced; retry")

// Resolution is the outcome of resolving one message's identities.
type Resolution struct {
	Customer    string // root customer the message belongs to
	Suggestions int    // merge suggestions recorded for agents
	Merges      int    // automatic merges made
	// Created: the message made a new customer.
	Created bool
	// MatchedVerified: a verified identity of the message was already bound
	// and decided the customer; MatchedClaimed: a claim index entry did.
	MatchedVerified, MatchedClaimed bool
	// SuggestionRaised: at least one suggestion is now waiting for agents
	// because of this message; SuggestionIDs names them.
	SuggestionRaised bool
	SuggestionIDs    []string
}

// Evidence kinds of a suggestion (store.Merge.EvidenceKind).
const (
	// EvidenceClaimOfVerified: a message claimed an identity that is
	// verified for another customer.
	EvidenceClaimOfVerified = "claim_of_verified"
	// EvidenceVerifiedOfClaim: an identity became verified for one customer
	// while another holds it claimed.
	EvidenceVerifiedOfClaim = "verified_of_claim"
	// EvidenceUndoneMerge: verified evidence joined two customers whose
	// merge an agent had undone.
	EvidenceUndoneMerge = "undone_merge"
	// EvidenceAgent: an agent's identity correction created the conflict.
	EvidenceAgent = "agent_identity"
)

// evidence is why a pair is suggested, in parts and in words.
type evidence struct {
	kind     string
	identity string // "type:value", may be empty
	channel  string
	text     string
}

// key is what a rejection remembers: the identity that links the pair
// (whichever way round it was verified and claimed), or for evidence
// without one, its kind.
func (e evidence) key() string {
	if e.identity != "" {
		return "identity|" + e.identity
	}
	return e.kind
}

// Resolver applies the identity rules.
type Resolver struct {
	st      store.Store
	clock   store.Clock
	metrics *Metrics
	log     *slog.Logger
	hooks   timeline.Recorder // outgoing webhooks (webhooks.go)
}

// NewResolver returns a resolver over st. m may be nil (nothing counted),
// log too (slog.Default).
func NewResolver(st store.Store, clock store.Clock, m *Metrics, log *slog.Logger) *Resolver {
	if log == nil {
		log = slog.Default()
	}
	return &Resolver{st: st, clock: clock, metrics: m, log: log}
}

func (r *Resolver) root(ctx context.Context, id string) (string, error) {
	c, err := timeline.Root(ctx, r.st, id)
	if err != nil {
		return "", err
	}
	return c.ID, nil
}

// Resolve finds or creates the customer msg belongs to, binding its
// identities and recording merges or suggestions.
func (r *Resolver) Resolve(ctx context.Context, msg connectors.Message) (Resolution, error) {
	var res Resolution
	var verified, claimed []connectors.Identity
	for _, id := range msg.Identities {
		if id.Verified {
			verified = append(verified, id)
		} else {
			claimed = append(claimed, id)
		}
	}
	// holder: the customer record (not root) each identity of msg is listed
	// on, which is the record its binding names. Listing it on the root
	// instead would leave it on both customers after an unmerge.
	holder := map[string]string{}

	// 1. Verified identities already bound decide the customer; several
	// customers found this way are one person: merge them.
	var roots []string
	bound := map[string]bool{} // verified identities found bound to a root in roots
	records := map[string]store.Customer{}
	for _, id := range verified {
		b, err := r.st.LookupIdentity(ctx, id.Type, id.Value)
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return res, err
		}
		root, err := timeline.Root(ctx, r.st, b.CustomerID)
		if err != nil {
			return res, err
		}
		bound[id.Key()] = true
		holder[id.Key()] = b.CustomerID
		records[root.ID] = root
		if !slices.Contains(roots, root.ID) {
			roots = append(roots, root.ID)
		}
	}
	cust := ""
	if len(roots) > 0 {
		res.MatchedVerified = true
		slices.Sort(roots)
		cust = roots[0]
		for _, other := range roots[1:] {
			w, err := r.autoMerge(ctx, cust, other, msg, fmt.Sprintf("message %s on channel %s carried verified identities %s", msg.ID, msg.Channel, keys(verified)), &res)
			if err != nil {
				return res, err
			}
			cust = w
			res.Merges++
		}
	}

	// 2. Claimed identities: note whom they belong to.
	type conflict struct {
		id    connectors.Identity
		owner string
	}
	var conflicts []conflict
	for _, id := range claimed {
		if b, err := r.st.LookupIdentity(ctx, id.Type, id.Value); err == nil {
			owner, err := r.root(ctx, b.CustomerID)
			if err != nil {
				return res, err
			}
			if owner != cust {
				conflicts = append(conflicts, conflict{id, owner})
			} else {
				holder[id.Key()] = b.CustomerID
			}
			continue
		} else if !errors.Is(err, store.ErrNotFound) {
			return res, err
		}
		if b, err := r.st.LookupClaim(ctx, id.Type, id.Value); err == nil {
			owner, err := r.root(ctx, b.CustomerID)
			if err != nil {
				return res, err
			}
			if cust == "" {
				cust = owner
				res.MatchedClaimed = true
			} else if owner != cust {
				conflicts = append(conflicts, conflict{id, owner})
			}
			if owner == cust {
				holder[id.Key()] = b.CustomerID
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return res, err
		}
	}
	// A message whose only claims belong verified to others: the claimer
	// customer is the one the claim index already holds, if any.
	if cust == "" {
		for _, c := range conflicts {
			if b, err := r.st.LookupClaim(ctx, c.id.Type, c.id.Value); err == nil {
				if cust, err = r.root(ctx, b.CustomerID); err != nil {
					return res, err
				}
				res.MatchedClaimed = true
				break
			}
		}
	}

	// 3. Nobody known: a new customer. The id is derived from the message so
	// a redelivery after a crash reuses it instead of creating another.
	now := r.clock().UTC()
	// fresh: cust was made for this message and nothing is bound to it yet.
	// If a concurrent worker binds the same new identity first, this
	// message simply joins that customer (there is nothing to merge, and a
	// merge would leave the thread with two conversations).
	fresh := false
	if cust == "" {
		cust = newCustomerIDFor(msg)
		fresh = true
		res.Created = true
		// customer.created before anything is bound to it: a redelivery
		// after a crash comes here again (the same id) and records it then.
		if err := r.createCustomer(ctx, store.Customer{ID: cust, Name: msg.SenderName, CreatedAt: now, UpdatedAt: now}, msg.ID, msg.ReceivedAt); err != nil {
			return res, err
		}
	}

	// 4. Bind what is unbound to cust. Losing a race to a concurrent binder is
	// handled like finding the binding in step 1 or 2.
	var newlyVerified []connectors.Identity // bound to cust by this message
	for _, id := range verified {
		if bound[id.Key()] && res.Merges == 0 {
			continue // found bound to cust in step 1
		}
		b, created, err := r.st.BindIdentity(ctx, store.Binding{Type: id.Type, Value: id.Value, CustomerID: cust, Verified: true, Channel: msg.Channel, MessageID: msg.ID, CreatedAt: now})
		if err != nil {
			return res, err
		}
		holder[id.Key()] = b.CustomerID
		if created {
			fresh = false
			newlyVerified = append(newlyVerified, id)
			continue
		}
		owner, err := r.root(ctx, b.CustomerID)
		if err != nil {
			return res, err
		}
		if owner != cust && fresh {
			// Lost the race for a brand-new identity: join the winner and
			// drop the empty record made for this message.
			r.dropFresh(ctx, cust)
			cust, fresh = owner, false
			res.Created = false
			continue
		}
		if owner != cust {
			w, err := r.autoMerge(ctx, cust, owner, msg, fmt.Sprintf("message %s on channel %s carried verified identity %s", msg.ID, msg.Channel, id.Key()), &res)
			if err != nil {
				return res, err
			}
			cust = w
			res.Merges++
		}
	}
	for _, id := range claimed {
		if slices.ContainsFunc(conflicts, func(c conflict) bool { return c.id == id }) {
			continue
		}
		if _, err := r.st.LookupIdentity(ctx, id.Type, id.Value); err == nil {
			continue // verified-bound to cust itself
		}
		b, created, err := r.st.BindClaim(ctx, store.Binding{Type: id.Type, Value: id.Value, CustomerID: cust, Channel: msg.Channel, MessageID: msg.ID, CreatedAt: now})
		if err != nil {
			return res, err
		}
		if created {
			fresh = false
			holder[id.Key()] = cust
		} else if owner, err := r.root(ctx, b.CustomerID); err == nil && owner != cust {
			if fresh {
				// Claims of one new identity arriving at once cluster too.
				r.dropFresh(ctx, cust)
				cust, fresh = owner, false
				res.Created = false
				holder[id.Key()] = b.CustomerID
				continue
			}
			conflicts = append(conflicts, conflict{id, owner})
		} else if err == nil {
			holder[id.Key()] = b.CustomerID
		}
	}
	for _, c := range conflicts {
		// Collect further claims of this identity on the claimer (cust).
		if _, _, err := r.st.BindClaim(ctx, store.Binding{Type: c.id.Type, Value: c.id.Value, CustomerID: cust, Channel: msg.Channel, MessageID: msg.ID, CreatedAt: now}); err != nil {
			return res, err
		}
		holder[c.id.Key()] = cust
		ev := evidence{kind: EvidenceClaimOfVerified, identity: c.id.Key(), channel: msg.Channel,
			text: fmt.Sprintf("message %s on channel %s claimed %s, which belongs to customer %s", msg.ID, msg.Channel, c.id.Key(), c.owner)}
		if err := r.suggest(ctx, c.owner, cust, msg.ID, ev, &res); err != nil {
			return res, err
		}
	}
	// An identity verified for cust by this message that another customer
	// holds claimed (a web form made that customer before): the same
	// person, most likely, but a claim never merges; agents decide.
	for _, id := range newlyVerified {
		if err := r.verifiedOverClaim(ctx, cust, id, msg.ID, msg.Channel, fmt.Sprintf("message %s on channel %s", msg.ID, msg.Channel), &res); err != nil {
			return res, err
		}
	}

	if res.Created && msg.SenderName != "" {
		if err := r.nameHints(ctx, cust, msg, &res); err != nil {
			return res, err
		}
	}

	// 5. Record the identities and name on the customer records they are
	// bound to (idempotent; skipped when the records already have them).
	if c, ok := records[cust]; ok && res.Merges == 0 && res.Suggestions == 0 && knows(c, msg, holder) {
		res.Customer = cust
		return res, nil
	}
	byHolder := map[string][]connectors.Identity{cust: nil}
	for _, id := range msg.Identities {
		h := holder[id.Key()]
		if h == "" {
			h = cust
		}
		byHolder[h] = append(byHolder[h], id)
	}
	for h, list := range byHolder {
		_, err := r.st.UpdateCustomer(ctx, h, func(c *store.Customer) error {
			changed := false
			for _, id := range list {
				i := slices.IndexFunc(c.Identities, func(x connectors.Identity) bool { return x.Type == id.Type && x.Value == id.Value })
				switch {
				case i < 0:
					c.Identities = append(c.Identities, id)
					changed = true
				case id.Verified && !c.Identities[i].Verified:
					c.Identities[i].Verified = true
					changed = true
				}
			}
			if h == cust {
				if c.Name == "" && msg.SenderName != "" {
					c.Name = msg.SenderName
					changed = true
				}
				if msg.SenderAvatar != "" && c.AvatarURL != msg.SenderAvatar {
					c.AvatarURL = msg.SenderAvatar // the channel's current picture
					changed = true
				}
			}
			if !changed {
				return errUnchanged
			}
			c.UpdatedAt = now
			return nil
		})
		if err != nil && !errors.Is(err, errUnchanged) && !(h != cust && errors.Is(err, store.ErrNotFound)) {
			return res, err
		}
	}
	res.Customer = cust
	return res, nil
}

// claimSource says in words where a claim was learned.
func claimSource(b store.Binding) string {
	if b.MessageID == "" {
		return "added on channel " + b.Channel
	}
	return fmt.Sprintf("message %s on channel %s", b.MessageID, b.Channel)
}

// errUnchanged aborts an update that would change nothing.
var errUnchanged = errors.New("unchanged")

// verifiedOverClaim records a suggestion when id, now verified for cust,
// is held claimed (claim index) by a customer of another root.
// how says where the verification came from, in words.
func (r *Resolver) verifiedOverClaim(ctx context.Context, cust string, id connectors.Identity, messageID, channel, how string, res *Resolution) error {
	b, err := r.st.LookupClaim(ctx, id.Type, id.Value)
	if errors.Is(err, store.ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	owner, err := r.root(ctx, b.CustomerID)
	if errors.Is(err, store.ErrNotFound) {
		return nil // the claimer was erased
	}
	if err != nil {
		return err
	}
	if owner == cust {
		return nil
	}
	ev := evidence{kind: EvidenceVerifiedOfClaim, identity: id.Key(), channel: channel,
		text: fmt.Sprintf("%s became verified for customer %s (%s); customer %s holds it claimed (%s)",
			id.Key(), cust, how, owner, claimSource(b))}
	return r.suggest(ctx, cust, owner, messageID, ev, res)
}

// newCustomerIDFor returns a time-ordered id: lexical order is creation
// order, which makes "the older customer wins a merge" a plain string
// comparison and lets concurrent merges converge on one root. It is
// deterministic per message, so redelivery reuses the id.
func newCustomerIDFor(msg connectors.Message) string {
	return fmt.Sprintf("c_%012x%s", msg.ReceivedAt.UnixMilli(), ids.Derived("", msg.ID)[:10])
}

// knows reports whether c already records every identity of msg that is
// listed on c itself (holder; as verified as msg says) and a name when msg
// has one. Identities held by another record were found bound to it, and
// a record lists what is bound to it.
func knows(c store.Customer, msg connectors.Message, holder map[string]string) bool {
	if c.Name == "" && msg.SenderName != "" || msg.SenderAvatar != "" && c.AvatarURL != msg.SenderAvatar {
		return false
	}
	for _, id := range msg.Identities {
		if h := holder[id.Key()]; h != "" && h != c.ID {
			continue
		}
		if !slices.ContainsFunc(c.Identities, func(x connectors.Identity) bool {
			return x.Type == id.Type && x.Value == id.Value && (x.Verified || !id.Verified)
		}) {
			return false
		}
	}
	return true
}

func keys(ids []connectors.Identity) string {
	s := make([]string, len(ids))
	for i, id := range ids {
		s[i] = id.Key()
	}
	return strings.Join(s, ", ")
}

// pairID names the merge or suggestion between two customers, whichever way round.
func pairID(prefix, a, b string) string {
	if a > b {
		a, b = b, a
	}
	return ids.Derived(prefix, a, b)
}

// autoMerge merges the roots of a and b on verified evidence and returns the
// surviving root. A pair an agent unmerged before is not merged again
// automatically: it becomes a suggestion, and a's root is returned.
func (r *Resolver) autoMerge(ctx context.Context, a, b string, msg connectors.Message, text string, res *Resolution) (string, error) {
	if m, err := r.st.GetMerge(ctx, pairID("mg_", a, b)); err == nil && m.Status == store.MergeUndone {
		ev := evidence{kind: EvidenceUndoneMerge, channel: msg.Channel, text: text + " (an agent had undone the merge of these customers)"}
		return a, r.suggest(ctx, a, b, msg.ID, ev, res)
	}
	w, _, err := r.Merge(ctx, a, b, "router", text, msg.ID)
	if err == nil && r.metrics != nil {
		r.metrics.Merges.Inc()
	}
	return w, err
}

// Merge merges the customers that a and b belong to. The older root wins.
// It returns the surviving root and the merge record (zero when they were
// already one customer).
func (r *Resolver) Merge(ctx context.Context, a, b, by, evidence, messageID string) (string, store.Merge, error) {
	for attempt := 0; attempt < 100; attempt++ {
		ra, err := r.root(ctx, a)
		if err != nil {
			return "", store.Merge{}, err
		}
		rb, err := r.root(ctx, b)
		if err != nil {
			return "", store.Merge{}, err
		}
		if ra == rb {
			return ra, store.Merge{}, nil
		}
		winner, loser := ra, rb
		if loser < winner {
			winner, loser = loser, winner
		}
		// The audit record goes first (docs/ARCHITECTURE.md, "The audit
		// rule"): when it cannot be written the customers stay apart. Its
		// id comes from the loser's version before the merge, so a retry
		// (a crash in between, a redelivered message) writes it once.
		lc, err := r.st.GetCustomer(ctx, loser)
		if err != nil {
			return "", store.Merge{}, err
		}
		mid := pairID("mg_", winner, loser)
		if err := r.st.AppendAudit(ctx, store.AuditRecord{ID: store.AuditID("customer.merge", winner, loser, strconv.FormatInt(lc.Version, 10)),
			At: r.clock().UTC(), Actor: by, Action: "customer.merge", Target: loser + " -> " + winner, Customer: winner, Detail: "merge " + mid}); err != nil {
			return "", store.Merge{}, fmt.Errorf("merge %s into %s: %w: %w", loser, winner, store.ErrAuditFailed, err)
		}
		_, err = r.st.UpdateCustomer(ctx, loser, func(c *store.Customer) error {
			if c.MergedInto != "" {
				return errRetryMerge
			}
			c.MergedInto = winner
			c.UpdatedAt = r.clock().UTC()
			return nil
		})
		if errors.Is(err, errRetryMerge) {
			continue
		}
		if err != nil {
			return "", store.Merge{}, err
		}
		if err := r.addMember(ctx, winner, loser); err != nil {
			return "", store.Merge{}, err
		}
		now := r.clock().UTC()
		m := store.Merge{ID: pairID("mg_", winner, loser), Kind: "merge", Winner: winner, Loser: loser,
			Status: store.MergeApplied, Evidence: evidence, MessageID: messageID, By: by, CreatedAt: now, UpdatedAt: now}
		if err := r.st.PutMerge(ctx, m); err != nil {
			return "", store.Merge{}, err
		}
		// The pair may have been merged and undone before: PutMerge kept the
		// old record, so bring it up to date.
		m, err = r.st.UpdateMerge(ctx, m.ID, func(old *store.Merge) error {
			old.Kind, old.Winner, old.Loser, old.Status = "merge", winner, loser, store.MergeApplied
			old.Evidence, old.MessageID, old.By, old.UpdatedAt = evidence, messageID, by, now
			return nil
		})
		if err != nil {
			return "", store.Merge{}, err
		}
		// The evidence (identities) stays on the merge record, which erasure
		// scrubs; the audit record (written before) names only ids.
		r.recordMerge(ctx, "customer.merged", m)
		root, err := r.root(ctx, winner)
		return root, m, err
	}
	return "", store.Merge{}, fmt.Errorf("merge %s and %s: %w", a, b, store.ErrConflict)
}

func (r *Resolver) addMember(ctx context.Context, winner, loser string) error {
	_, err := r.st.UpdateCustomer(ctx, winner, func(c *store.Customer) error {
		if !slices.Contains(c.Members, loser) {
			c.Members = append(c.Members, loser)
		}
		return nil
	})
	return err
}

// Unmerge undoes merge id: both customers stand alone again with their own
// identities and timelines.
func (r *Resolver) Unmerge(ctx context.Context, id, by string) (store.Merge, error) {
	m, err := r.st.GetMerge(ctx, id)
	if err != nil {
		return m, err
	}
	if m.Kind != "merge" || m.Status != store.MergeApplied {
		return m, fmt.Errorf("merge %s is %s %s, not an applied merge: %w", id, m.Kind, m.Status, store.ErrConflict)
	}
	// The audit goes first: when it fails nothing has changed, the API
	// answers 5xx and the agent retries; an unmerge is never left unaudited.
	now := r.clock().UTC()
	if err := r.st.AppendAudit(ctx, store.AuditRecord{At: now, Actor: by, Action: "customer.unmerge", Target: m.Loser + " -/- " + m.Winner, Detail: id}); err != nil {
		return m, fmt.Errorf("unmerge %s: %w: %w", id, store.ErrAuditFailed, err)
	}
	if _, err := r.st.UpdateCustomer(ctx, m.Loser, func(c *store.Customer) error {
		if c.MergedInto == m.Winner {
			c.MergedInto = ""
		}
		return nil
	}); err != nil {
		return m, err
	}
	if _, err := r.st.UpdateCustomer(ctx, m.Winner, func(c *store.Customer) error {
		c.Members = slices.DeleteFunc(c.Members, func(s string) bool { return s == m.Loser })
		return nil
	}); err != nil {
		return m, err
	}
	applied := m
	m, err = r.st.UpdateMerge(ctx, id, func(x *store.Merge) error { x.Status, x.UpdatedAt, x.By = store.MergeUndone, now, by; return nil })
	if err == nil {
		// The merge's own event first (recorded already unless a crash
		// came between the merge and its recording; one event per key),
		// so a merge undone before the sweeper saw it is still announced.
		r.recordMerge(ctx, "customer.merged", applied)
		r.recordMerge(ctx, "customer.unmerged", m)
	}
	return m, err
}

// suggest records that existing and claimer may be one person, on ev.
// A pair already proposed stays as it is; a pair an agent rejected is
// proposed again only on evidence not rejected before (Merge.Rejected); a
// pair merged by an accepted suggestion is not proposed again.
func (r *Resolver) suggest(ctx context.Context, existing, claimer, messageID string, ev evidence, res *Resolution) error {
	now := r.clock().UTC()
	id := pairID("sg_", existing, claimer)
	raised := func() {
		res.Suggestions++
		res.SuggestionRaised = true
		if !slices.Contains(res.SuggestionIDs, id) {
			res.SuggestionIDs = append(res.SuggestionIDs, id)
		}
	}
	cur, err := r.st.GetMerge(ctx, id)
	switch {
	case errors.Is(err, store.ErrNotFound):
		err := r.st.PutMerge(ctx, store.Merge{ID: id, Kind: "suggestion", Winner: existing, Loser: claimer,
			Status: store.MergeProposed, Evidence: ev.text, MessageID: messageID, By: "router", CreatedAt: now, UpdatedAt: now,
			Identity: ev.identity, Channel: ev.channel, EvidenceKind: ev.kind})
		if err != nil {
			return err
		}
		if r.metrics != nil {
			r.metrics.Suggested.Inc()
		}
		raised()
		return nil
	case err != nil:
		return err
	case cur.Status == store.MergeProposed:
		raised()
		return nil
	case cur.Status != store.MergeRejected || slices.Contains(cur.Rejected, ev.key()):
		return nil
	}
	_, err = r.st.UpdateMerge(ctx, id, func(m *store.Merge) error {
		if m.Status != store.MergeRejected {
			return errUnchanged
		}
		m.Status, m.Winner, m.Loser, m.By, m.UpdatedAt = store.MergeProposed, existing, claimer, "router", now
		m.Evidence, m.MessageID, m.Identity, m.Channel, m.EvidenceKind = ev.text, messageID, ev.identity, ev.channel, ev.kind
		return nil
	})
	if errors.Is(err, errUnchanged) {
		return nil
	}
	if err != nil {
		return err
	}
	if r.metrics != nil {
		r.metrics.Suggested.Inc()
	}
	raised()
	return nil
}

// Decide accepts (merging the two customers) or rejects suggestion id.
func (r *Resolver) Decide(ctx context.Context, id string, accept bool, by string) (store.Merge, error) {
	s, err := r.st.GetMerge(ctx, id)
	if err != nil {
		return s, err
	}
	if s.Kind != "suggestion" || s.Status != store.MergeProposed {
		return s, fmt.Errorf("suggestion %s is %s: %w", id, s.Status, store.ErrConflict)
	}
	// The decision is audited before it is made (docs/ARCHITECTURE.md,
	// "The audit rule"), once per proposal (its last update time).
	action := "suggestion.reject"
	if accept {
		action = "suggestion.accept"
	}
	if err := r.st.AppendAudit(ctx, store.AuditRecord{ID: store.AuditID(action, id, s.UpdatedAt.Format(time.RFC3339Nano)), At: r.clock().UTC(),
		Actor: by, Action: action, Target: id, Customer: s.Winner, Detail: s.Loser + " / " + s.Winner}); err != nil {
		return s, fmt.Errorf("suggestion %s: %w: %w", id, store.ErrAuditFailed, err)
	}
	status := store.MergeRejected
	if !accept {
		// The rejection is remembered per evidence: the same evidence does
		// not propose this pair again, other evidence may.
		return r.st.UpdateMerge(ctx, id, func(x *store.Merge) error {
			if x.Status != store.MergeProposed {
				return fmt.Errorf("suggestion %s is %s: %w", id, x.Status, store.ErrConflict)
			}
			key := evidence{kind: x.EvidenceKind, identity: x.Identity}.key()
			if !slices.Contains(x.Rejected, key) {
				x.Rejected = append(x.Rejected, key)
			}
			x.Status, x.By, x.UpdatedAt = status, by, r.clock().UTC()
			return nil
		})
	}
	if accept {
		if _, _, err := r.Merge(ctx, s.Winner, s.Loser, by, "accepted suggestion: "+s.Evidence, s.MessageID); err != nil {
			return s, err
		}
		status = store.MergeApplied
	}
	return r.st.UpdateMerge(ctx, id, func(x *store.Merge) error {
		x.Status, x.By, x.UpdatedAt = status, by, r.clock().UTC()
		return nil
	})
}
