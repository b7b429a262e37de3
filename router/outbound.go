package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/consent"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Errors of the reply path, for the API to map to status codes.
var (
	ErrNotSending   = errors.New("channel does not send in its current phase")
	ErrNoRecipient  = errors.New("customer has no identity this channel can reach")
	ErrEmptyMessage = errors.New("message text is empty")
	// ErrNoConsent: the customer opted out of messages on this channel.
	ErrNoConsent = errors.New("customer opted out of messages on this channel")
	// ErrAttachmentsUnsupported: the reply carries attachments and the
	// channel cannot send them (SMS in this build).
	ErrAttachmentsUnsupported = errors.New("attachments are not supported by this channel")
	// ErrCannotReply: the channel has no Sender, so nothing can go out
	// through it (an api channel: another system pushes its messages; a web
	// form: its answers go by the customer's email or phone; any channel
	// whose connector does not send). A reply, a started conversation or
	// an automatic message there is refused before anything is stored or
	// queued.
	ErrCannotReply = errors.New("channel cannot send replies")
)

// kindOf names a channel type with its article, for error messages.
func kindOf(channelType string) string {
	if channelType != "" && strings.ContainsRune("aeiou", rune(channelType[0])) {
		return "an " + channelType // an api, an email
	}
	return "a " + channelType
}

// CanReply reports whether something may be sent on channel name now: it
// is known, its phase sends (not off or shadow) and it has a Sender.
// Otherwise the error is the one a reply there gets, in the order every
// path checks them: connectors.ErrUnknownChannel, ErrNotSending (the phase
// first), then ErrCannotReply. The inbox asks it before storing a reply's
// audit record and attachments, and shows its Sender half per channel.
func (o *Outbound) CanReply(name string) error {
	_, err := o.sendingChannel(name, "reply on a channel that reaches the customer (email, SMS, Slack)")
	return err
}

// sendingChannel is CanReply returning the channel; then says what to do
// instead when the channel cannot send.
func (o *Outbound) sendingChannel(name, then string) (directory.Channel, error) {
	ch, ok := o.dir.Get(name)
	if !ok {
		return ch, fmt.Errorf("%w: %q", connectors.ErrUnknownChannel, name)
	}
	if ch.Phase == store.PhaseOff || ch.Phase == store.PhaseShadow {
		return ch, fmt.Errorf("%w: %s is %s", ErrNotSending, name, ch.Phase)
	}
	if o.sender(name) == nil {
		// Refused before anything is stored: queued, it could only fail
		// at dispatch ("cannot send (no sender)"), and an accepted reply
		// moves its conversation to pending.
		return ch, fmt.Errorf("%w: %s is %s channel, which only receives messages; %s", ErrCannotReply, name, kindOf(ch.Type), then)
	}
	return ch, nil
}

// identityTypeFor is the identity a channel type delivers to.
var identityTypeFor = map[string]string{"email": connectors.Email, "sms": connectors.Phone, "slack": connectors.Slack}

// attachmentTypes are the channel types whose Sender sends attachments.
// Others refuse a reply with attachments up front (ErrAttachmentsUnsupported)
// instead of queueing a message that could only fail: Twilio MMS needs a
// public media URL the hub does not serve. Slack uploads the files into the
// conversation's thread (connectors/chat/upload.go).
var attachmentTypes = map[string]bool{"email": true, "slack": true}

// SendsAttachments reports whether replies on channels of type
// channelType may carry attachments (the inbox offers files only there).
func SendsAttachments(channelType string) bool { return attachmentTypes[channelType] }

// ReplyRequest is an agent's reply: Reply's arguments plus attachments.
type ReplyRequest struct {
	ConversationID string
	Agent          string
	// Channel "" means the conversation's channel.
	Channel string
	Text    string
	// Attachments are already stored as blobs (SHA256 set, Omitted empty).
	Attachments []connectors.Attachment
	// Purpose is the consent purpose ("": service, an answer in a
	// conversation the customer started).
	Purpose string
	// EntryID, when set, is the reply's entry id, chosen deterministic by
	// the caller (a macro's reply): when that entry exists already the
	// reply is not made again (ReplyWith returns the entry).
	EntryID string
	// LoopProtect refuses the reply (ErrNoReplyWanted) when the
	// customer's latest message is marked no-reply (an auto-reply, bulk
	// mail), as automatic messages are: for replies an agent did not write
	// (a macro's canned text).
	LoopProtect bool
}

