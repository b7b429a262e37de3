package retention

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// LeaseName is the store lease a periodic sweep runs under.
const LeaseName = "retention:sweep"

// Options configure a Sweeper.
type Options struct {
	Store store.Store
	Blobs connectors.Blobs
	Clock store.Clock
	// Channels maps a channel name to how long its entries are kept;
	// channels absent or 0 keep for ever.
	Channels map[string]time.Duration
	// DeleteConversation deletes a conversation whose every entry is past
	// retention; nil: Store.DeleteConversation. The hub passes the
	// conversation service's Delete (it also settles the agent's load).
	DeleteConversation func(context.Context, store.Conversation) error
	Logger             *slog.Logger
	// AuditRetention: audit records older than this are removed
	// (audit.retention); 0 keeps them for ever.
	AuditRetention time.Duration
	// Index takes an expired entry out of the search index
	// (search.Indexer); nil: no index.
	Index interface {
		UnindexEntry(ctx context.Context, e store.Entry) error
	}
}

// Sweeper deletes what is past retention.
type Sweeper struct{ o Options }

// New returns a Sweeper.
func New(o Options) *Sweeper {
	if o.Clock == nil {
		o.Clock = store.SystemClock
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.DeleteConversation == nil {
		o.DeleteConversation = func(ctx context.Context, c store.Conversation) error { return o.Store.DeleteConversation(ctx, c.ID) }
	}
	return &Sweeper{o: o}
}

// Report says what a sweep deleted (or, in a dry run, would delete). It
// holds counts and opaque ids only, never content.
type Report struct {
	DryRun bool      `json:"dry_run"`
	At     time.Time `json:"at"`
	// Entries deleted, per channel.
	Entries map[string]int `json:"entries"`
	// Attachments: blobs deleted (no other entry referenced them).
	Attachments   int `json:"attachments"`
	Conversations int `json:"conversations"`
	// HeldCustomers: customer records skipped for a legal hold.
	HeldCustomers int `json:"held_customers"`
	// AuditRecords: audit records older than audit.retention removed (in
	// a dry run: not counted, 0).
	AuditRecords int `json:"audit_records"`
}

// Total is the number of entries over every channel.
func (r Report) Total() int {
	n := 0
	for _, v := range r.Entries {
		n += v
	}
	return n
}

// Sweep runs once over every customer. In a dry run nothing is changed
// and the report says what would be deleted (a blob counts when the entry
// holds its only reference).
func (s *Sweeper) Sweep(ctx context.Context, dryRun bool) (Report, error) {
	now := s.o.Clock().UTC()
	rep := Report{DryRun: dryRun, At: now, Entries: map[string]int{}}
	if s.o.AuditRetention > 0 && !dryRun {
		n, err := s.o.Store.DeleteAuditBefore(ctx, now.Add(-s.o.AuditRetention), 0)
		rep.AuditRecords = n
		if err != nil {
			return rep, fmt.Errorf("retention: audit records: %w", err)
		}
	}
	var shortest time.Duration
	for _, d := range s.o.Channels {
		if d > 0 && (shortest == 0 || d < shortest) {
			shortest = d
		}
	}
	if shortest == 0 {
		return rep, nil
	}
	// No entry newer than this can be past any channel's retention.
	oldest := store.SortKey(now.Add(-shortest), "")
	held := map[string]bool{} // customer record → under a hold (its person's view)
	convs := map[string]*store.Conversation{}
	touched := map[string]bool{}
	for after := ""; ; {
		cs, err := s.o.Store.ListCustomers(ctx, after, 200)
		if err != nil {
			return rep, err
		}
		for _, c := range cs {
			h, err := s.held(ctx, c, held)
			if err != nil {
				return rep, err
			}
			if h {
				rep.HeldCustomers++
				continue
			}
			if err := s.sweepCustomer(ctx, c.ID, oldest, now, dryRun, convs, touched, &rep); err != nil {
				return rep, err
			}
		}
		if len(cs) < 200 {
			break
		}
		after = cs[len(cs)-1].ID
	}
	// A resolved conversation whose last activity is past its channel's
	// retention has lost every entry: its record (subject, preview) goes too.
	ids := make([]string, 0, len(touched))
	for id := range touched {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	for _, id := range ids {
		c := convs[id]
		if c == nil || !c.LastActivity.Before(now.Add(-s.o.Channels[c.Channel])) {
			continue
		}
		rep.Conversations++
		if dryRun {
			continue
		}
		if err := s.o.DeleteConversation(ctx, *c); err != nil && !errors.Is(err, store.ErrNotFound) {
			return rep, err
		}
	}
	if !dryRun && (rep.Total() > 0 || rep.Conversations > 0) {
		s.o.Logger.Info("retention sweep", "entries", rep.Total(), "attachments", rep.Attachments, "conversations", rep.Conversations, "held_customers", rep.HeldCustomers)
	}
	return rep, nil
}

// held reports whether c's person is under a legal hold (any record of
// the merged view), caching the answer for every record of the view.
func (s *Sweeper) held(ctx context.Context, c store.Customer, cache map[string]bool) (bool, error) {
	if h, ok := cache[c.ID]; ok {
		return h, nil
	}
	v, err := timeline.Load(ctx, s.o.Store, c.ID)
	if errors.Is(err, store.ErrNotFound) {
		return c.Hold != nil, nil
	}
	if err != nil {
		return false, err
	}
	_, h := v.Held()
	for _, m := range v.Members {
		cache[m.ID] = h
	}
	return h, nil
}

func (s *Sweeper) sweepCustomer(ctx context.Context, customerID, before string, now time.Time, dryRun bool,
	convs map[string]*store.Conversation, touched map[string]bool, rep *Report) error {
	for {
		es, err := s.o.Store.PageEntries(ctx, customerID, before, 500)
		if err != nil {
			return err
		}
		for _, e := range es {
			if !s.expired(ctx, e, now, convs) {
				continue
			}
			touched[e.ConversationID] = true
			rep.Entries[e.Channel]++
			if err := s.deleteEntry(ctx, e, dryRun, rep); err != nil {
				return err
			}
		}
		if len(es) < 500 {
			return nil
		}
		before = es[len(es)-1].SortKey()
	}
}

// expired: e is past its channel's retention and its conversation is
// resolved (an open conversation keeps its whole history for the agent).
func (s *Sweeper) expired(ctx context.Context, e store.Entry, now time.Time, convs map[string]*store.Conversation) bool {
	d := s.o.Channels[e.Channel]
	if d <= 0 || !e.OccurredAt.Before(now.Add(-d)) || e.ConversationID == "" {
		return false
	}
	c, ok := convs[e.ConversationID]
	if !ok {
		got, err := s.o.Store.GetConversation(ctx, e.ConversationID)
		if err == nil {
			c = &got
		}
		convs[e.ConversationID] = c // nil: gone or unreadable, left alone
	}
	return c != nil && c.Status == store.StatusResolved
}

func (s *Sweeper) deleteEntry(ctx context.Context, e store.Entry, dryRun bool, rep *Report) error {
	for _, a := range e.Attachments {
		if a.SHA256 == "" {
			continue
		}
		if dryRun {
			if n, err := s.o.Store.BlobRefCount(ctx, a.SHA256); err != nil {
				return err
			} else if n <= 1 {
				rep.Attachments++
			}
			continue
		}
		left, err := store.DropBlobRef(ctx, s.o.Store, s.o.Blobs, a.SHA256, e.ID)
		if err != nil {
			return fmt.Errorf("retention: %w", err)
		}
		if left == 0 && s.o.Blobs != nil {
			rep.Attachments++
		}
	}
	if dryRun {
		return nil
	}
	// The Message-ID the router indexed for threading goes with the entry.
	for _, f := range e.Fields {
		if f.Name != "Message-ID" || e.Direction != connectors.Inbound {
			continue
		}
		if id, err := s.o.Store.GetProviderID(ctx, store.MessageIDIndex, f.Value); err == nil && id == e.ID {
			if err := s.o.Store.DeleteProviderID(ctx, store.MessageIDIndex, f.Value); err != nil {
				return fmt.Errorf("retention: message id record: %w", err)
			}
		}
	}
	if s.o.Index != nil {
		if err := s.o.Index.UnindexEntry(ctx, e); err != nil {
			return fmt.Errorf("retention: search index: %w", err)
		}
	}
	return s.o.Store.DeleteEntry(ctx, e.ID)
}

// Run sweeps every interval until ctx ends, on one replica at a time: a
// sweep starts only under the store lease LeaseName, taken for a little
// less than the interval and left to expire, so the replica that swept
// sweeps again next time and another takes over when it is gone.
func (s *Sweeper) Run(ctx context.Context, interval time.Duration, holder string) {
	if interval <= 0 {
		interval = time.Hour
	}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if _, err := s.o.Store.AcquireLease(ctx, LeaseName, holder, interval*9/10); err != nil {
			if !errors.Is(err, store.ErrLeaseHeld) {
				s.o.Logger.Warn("retention: lease", "err", err)
			}
			continue
		}
		if err := s.SweepAudited(ctx, false, "retention"); err != nil && ctx.Err() == nil {
			s.o.Logger.Error("retention sweep failed", "err", err)
		}
	}
}

// SweepAudited is Sweep with an audit record by actor (counts only).
func (s *Sweeper) SweepAudited(ctx context.Context, dryRun bool, actor string) error {
	_, err := s.SweepReport(ctx, dryRun, actor)
	return err
}

// SweepReport is Sweep followed by its audit record (not for a dry run,
// which changes nothing).
func (s *Sweeper) SweepReport(ctx context.Context, dryRun bool, actor string) (Report, error) {
	rep, err := s.Sweep(ctx, dryRun)
	if err != nil || dryRun {
		return rep, err
	}
	if err := s.o.Store.AppendAudit(ctx, store.AuditRecord{At: s.o.Clock().UTC(), Actor: actor, Action: "retention.sweep", Target: "*",
		Detail: fmt.Sprintf("%d entries, %d attachments, %d conversations deleted; %d held customer records skipped; %d audit records removed", rep.Total(), rep.Attachments, rep.Conversations, rep.HeldCustomers, rep.AuditRecords)}); err != nil {
		return rep, fmt.Errorf("retention: audit: %w", err)
	}
	return rep, nil
}
