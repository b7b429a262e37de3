package router

import (
	"context"
	"errors"
	"fmt"
	json "github.com/goccy/go-json"
	"log/slog"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
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
}

// Router consumes the ingest queue and writes timelines.
type Router struct {
	st       store.Store
	dir      *Directory
	resolver *Resolver
	opts     Options
	log      *slog.Logger
	m        *Metrics
	assign   *assigner
}

// New returns a router; Run starts its workers.
func New(st store.Store, dir *Directory, opts Options) *Router {
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
	return &Router{st: st, dir: dir, opts: opts, log: opts.Logger, m: opts.Metrics,
		resolver: NewResolver(st, opts.Clock, opts.Metrics),
		assign:   &assigner{st: st, routing: opts.Routing}}
}

// Resolver exposes merge, unmerge and suggestion decisions to the API.
func (r *Router) Resolver() *Resolver { return r.resolver }

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
	acks := make(chan string, cap(slots))
	var wg sync.WaitGroup
	ackDone := make(chan struct{})
	go func() {
		defer close(ackDone)
		r.ackLoop(ctx, acks)
	}()
	defer func() {
		wg.Wait()
		close(acks)
		<-ackDone
	}()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		// Wait for a free slot, then read as many items as there are free
		// slots (at most a few batches: an item read waits for no one).
		select {
		case slots <- struct{}{}:
		case <-ctx.Done():
			return
		}
		free := 1
		for free < 4*r.opts.Batch {
			select {
			case slots <- struct{}{}:
				free++
				continue
			default:
			}
			break
		}
		ds, err := r.st.Read(ctx, store.QueueIngest, r.opts.Consumer, free, time.Second)
		for range free - len(ds) {
			<-slots
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
				defer func() { <-slots }()
				if r.handle(ctx, d) == nil && ctx.Err() == nil {
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
		if err := r.st.Ack(ctx, store.QueueIngest, batch...); err != nil && ctx.Err() == nil {
			r.log.Warn("ingest ack failed (items will be redelivered and deduped)", "err", err)
		}
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
	if rerr != nil {
		r.log.Warn("retry failed", "message", msg.ID, "err", rerr)
	}
	if dead {
		r.m.DeadLetter.WithLabelValues(store.QueueIngest).Inc()
		r.log.Error("message dead-lettered", "message", msg.ID, "channel", msg.Channel, "err", err)
	}
	return err
}

func (r *Router) dead(ctx context.Context, d store.Delivery, reason string) {
	d.Attempts = 1 << 20 // beyond any MaxAttempts
	if _, err := r.st.Retry(ctx, store.QueueIngest, d, reason); err != nil {
		r.log.Error("dead-letter failed", "item", d.ID, "err", err)
	}
	r.m.DeadLetter.WithLabelValues(store.QueueIngest).Inc()
}

// Process puts one message on its customer's timeline. Every step is
// idempotent, so processing the same message again (a redelivery after a
// crash at any point) converges on the same single entry.
func (r *Router) Process(ctx context.Context, msg connectors.Message) error {
	// Dedupe: the entry id is the deterministic message id.
	if _, err := r.st.GetEntry(ctx, msg.ID); err == nil {
		r.m.Deduped.WithLabelValues(msg.Channel).Inc()
		return nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("dedupe lookup: %w", err)
	}
	ch, ok := r.dir.Get(msg.Channel)
	if !ok {
		// The channel was removed from the config after accepting this
		// message: keep the message (live audience) rather than lose it.
		ch = Channel{Name: msg.Channel, Phase: store.PhaseLive}
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
	conv, join, err := r.conversation(ctx, ch, res.customer, msg)
	if err != nil {
		return fmt.Errorf("conversation: %w", err)
	}
	// Consent goes first: once the entry exists, a redelivery stops at the
	// dedupe check above and would never record it.
	flags := msg.Flags
	if c := msg.Consent; c != nil {
		if err := r.st.PutConsent(ctx, store.Consent{CustomerID: res.customer, Channel: msg.Channel, Purpose: c.Purpose,
			Granted: c.Granted, Text: c.Text, Version: c.Version, Source: msg.ID, At: msg.OccurredAt}); err != nil {
			return fmt.Errorf("record consent: %w", err)
		}
		word := "revoked"
		if c.Granted {
			word = "granted"
		}
		flags = append(append([]string(nil), flags...), "consent-"+word+":"+c.Purpose)
	}
	return r.record(ctx, msg, res.customer, conv, join, flags)
}

// join is how a message changes the conversation it joins; the entry and
// the change are stored in one step (store.AppendToConversation).
type join struct {
	update func(*store.Conversation) error
	before *store.Conversation // the conversation as update last found it
}

// record appends msg as an inbound entry of conv on customerID's timeline
// (flags beside msg's own; "no-reply" added when msg is marked so) and
// announces it; a duplicate is counted, not announced. With j, the
// conversation is updated in the same step; without, it is left as it is.
func (r *Router) record(ctx context.Context, msg connectors.Message, customerID string, conv store.Conversation, j *join, flags []string) error {
	if msg.NoReply {
		flags = append(append([]string(nil), flags...), "no-reply")
	}
	sender := msg.Identities[0]
	now := r.opts.Clock().UTC()
	entry := store.Entry{ID: msg.ID, CustomerID: customerID, ConversationID: conv.ID, Channel: msg.Channel,
		Direction: connectors.Inbound, Kind: store.KindMessage, ProviderID: msg.ProviderID, Sender: &sender,
		SenderName: msg.SenderName, Subject: msg.Subject, Text: msg.Text, HTML: msg.HTML,
		Attachments: msg.Attachments, Fields: msg.Fields, Flags: flags,
		OccurredAt: msg.OccurredAt, CreatedAt: now, UpdatedAt: now}
	var e store.Entry
	var created bool
	var err error
	if j == nil {
		e, created, err = r.st.AppendEntry(ctx, entry)
	} else {
		var after store.Conversation
		e, after, created, err = r.st.AppendToConversation(ctx, entry, conv, j.update)
		switch {
		case created && err != nil:
			// The entry is stored and only its conversation's update failed
			// (the store's rare two-step path): a redelivery would stop at
			// the dedupe check, so go on and announce the entry.
			r.log.Warn("message stored, its conversation not updated", "message", msg.ID, "conversation", conv.ID, "err", err)
			err = nil
		case created:
			conv = after
			AdjustLoad(ctx, r.st, *j.before, conv)
			// Opened means "first message to join", decided when the
			// message is stored: an attempt that opened the conversation
			// and failed later leaves the announcement to the next one.
			if j.before.LastMessageID == "" {
				r.publish(ctx, Event{Type: EventConversationOpened, CustomerID: conv.CustomerID, ConversationID: conv.ID, Channel: conv.Channel, Audience: conv.Audience, Assignee: conv.Assignee})
			}
		}
	}
	if err != nil {
		return fmt.Errorf("append entry: %w", err)
	}
	if !created {
		r.m.Deduped.WithLabelValues(msg.Channel).Inc()
		return nil
	}
	r.m.Processed.WithLabelValues(msg.Channel).Inc()
	r.m.Latency.WithLabelValues(msg.Channel).Observe(now.Sub(msg.ReceivedAt).Seconds())
	r.publish(ctx, Event{Type: EventEntryCreated, CustomerID: customerID, ConversationID: conv.ID, EntryID: e.ID,
		Channel: msg.Channel, Audience: conv.Audience, Assignee: conv.Assignee})
	return nil
}

// conversation finds or opens the conversation msg belongs to and routes
// it when new; the returned join records the message as its latest
// activity when the entry is stored.
func (r *Router) conversation(ctx context.Context, ch Channel, customer string, msg connectors.Message) (store.Conversation, *join, error) {
	now := r.opts.Clock().UTC()
	thread := msg.Channel + "|" + msg.ThreadKey
	c, created, err := r.st.OpenConversation(ctx, store.Conversation{
		ID: derivedID("v_", msg.ID), CustomerID: customer, Channel: msg.Channel, ThreadKey: thread,
		Subject: msg.Subject, Status: store.StatusOpen, Audience: audience(ch), CreatedAt: now, LastActivity: msg.OccurredAt,
	})
	if err != nil {
		return c, nil, err
	}
	var team, agent string
	aud := audience(ch)
	needsRouting := created || c.Team == "" || c.Audience != aud
	if needsRouting && aud != store.AudienceShadow {
		team, agent, err = r.assign.route(ctx, ch, c)
		if err != nil {
			return c, nil, err
		}
	}
	preview := msg.Text
	if len(preview) > 140 {
		preview = preview[:140]
		for !utf8.ValidString(preview) {
			preview = preview[:len(preview)-1]
		}
	}
	j := &join{before: new(store.Conversation)}
	j.update = func(x *store.Conversation) error {
		*j.before = *x
		// The audience follows the channel's phase at the latest message:
		// a shadow conversation becomes visible when the channel goes live.
		x.Audience = aud
		if needsRouting && aud != store.AudienceShadow {
			if team != "" {
				x.Team = team
			}
			if x.Assignee == "" {
				x.Assignee = agent
			}
		}
		if x.Status == store.StatusSnoozed || x.Status == store.StatusPending {
			x.Status = store.StatusOpen // the customer wrote again
		}
		if !msg.OccurredAt.Before(x.LastActivity) || x.LastMessageID == "" {
			// Never backwards, even for the first message recorded on a
			// conversation another worker opened with a later one: the
			// activity index of the Redis store relies on it (its
			// add-new/remove-old updates of concurrent workers may apply
			// in any order, which is only safe while activity only grows).
			if msg.OccurredAt.After(x.LastActivity) {
				x.LastActivity = msg.OccurredAt
			}
			x.LastMessageID = msg.ID
			x.Preview = preview
		}
		if msg.OccurredAt.After(x.LastInboundAt) {
			x.LastInboundAt = msg.OccurredAt
		}
		return nil
	}
	return c, j, nil
}

func (r *Router) publish(ctx context.Context, ev Event) {
	if err := Publish(ctx, r.st, ev); err != nil {
		r.log.Debug("publish event failed", "err", err)
	}
}

// regarding files a report about one of the hub's own outbound messages (a
// bounce) on that message's conversation: the customer it was sent to sees
// it beside the reply, and the reporter (a mailer-daemon) binds no identity
// and becomes no customer. The conversation is not reopened or rerouted: the
// failure itself is already on the reply's status. done is false when the
// reply is unknown (the caller then handles msg as an ordinary message).
func (r *Router) regarding(ctx context.Context, msg connectors.Message) (done bool, err error) {
	id, err := r.st.GetProviderID(ctx, msg.Channel, msg.Regarding)
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
	return true, r.record(ctx, msg, conv.CustomerID, conv, nil, msg.Flags)
}