type outItem struct {
	EntryID string `json:"entry_id"`
}

// Outbound creates replies and notes and dispatches replies to Senders.
var _ connectors.StatusSink = (*Outbound)(nil)

type Outbound struct {
	st      store.Store
	dir     *directory.Directory
	convs   *timeline.Service
	clock   store.Clock
	log     *slog.Logger
	m       *Metrics
	mu      sync.RWMutex
	senders map[string]connectors.Sender
	// consent decides whether a message may go (consent.go: SetConsent).
	consent     *consent.Policy
	unsubscribe func(customerID, channel, purpose string) string
	fig         figures
	hooks       timeline.Recorder // outgoing webhooks (webhooks.go)
}

// NewOutbound returns the outbound side; register Senders with SetSender.
// convs records a reply's effect on its conversation and a note's entry;
// nil: a service over st (a reply's change does not depend on routing, so
// any service over the same store does the same).
func NewOutbound(st store.Store, dir *directory.Directory, clock store.Clock, log *slog.Logger, m *Metrics, convs *timeline.Service) *Outbound {
	if m == nil {
		m = NewMetrics(nil)
	}
	if log == nil {
		log = slog.Default()
	}
	if convs == nil {
		convs = timeline.NewService(st, timeline.Options{Clock: clock, Logger: log})
	}
	return &Outbound{st: st, dir: dir, convs: convs, clock: clock, log: log, m: m, senders: map[string]connectors.Sender{},
		consent: consent.New(st, nil, clock),
		fig:     figures{st: st, dir: dir, clock: clock, log: log}}
}

// SetSender registers the Sender of channel name.
func (o *Outbound) SetSender(name string, s connectors.Sender) {
	o.mu.Lock()
	defer o.mu.Unlock()
	o.senders[name] = s
}

func (o *Outbound) sender(name string) connectors.Sender {
	o.mu.RLock()
	defer o.mu.RUnlock()
	return o.senders[name]
}

// Reply queues an agent's reply in conversation convID. channel "" means
// the conversation's channel.
func (o *Outbound) Reply(ctx context.Context, convID, agent, channel, text string) (store.Entry, error) {
	return o.ReplyWith(ctx, ReplyRequest{ConversationID: convID, Agent: agent, Channel: channel, Text: text})
}

// ReplyWith queues an agent's reply, with attachments. A reply with
// attachments may have no text.
func (o *Outbound) ReplyWith(ctx context.Context, r ReplyRequest) (store.Entry, error) {
	agent, text := r.Agent, r.Text
	if r.EntryID != "" {
		if e, err := o.st.GetEntry(ctx, r.EntryID); err == nil {
			return e, nil
		} else if !errors.Is(err, store.ErrNotFound) {
			return store.Entry{}, err
		}
	}
	conv, channel, to, err := o.replyChecks(ctx, r)
	if err != nil {
		return store.Entry{}, err
	}
	now := o.clock().UTC()
	id := r.EntryID
	if id == "" {
		id = ids.Random("o_", now)
	}
	e := store.Entry{ID: id, CustomerID: conv.CustomerID, ConversationID: conv.ID, Channel: channel,
		Direction: connectors.Outbound, Kind: store.KindMessage, Sender: &to, Agent: agent, PostedBy: agent, Text: text,
		Subject: conv.Subject, Attachments: r.Attachments, Status: connectors.StatusQueued, OccurredAt: now, CreatedAt: now, UpdatedAt: now,
		Purpose: r.Purpose}
	var created bool
	if e, created, err = o.st.AppendEntry(ctx, e); err != nil || !created {
		return e, err // not created: the same request made it meanwhile
	}
	b, _ := json.Marshal(outItem{EntryID: e.ID})
	if _, err := o.st.Enqueue(ctx, store.QueueOutbound, b); err != nil {
		// Refused: the conversation stays as it was (it does not wait
		// for the customer's answer to a message that was not sent).
		o.setStatus(ctx, e.ID, connectors.StatusFailed, "could not queue: "+err.Error(), "")
		return e, err
	}
	// Only an accepted reply moves its conversation (to pending). The
	// first reply's adoption figure is counted by Replied, where
	// FirstReplyAt is set (timeline/figures.go).
	if _, err := o.convs.Replied(ctx, e); err != nil {
		// The reply stands and is sent; only its conversation's activity
		// and status did not move (as before the service, not an error).
		o.log.Warn("reply stored, its conversation not updated", "entry", e.ID, "err", err)
	}
	_ = timeline.Publish(ctx, o.st, timeline.Event{Type: timeline.EventEntryCreated, CustomerID: e.CustomerID, ConversationID: conv.ID, EntryID: e.ID, Channel: channel, Status: e.Status, Audience: conv.Audience, Assignee: conv.Assignee})
	return e, nil
}

