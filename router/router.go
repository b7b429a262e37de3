package router

import (
	"context"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Options configure a Router.
type Options struct {
	// Workers×Batch messages are processed at once at most (default 16×32).
	Workers int
	// MaxAttempts: failed processing is retried this often before the item
	// is dead-lettered (default 5); an item delivered ten times as often
	// without ever finishing (it hangs or kills the hub) is dead-lettered too.
	MaxAttempts int
	Batch       int // see Workers (default 32)
	// Consumer names this replica in the queue's consumer group.
	Consumer string
	Clock    store.Clock
	Logger   *slog.Logger
	Metrics  *Metrics
	Routing  Routing
	// Conversations records each message on its conversation; nil: a
	// service over the same store with Routing's teams and capacity.
	Conversations *timeline.Service
	// NoFigures switches the adoption figures off (the A/B benchmark).
	NoFigures bool
	// Automation runs automation rules on each message (issue 24,
	// automation.go); nil: none.
	Automation Automation
}

// Router consumes the ingest queue and writes timelines.
type Router struct {
	st       store.Store
	dir      *directory.Directory
	resolver *identity.Resolver
	opts     Options
	log      *slog.Logger
	m        *Metrics
	convs    *timeline.Service
	// tombs finds messages of erased people (their replays are dropped).
	tombs *store.Tombstoner
	fig   figures
	// answers takes survey answers (answers.go); nil: none.
	answers Answers
}

// New returns a router; Run starts its workers.
func New(st store.Store, dir *directory.Directory, opts Options) *Router {
	if opts.Workers <= 0 {
		opts.Workers = 16
	}
	if opts.MaxAttempts <= 0 {
		opts.MaxAttempts = 5
	}
	if opts.Batch <= 0 {
		opts.Batch = 32
	}
	if opts.Clock == nil {
		opts.Clock = store.SystemClock
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Metrics == nil {
		opts.Metrics = NewMetrics(nil)
	}
	if opts.Consumer == "" {
		opts.Consumer = "hub"
	}
	if opts.Conversations == nil {
		opts.Conversations = timeline.NewService(st, timeline.Options{Clock: opts.Clock, Logger: opts.Logger,
			Teams: opts.Routing.TeamMembers(), MaxOpenPerAgent: opts.Routing.MaxOpenPerAgent})
	}
	return &Router{st: st, dir: dir, opts: opts, log: opts.Logger, m: opts.Metrics,
		resolver: identity.NewResolver(st, opts.Clock, opts.Metrics.Identity, opts.Logger), convs: opts.Conversations,
		tombs: store.NewTombstoner(st),
		fig: figures{st: st, dir: dir, clock: opts.Clock, log: opts.Logger, off: opts.NoFigures,
			batch: &atomic.Pointer[figureBatch]{}, seen: &seenCache{}}}
}

// Conversations is the conversation service the router records messages with.
func (r *Router) Conversations() *timeline.Service { return r.convs }

// Resolver exposes merge, unmerge and suggestion decisions to the API.
func (r *Router) Resolver() *identity.Resolver { return r.resolver }

// Run consumes the ingest queue until ctx is cancelled: one reader hands
// items to up to Workers×Batch messages processed at once and one acker
// acknowledges finished ones in batches. Items in flight when ctx ends are
// not acked and will be redelivered.
//
// One reader per replica, not one per worker: a reader blocked on an empty
// queue is woken by every new item, so N blocked readers cost N wake-ups
// and N queue reads for each message that arrives while the hub keeps up.
func (r *Router) Run(ctx context.Context) {
	slots := make(chan struct{}, r.opts.Workers*r.opts.Batch)
	// unacked bounds the items read and not yet acknowledged: a worker's
	// slot is free while its item waits for the search index's group
	// commit, and without this bound a slow index let reads outrun it
	// (goroutines and queued documents without limit, items pending past
	// ClaimAfter and reclaimed).
	unacked := make(chan struct{}, 4*cap(slots))
	acks := make(chan string, cap(slots))
	var wg sync.WaitGroup
	ackDone := make(chan struct{})
	go func() {
		defer close(ackDone)
		r.ackLoop(ctx, acks)
	}()
	figCtx, figStop := context.WithCancel(context.Background())
	figDone := make(chan struct{})
	go func() {
		defer close(figDone)
		r.fig.run(figCtx)
	}()
	defer func() {
		wg.Wait()
		close(acks)
		<-ackDone
		figStop() // after every worker: their counts are in the last flush
		<-figDone
	}()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		// Wait for a free slot, then read as many items as there are free
		// slots (at most a few batches: an item read waits for no one).
		select {
		case unacked <- struct{}{}:
		case <-ctx.Done():
			return
		}
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			<-unacked
			return
		}
		free := 1
	take:
		for free < 4*r.opts.Batch {
			select {
			case unacked <- struct{}{}:
			default:
				break take
			}
			select {
			case slots <- struct{}{}:
				free++
			default:
				<-unacked
				break take
			}
		}
		ds, err := r.st.Read(ctx, store.QueueIngest, r.opts.Consumer, free, time.Second)
		for range free - len(ds) {
			<-slots
			<-unacked
		}
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			r.log.Warn("ingest read failed", "err", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(backoff*2, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		for _, d := range ds {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { <-unacked }()
				// The entry's search index write joins the index's next
				// group commit without holding the worker's slot; the item
				// is acknowledged once it is written (a crash before then
				// redelivers it, and the redelivery indexes the stored
				// entry).
				ictx, indexed := timeline.DeferIndexing(ctx)
				ok := r.handle(ictx, d) == nil
				<-slots
				if ok && indexed.Wait(ctx) == nil && ctx.Err() == nil {
					acks <- d.ID
				}
			}()
		}
	}
}

// ackLoop acknowledges finished items, all those waiting in one call.
func (r *Router) ackLoop(ctx context.Context, acks <-chan string) {
	batch := make([]string, 0, cap(acks))
	for id := range acks {
		batch = append(batch[:0], id)
	more:
		for len(batch) < cap(batch) {
			select {
			case id, ok := <-acks:
				if !ok {
					break more
				}
				batch = append(batch, id)
			default:
				break more
			}
		}
		if ctx.Err() != nil {
			continue // not acked: redelivered after restart
		}
		_ = persist(ctx, r.log, "ingest ack", func() error {
			err := r.st.Ack(ctx, store.QueueIngest, batch...)
			if errors.Is(err, store.ErrNotReplicated) {
				// store.redis.min_replicas_ack: the store did not ack
				// because no replica confirmed this worker's writes (a
				// master switch, or no replica in sync). Retrying the ack
				// later could ack on a new master that never had them:
				// the items stay pending and are processed again.
				r.log.Warn("ingest ack not confirmed by replicas; the items will be processed again", "items", len(batch), "err", err)
				return nil
			}
			return err
		})
	}
}

// handle processes one delivery; a nil return means "ack it".
func (r *Router) handle(ctx context.Context, d store.Delivery) (err error) {
	if d.Attempts > 10*r.opts.MaxAttempts {
		// A poison message: every earlier delivery died with its worker.
		// Failures that return go through Retry (MaxAttempts); this only
		// catches messages that hang or kill the process. The margin is wide
		// because a hub restarted many times (deploys, crashes) redelivers
		// whatever was in flight without any fault of the message.
		r.dead(ctx, d, fmt.Sprintf("delivered %d times without finishing (the hub crashed or hung while processing it)", d.Attempts))
		return nil
	}
	defer func() {
		if p := recover(); p != nil {
			r.log.Error("panic while processing a message", "item", d.ID, "panic", p)
			err = fmt.Errorf("panic: %v", p)
			if dead, _ := r.st.Retry(ctx, store.QueueIngest, d, err.Error()); dead {
				r.m.DeadLetter.WithLabelValues(store.QueueIngest).Inc()
			}
		}
	}()
	var msg connectors.Message
	if err := json.Unmarshal(d.Payload, &msg); err != nil || msg.ID == "" {
		// Not retryable: keep it for an admin, never drop it.
		r.dead(ctx, d, fmt.Sprintf("undecodable ingest item: %v", err))
		return nil
	}
	err = r.Process(ctx, msg)
	if err == nil {
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	r.m.Failed.WithLabelValues(msg.Channel).Inc()
	r.log.Warn("processing failed", "message", msg.ID, "channel", msg.Channel, "attempt", d.Attempts, "err", err)
	dead, rerr := r.st.Retry(ctx, store.QueueIngest, d, err.Error())
	// A Retry that fails means the store is not answering (Redis down or
	// restarting): the item stays pending with this live consumer, and
	// nobody would take it before claim_after. Keep it here instead: once
	// the store answers again, process it at once (every step is
	// idempotent) or, if that still fails, record the retry.
	for wait := 50 * time.Millisecond; rerr != nil && ctx.Err() == nil; wait = min(2*wait, time.Second) {
		r.log.Warn("retry failed; processing again once the store answers", "message", msg.ID, "err", rerr)
		if !sleep(ctx, wait) {
			return ctx.Err()
		}
		if err = r.Process(ctx, msg); err == nil {
			return nil
		}
		dead, rerr = r.st.Retry(ctx, store.QueueIngest, d, err.Error())
	}
	if dead {
		r.m.DeadLetter.WithLabelValues(store.QueueIngest).Inc()
		r.fig.one(ctx, msg.Channel, FigDeadLetters)
		r.log.Error("message dead-lettered", "message", msg.ID, "channel", msg.Channel, "err", err)
	}
	return err
}

func (r *Router) dead(ctx context.Context, d store.Delivery, reason string) {
	d.Attempts = 1 << 20 // beyond any MaxAttempts
	if err := persist(ctx, r.log, "dead-letter "+d.ID, func() error {
		_, err := r.st.Retry(ctx, store.QueueIngest, d, reason)
		return err
	}); err != nil {
		return
	}
	r.m.DeadLetter.WithLabelValues(store.QueueIngest).Inc()
}

// Process puts one message on its customer's timeline. Every step is
// idempotent, so processing the same message again (a redelivery after a
// crash at any point) converges on the same single entry.
func (r *Router) Process(ctx context.Context, msg connectors.Message) error {
	// The tombstones' keyed hashes, once: the prefetch and the checks below
	// both use them.
	tk, tkErr := r.tombKeys(ctx, msg)
	// The dedupe, tombstone and binding reads below, in one round trip
	// where the store can (Redis: one pipeline instead of a wait each).
	ctx = r.prefetch(ctx, msg, tk)
	// Dedupe: the entry id is the deterministic message id.
	if e, err := r.st.GetEntry(ctx, msg.ID); err == nil {
		r.automationRedelivered(ctx, e) // automation.go: records a crash left behind
		// The search index write a crash may have left behind (a no-op
		// for an entry indexed as it is).
		r.convs.Reindex(ctx, e)
		r.m.Deduped.WithLabelValues(msg.Channel).Inc()
		r.fig.one(ctx, msg.Channel, FigDuplicates)
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("dedupe lookup: %w", err)
	}
	// A provider's retry or replay of a message whose person was erased
	// (issue 15) is dropped: it must not bring them back. A new message
	// from them has a new id and makes a new customer.
	if tkErr != nil {
		return fmt.Errorf("tombstone lookup: %w", tkErr)
	}
	if buried, err := r.st.HasTombstone(ctx, tk.id); err != nil {
		return fmt.Errorf("tombstone lookup: %w", err)
	} else if buried {
		r.m.Deduped.WithLabelValues(msg.Channel).Inc()
		r.log.Info("dropped a message of an erased person (provider replay)", "channel", msg.Channel, "id", msg.ID)
		return nil
	}
	if tk.mail != "" {
		// A copy of an erased mail through another mailbox (thread.go).
		if buried, err := r.st.HasTombstone(ctx, tk.mail); err != nil {
			return fmt.Errorf("tombstone lookup: %w", err)
		} else if buried {
			r.m.Deduped.WithLabelValues(msg.Channel).Inc()
			r.log.Info("dropped a copy of an erased person's mail", "channel", msg.Channel, "id", msg.ID)
			return nil
		}
	}
	ch, ok := r.dir.Get(msg.Channel)
	if !ok {
		// The channel was removed from the config after accepting this
		// message: keep the message (live audience) rather than lose it.
		ch = directory.Channel{Name: msg.Channel, Phase: store.PhaseLive}
	}
	if msg.Regarding != "" {
		if done, err := r.regarding(ctx, msg); done || err != nil {
			return err
		}
	}
	res, err := r.resolver.Resolve(ctx, msg)
	if err != nil {
		return fmt.Errorf("resolve identity: %w", err)
	}
	// Consent goes first: once the entry exists, a redelivery stops at the
	// dedupe check above and would never record it.
	flags := msg.Flags
	if c := msg.Consent; c != nil {
		if err := r.st.PutConsent(ctx, store.Consent{CustomerID: res.Customer, Channel: consentChannel(ch.Type, msg.Channel), Purpose: c.Purpose,
			Granted: c.Granted, Text: c.Text, Version: c.Version, Source: consentSource(ch.Type), MessageID: msg.ID, At: msg.OccurredAt}); err != nil {
			return fmt.Errorf("record consent: %w", err)
		}
		word := "revoked"
		if c.Granted {
			word = "granted"
		}
		if err := r.convs.RecordWebhook(ctx, "consent.changed", msg.ID+"/"+c.Purpose, res.Customer, consentData(res.Customer, msg, c)); err != nil {
			return fmt.Errorf("record consent webhook: %w", err)
		}
		flags = append(append([]string(nil), flags...), "consent-"+word+":"+c.Purpose)
	}
	// An answer to a survey joins the conversation it rates, not a new one.
	if r.answers != nil && msg.Consent == nil {
		if done, err := r.answers.Answer(ctx, msg, res.Customer); err != nil {
			return fmt.Errorf("survey answer: %w", err)
		} else if done {
			r.counted(msg, true)
			return nil
		}
	}
	// The same mail through another mailbox or folder: one entry, which
	// lists both (thread.go). The entry's id is the mail's (mailEntryID):
	// copies processed at the same moment, on any replicas, meet at the
	// store's create-once append below.
	if done, err := r.sameMail(ctx, msg, res.Customer); done || err != nil {
		return err
	}
	entryID := mailEntryID(msg, res.Customer)
	// The threading chain (thread.go) picks the conversation's thread.
	threadKey, step, err := r.threadOf(ctx, msg, res.Customer)
	if err != nil {
		return err
	}
	if err := r.index(ctx, msg, res.Customer, entryID); err != nil {
		return err
	}
	// The conversation service finds or opens the thread's conversation,
	// routes it when new, and stores the entry with the conversation's
	// change in one step.
	aud := ch.Audience()
	team := r.opts.Routing.TeamFor(ch)
	entry := r.entry(msg, res.Customer, flags)
	entry.ID = entryID
	if msg.Thread != nil && msg.Thread.Mailbox != "" {
		entry.Fields = addMailbox(entry.Fields, msg.Thread.Mailbox)
	}
	if why := threadedBy(step, msg.Thread); why != "" {
		// The weaker steps say so on the entry, for the agent.
		entry.Fields = append(entry.Fields, connectors.Field{Name: ThreadedByField, Value: why})
	}
	apply, done := r.automation(ctx, entry) // automation.go
	inbound := timeline.Inbound{Entry: entry, ThreadKey: threadKey, ConversationID: ids.Derived("v_", entryID),
		Audience: aud, Team: team, Automate: apply}
	if a, ok := r.opts.Automation.(automationInStep); ok && apply != nil && done != nil {
		// The run's records go with the message where the store can
		// (one commit, not two); Receive calls Records only then.
		var inStep atomic.Bool
		inbound.Records = func(c store.Conversation) ([]store.Entry, []store.AuditRecord) {
			inStep.Store(true)
			return a.Records(entry, c)
		}
		records := done
		done = func(ctx context.Context, e store.Entry, c store.Conversation) {
			if inStep.Load() {
				a.Effects(ctx, e, c)
				return
			}
			records(ctx, e, c)
		}
	}
	_, conv, created, err := r.convs.Receive(ctx, inbound)
	if err != nil {
		return err
	}
	if !created && entryID != msg.ID {
		// Another copy of the mail was stored first (another mailbox, on
		// this replica or another): this copy adds its mailbox to it.
		if err := r.addMailboxTo(ctx, entryID, msg); err != nil {
			return err
		}
	}
	if created && done != nil {
		done(ctx, entry, conv)
	}
	r.counted(msg, created)
	if created {
		r.fig.message(ctx, msg, res, ch, team, conv.ID == ids.Derived("v_", entryID))
	} else {
		r.fig.one(ctx, msg.Channel, FigDuplicates)
	}
	return nil
}

// entry is msg as an inbound entry on customerID's timeline (flags beside
// msg's own; "no-reply" added when msg is marked so).
func (r *Router) entry(msg connectors.Message, customerID string, flags []string) store.Entry {
	if msg.NoReply {
		flags = append(append([]string(nil), flags...), store.FlagNoReply)
	}
	sender := msg.Identities[0]
	now := r.opts.Clock().UTC()
	return store.Entry{ID: msg.ID, CustomerID: customerID, Channel: msg.Channel,
		Direction: connectors.Inbound, Kind: store.KindMessage, ProviderID: msg.ProviderID, Sender: &sender,
		SenderName: msg.SenderName, Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML,
		Attachments: msg.Attachments, Fields: msg.Fields, Flags: flags, PostedBy: msg.PostedBy,
		OccurredAt: msg.OccurredAt, CreatedAt: now, UpdatedAt: now}
}

// counted counts msg as processed, or as a duplicate when it was already
// on a timeline.
func (r *Router) counted(msg connectors.Message, created bool) {
	if !created {
		r.m.Deduped.WithLabelValues(msg.Channel).Inc()
		return
	}
	r.m.Processed.WithLabelValues(msg.Channel).Inc()
	r.m.Latency.WithLabelValues(msg.Channel).Observe(r.opts.Clock().Sub(msg.ReceivedAt).Seconds())
}

// regarding files a report about one of the hub's own outbound messages (a
// bounce) on that message's conversation: the customer it was sent to sees
// it beside the reply, and the reporter (a mailer-daemon) binds no identity
// and becomes no customer. The conversation is not reopened or rerouted: the
// failure itself is already on the reply's status. done is false when the
// reply is unknown (the caller then handles msg as an ordinary message).
func (r *Router) regarding(ctx context.Context, msg connectors.Message) (done bool, err error) {
	id, err := r.st.GetProviderID(ctx, msg.Channel, msg.Regarding)
	if errors.Is(err, store.ErrNotFound) && r.isEmail(msg.Channel) {
		// The hub's own mail (or its bounce) may come back through
		// another of the hub's mailboxes (a list reflecting it, a Bcc, a
		// forwarding rule): the reply is recorded under the email channel
		// that sent it.
		for _, ch := range r.dir.List() {
			if ch.Name == msg.Channel || ch.Type != "email" {
				continue
			}
			if id, err = r.st.GetProviderID(ctx, ch.Name, msg.Regarding); !errors.Is(err, store.ErrNotFound) {
				break
			}
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find the reported message: %w", err)
	}
	reply, err := r.st.GetEntry(ctx, string(id))
	if errors.Is(err, store.ErrNotFound) {
		return false, nil // erased since
	}
	if err != nil {
		return false, fmt.Errorf("find the reported message: %w", err)
	}
	conv, err := r.st.GetConversation(ctx, reply.ConversationID)
	if errors.Is(err, store.ErrNotFound) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("find the reported message's conversation: %w", err)
	}
	_, created, err := r.convs.Append(ctx, r.entry(msg, conv.CustomerID, msg.Flags), conv)
	if err != nil {
		return true, err
	}
	r.counted(msg, created)
	return true, nil
}

// tombKeys are the keyed hashes a message's tombstones are kept under
// (store.Tombstoner.Hash): its id's and, for mail, its Message-ID's (mail
// empty otherwise).
type tombKeys struct{ id, mail string }

func (r *Router) tombKeys(ctx context.Context, msg connectors.Message) (tombKeys, error) {
	var k tombKeys
	var err error
	if k.id, err = r.tombs.Hash(ctx, msg.ID); err != nil {
		return k, err
	}
	if t := msg.Thread; t != nil && t.MessageID != "" {
		k.mail, err = r.tombs.Hash(ctx, store.MessageIDTombstone("<"+t.MessageID+">"))
	}
	return k, err
}

// prefetch asks a store that can (store.IngestPrefetcher) for Process's
// first reads at once: the dedupe record, the tombstones of the message
// (and of its mail's Message-ID), its identities' bindings and, when its
// thread key is known already, the conversation holding it. Process makes
// them before writing what they read (a store drops its answers on such a
// write), so the answers are the ones it would have read one by one; the
// conversation's is checked again by the append's compare-and-swap.
func (r *Router) prefetch(ctx context.Context, msg connectors.Message, tk tombKeys) context.Context {
	p, ok := r.st.(store.IngestPrefetcher)
	if !ok {
		return ctx
	}
	reads := store.IngestReads{EntryID: msg.ID, Identities: msg.Identities}
	if k, ok := knownThread(msg); ok && msg.Regarding == "" {
		// The thread's conversation, read with the rest: Process
		// changes no conversation before it joins or opens it.
		reads.ThreadKey = k
	}
	for _, h := range []string{tk.id, tk.mail} {
		if h != "" {
			reads.Tombstones = append(reads.Tombstones, h)
		}
	}
	return p.PrefetchIngest(ctx, reads)
}