// CheckReply makes every check ReplyWith makes before storing the reply
// (text, channel and phase, attachments, recipient, consent, loop
// protection) without storing or sending anything.
func (o *Outbound) CheckReply(ctx context.Context, r ReplyRequest) error {
	_, _, _, err := o.replyChecks(ctx, r)
	return err
}

func (o *Outbound) replyChecks(ctx context.Context, r ReplyRequest) (store.Conversation, string, connectors.Identity, error) {
	var none connectors.Identity
	convID, channel, text := r.ConversationID, r.Channel, r.Text
	if strings.TrimSpace(text) == "" && len(r.Attachments) == 0 {
		return store.Conversation{}, "", none, ErrEmptyMessage
	}
	for i, a := range r.Attachments {
		if a.SHA256 == "" || a.Omitted != "" {
			return store.Conversation{}, "", none, fmt.Errorf("%w: attachment %d (%q) has no stored content", connectors.ErrInvalid, i, a.Name)
		}
	}
	conv, err := o.st.GetConversation(ctx, convID)
	if err != nil {
		return conv, "", none, err
	}
	if channel == "" {
		channel = conv.Channel
	}
	ch, err := o.sendingChannel(channel, "reply on a channel that reaches the customer (email, SMS, Slack)")
	if err != nil {
		return conv, "", none, err
	}
	if len(r.Attachments) > 0 && !attachmentTypes[ch.Type] {
		return conv, "", none, fmt.Errorf("%w: %s is a %s channel; send the text alone, or reply on a channel that takes files (email, Slack)", ErrAttachmentsUnsupported, channel, ch.Type)
	}
	if r.LoopProtect && conv.LastMessageID != "" {
		if last, err := o.st.GetEntry(ctx, conv.LastMessageID); err == nil && slices.Contains(last.Flags, store.FlagNoReply) {
			return conv, "", none, ErrNoReplyWanted
		}
	}
	to, err := o.recipient(ctx, conv, ch)
	if err != nil {
		return conv, "", none, err
	}
	if err := o.consented(ctx, conv.CustomerID, channel, r.Purpose); err != nil {
		return conv, "", none, err
	}
	return conv, channel, to, nil
}

// Note adds an agent's private note to a conversation; it is never sent.
func (o *Outbound) Note(ctx context.Context, convID, agent, text string) (store.Entry, error) {
	if strings.TrimSpace(text) == "" {
		return store.Entry{}, ErrEmptyMessage
	}
	conv, err := o.st.GetConversation(ctx, convID)
	if err != nil {
		return store.Entry{}, err
	}
	now := o.clock().UTC()
	e := store.Entry{ID: ids.Random("n_", now), CustomerID: conv.CustomerID, ConversationID: conv.ID, Channel: conv.Channel,
		Direction: connectors.Note, Kind: store.KindNote, Agent: agent, PostedBy: agent, Text: text, OccurredAt: now, CreatedAt: now, UpdatedAt: now}
	e, _, err = o.convs.Append(ctx, e, conv)
	return e, err
}

// recipient finds whom a reply on ch goes to: on the conversation's own
// channel, the sender of the customer's latest message; on another channel,
// an identity of the customer of the kind that channel reaches (verified first).
func (o *Outbound) recipient(ctx context.Context, conv store.Conversation, ch directory.Channel) (connectors.Identity, error) {
	if ch.Name == conv.Channel && conv.LastMessageID != "" {
		if e, err := o.st.GetEntry(ctx, conv.LastMessageID); err == nil && e.Sender != nil {
			return *e.Sender, nil
		}
	}
	want := identityTypeFor[ch.Type]
	v, err := timeline.Load(ctx, o.st, conv.CustomerID)
	if err != nil {
		return connectors.Identity{}, err
	}
	var best *connectors.Identity
	for _, m := range v.Members {
		for i, id := range m.Identities {
			if want != "" && id.Type != want || want == "" && ch.Type != "api" {
				continue
			}
			if best == nil || id.Verified && !best.Verified {
				best = &m.Identities[i]
			}
		}
	}
	if best == nil {
		return connectors.Identity{}, fmt.Errorf("%w: %s", ErrNoRecipient, ch.Name)
	}
	return *best, nil
}

// Run dispatches queued replies until ctx ends.
func (o *Outbound) Run(ctx context.Context, workers int, consumer string) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		o.recoverAutomatic(ctx)
	}()
	for i := 0; i < max(workers, 1); i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			o.work(ctx, fmt.Sprintf("%s-out-%d", consumer, i))
		}(i)
	}
	wg.Wait()
}

func (o *Outbound) work(ctx context.Context, consumer string) {
	for ctx.Err() == nil {
		ds, err := o.st.Read(ctx, store.QueueOutbound, consumer, 8, time.Second)
		if err != nil {
			if ctx.Err() == nil {
				o.log.Warn("outbound read failed", "err", err)
				time.Sleep(time.Second)
			}
			continue
		}
		for _, d := range ds {
			if o.dispatch(ctx, d) {
				_ = persist(ctx, o.log, "outbound ack", func() error { return o.st.Ack(ctx, store.QueueOutbound, d.ID) })
			}
		}
	}
}

// dispatch sends one reply; it reports whether the item is finished.
func (o *Outbound) dispatch(ctx context.Context, d store.Delivery) bool {
	var it outItem
	if err := json.Unmarshal(d.Payload, &it); err != nil {
		return true
	}
	var e store.Entry
	err := persist(ctx, o.log, "outbound read "+it.EntryID, func() (err error) {
		e, err = o.st.GetEntry(ctx, it.EntryID)
		if errors.Is(err, store.ErrNotFound) {
			return nil
		}
		return err
	})
	if err != nil {
		return false // ctx ended
	}
	if e.ID == "" {
		return true // erased meanwhile
	}
	if e.Status != connectors.StatusQueued {
		return true // already sent before a crash; never send twice knowingly
	}
	ch, _ := o.dir.Get(e.Channel)
	s := o.sender(e.Channel)
	if s == nil || ch.Phase == store.PhaseOff || ch.Phase == store.PhaseShadow {
		reason := fmt.Sprintf("channel %s cannot send (no sender)", e.Channel)
		if s != nil {
			reason = fmt.Sprintf("channel %s is %s", e.Channel, ch.Phase)
		}
		o.setStatus(ctx, e.ID, connectors.StatusFailed, reason, "")
		o.m.Outbound.WithLabelValues(e.Channel, "failed").Inc()
		return true
	}
	if err := o.consented(ctx, e.CustomerID, e.Channel, e.Purpose); err != nil {
		// The customer opted out after the reply was queued.
		o.setStatus(ctx, e.ID, connectors.StatusFailed, err.Error(), "")
		o.m.Outbound.WithLabelValues(e.Channel, "failed").Inc()
		return true
	}
	conv, _ := o.st.GetConversation(ctx, e.ConversationID)
	out := connectors.Outgoing{EntryID: e.ID, ConversationID: e.ConversationID, CustomerID: e.CustomerID, Channel: e.Channel,
		Subject: e.Subject, Text: e.Text, HTML: e.HTML, Agent: e.Agent, Attachments: e.Attachments, Purpose: e.Purpose,
		Automatic: slices.Contains(e.Flags, store.FlagAutomatic), Choices: e.Choices}
	if e.Purpose != "" && e.Purpose != consent.Service && o.unsubscribe != nil {
		out.Unsubscribe = o.unsubscribe(e.CustomerID, e.Channel, e.Purpose)
	}
	if conv.Channel == e.Channel {
		// A thread key means something only on the channel that made it.
		out.ThreadKey = strings.TrimPrefix(conv.ThreadKey, conv.Channel+"|")
	}
	if e.Sender != nil {
		out.To = *e.Sender
	}
	if out.Automatic {
		// Loop protection (RFC 3834), here where every automatic message
		// passes: never one in answer to a message marked no-reply.
		if why := o.automaticRefused(ctx, e, conv); why != "" {
			o.setStatus(ctx, e.ID, connectors.StatusFailed, why, "")
			o.m.Outbound.WithLabelValues(e.Channel, "failed").Inc()
			return true
		}
	}
	if last, err := o.st.GetEntry(ctx, conv.LastMessageID); err == nil && last.Channel == e.Channel {
		out.InReplyTo = last.ProviderID
	}
	res, err := s.Send(ctx, out)
	if err == nil {
		st := res.Status
		if st == "" {
			st = connectors.StatusSent
		}
		// Sent: the status must be recorded, or a redelivery would send it
		// again.
		_ = persist(ctx, o.log, "status of sent reply "+e.ID, func() error { return o.setStatus(ctx, e.ID, st, "", res.ProviderID) })
		o.m.Outbound.WithLabelValues(e.Channel, "sent").Inc()
		return true
	}
	if errors.Is(err, connectors.ErrPermanent) {
		o.setStatus(ctx, e.ID, connectors.StatusFailed, err.Error(), "")
		o.m.Outbound.WithLabelValues(e.Channel, "failed").Inc()
		return true
	}
	o.m.Outbound.WithLabelValues(e.Channel, "retry").Inc()
	var dead bool
	if persist(ctx, o.log, "outbound retry "+e.ID, func() (rerr error) {
		dead, rerr = o.st.Retry(ctx, store.QueueOutbound, d, err.Error())
		return rerr
	}) != nil {
		return false // ctx ended: redelivered after restart
	}
	if dead {
		o.setStatus(ctx, e.ID, connectors.StatusFailed, fmt.Sprintf("gave up after %d attempts: %v", d.Attempts, err), "")
		o.m.DeadLetter.WithLabelValues(store.QueueOutbound).Inc()
	}
	return false
}

// automaticRefused says why automatic message e must not go, or "": the
// customer's latest message in its conversation is marked no-reply (an
// auto-reply, bulk mail, a bounce, the hub's own mail come back).
func (o *Outbound) automaticRefused(ctx context.Context, e store.Entry, conv store.Conversation) string {
	es, err := o.st.PageEntries(ctx, e.CustomerID, "", 50)
	if err != nil {
		return "" // the sender's own checks still apply
	}
	// The latest by arrival (CreatedAt, the hub's clock), not by the
	// sender's Date: two mails dated the same second sort by id.
	var latest time.Time
	noReply := false
	for _, x := range es {
		if x.ConversationID != e.ConversationID || x.Direction != connectors.Inbound || x.Kind != store.KindMessage {
			continue
		}
		nr := slices.Contains(x.Flags, store.FlagNoReply)
		switch {
		case x.CreatedAt.After(latest):
			latest, noReply = x.CreatedAt, nr
		case x.CreatedAt.Equal(latest):
			noReply = noReply || nr
		}
	}
	if noReply {
		return "not sent: the customer's latest message is automatic or bulk mail (no-reply), and this message is automatic (RFC 3834)"
	}
	return ""
}

// consented reports whether a message for purpose ("": service) may go
// to the customer on channel: ErrNoConsent for a service message to a
// customer who stopped the channel (SMS STOP), an error wrapping
// consent.ErrRequired when another purpose's basis is not met.
func (o *Outbound) consented(ctx context.Context, customerID, channel, purpose string) error {
	if purpose == "" || purpose == consent.Service {
		if err := o.consent.Allowed(ctx, customerID, channel, consent.Service); err != nil {
			if errors.Is(err, consent.ErrRequired) {
				return fmt.Errorf("%w (%s): %w", ErrNoConsent, channel, err)
			}
			return err
		}
		return nil
	}
	return o.consent.Allowed(ctx, customerID, channel, purpose)
}

// statusRank orders delivery statuses so reports never move an entry back.
var statusRank = map[string]int{connectors.StatusQueued: 0, connectors.StatusSent: 1,
	connectors.StatusDelivered: 2, connectors.StatusUndelivered: 2, connectors.StatusFailed: 2}

// UpdateStatus implements connectors.StatusSink: a channel reports the
// status of the outbound message it sent with providerID.
func (o *Outbound) UpdateStatus(ctx context.Context, channel, providerID, status, detail string) error {
	if _, ok := statusRank[status]; !ok {
		return fmt.Errorf("%w: delivery status %q", connectors.ErrInvalid, status)
	}
	var id string
	var err error
	// A report can race the sender storing the provider id: wait briefly.
	for i := 0; i < 20; i++ {
		if id, err = o.st.GetProviderID(ctx, channel, providerID); !errors.Is(err, store.ErrNotFound) {
			break
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	if errors.Is(err, store.ErrNotFound) {
		return fmt.Errorf("outbound message %s/%s: %w", channel, providerID, connectors.ErrUnknownMessage)
	}
	if err != nil {
		return fmt.Errorf("outbound message %s/%s: %w", channel, providerID, err)
	}
	cur, err := o.st.GetEntry(ctx, id)
	if err != nil {
		return err
	}
	if statusRank[status] < statusRank[cur.Status] || cur.Status == status && cur.StatusDetail == detail {
		return nil // late or repeated report
	}
	return o.setStatus(ctx, cur.ID, status, detail, "")
}

// SetStatus records a delivery status reported by a channel (e.g. a status
// callback) on the outbound entry with the given id.
func (o *Outbound) SetStatus(ctx context.Context, entryID, status, detail string) error {
	return o.setStatus(ctx, entryID, status, detail, "")
}

func (o *Outbound) setStatus(ctx context.Context, id, status, detail, providerID string) error {
	if providerID != "" {
		cur, err := o.st.GetEntry(ctx, id)
		if err != nil {
			return err
		}
		if err := o.st.PutProviderID(ctx, cur.Channel, providerID, cur.CustomerID, id); err != nil {
			return fmt.Errorf("record provider id %s/%s: %w", cur.Channel, providerID, err)
		}
	}
	prev := ""
	e, err := o.st.UpdateEntry(ctx, id, func(e *store.Entry) error {
		prev = e.Status
		if statusRank[status] < statusRank[e.Status] {
			return nil // a status report overtook the send result
		}
		e.Status, e.StatusDetail = status, detail
		if providerID != "" {
			e.ProviderID = providerID
		}
		e.UpdatedAt = o.clock().UTC()
		return nil
	})
	if err != nil {
		return err
	}
	o.fig.outbound(ctx, e.Channel, prev, e.Status)
	if err := o.recordStatus(ctx, e, status); err != nil {
		return err
	}
	conv, _ := o.st.GetConversation(ctx, e.ConversationID)
	return timeline.Publish(ctx, o.st, timeline.Event{Type: timeline.EventEntryUpdated, CustomerID: e.CustomerID, ConversationID: e.ConversationID, EntryID: e.ID, Channel: e.Channel, Status: status, Detail: detail, Audience: conv.Audience, Assignee: conv.Assignee})
}
