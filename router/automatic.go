package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// ErrNoReplyWanted: the customer's latest message in the conversation is
// marked no-reply (an auto-reply, bulk mail); nothing automatic answers it.
var ErrNoReplyWanted = errors.New("the customer's latest message must not be answered automatically")

// AutomaticRequest is a message no agent wrote (a satisfaction survey),
// sent on the conversation's own channel.
type AutomaticRequest struct {
	ConversationID string
	// Channel "" is the conversation's channel; another one sends to the
	// customer's identity of that channel's kind.
	Channel string
	// EntryID is chosen by the caller, deterministic: a repeated call (a
	// retry after a crash, another replica) finds the entry and sends
	// nothing again.
	EntryID string
	Text    string
	HTML    string
	// Purpose is the consent purpose ("": service).
	Purpose string
	// Agent names the automation on the entry (shown as its author).
	Agent string
	// Choices are quick answers offered as buttons where the channel can.
	Choices []connectors.Choice
}

// SendAutomatic queues an automatic message through the normal outbound
// path (consent, phase, delivery status and the timeline work as for a
// reply), with its entry flagged automatic. Unlike a reply it does not
// touch the conversation: no reply count, no status change, a resolved
// conversation stays resolved. created is false when the entry already
// existed (nothing is queued again). Errors: ErrNotSending (channel off or
// shadow, or a shadow conversation), ErrCannotReply (the channel has no
// Sender: an api channel or a web form; nothing is stored), ErrNoRecipient, ErrNoConsent or a
// consent error, ErrNoReplyWanted.
func (o *Outbound) SendAutomatic(ctx context.Context, r AutomaticRequest) (store.Entry, bool, error) {
	if r.EntryID == "" || strings.TrimSpace(r.Text) == "" {
		return store.Entry{}, false, ErrEmptyMessage
	}
	if e, err := o.st.GetEntry(ctx, r.EntryID); err == nil {
		return e, false, nil
	} else if !errors.Is(err, store.ErrNotFound) {
		return store.Entry{}, false, err
	}
	conv, err := o.st.GetConversation(ctx, r.ConversationID)
	if err != nil {
		return store.Entry{}, false, err
	}
	channel := r.Channel
	if channel == "" {
		channel = conv.Channel
	}
	ch, ok := o.dir.Get(channel)
	if !ok {
		return store.Entry{}, false, fmt.Errorf("%w: %q", connectors.ErrUnknownChannel, channel)
	}
	if ch.Phase == store.PhaseOff || ch.Phase == store.PhaseShadow || conv.Audience == store.AudienceShadow {
		return store.Entry{}, false, fmt.Errorf("%w: %s is %s", ErrNotSending, ch.Name, ch.Phase)
	}
	if _, err := o.sendingChannel(channel, "automatic messages are not sent there"); err != nil {
		// No Sender (an api channel, a web form): queued, the message
		// could only fail at dispatch. Nothing is stored.
		return store.Entry{}, false, err
	}
	if conv.LastMessageID != "" {
		if last, err := o.st.GetEntry(ctx, conv.LastMessageID); err == nil && slices.Contains(last.Flags, store.FlagNoReply) {
			return store.Entry{}, false, ErrNoReplyWanted
		}
	}
	to, err := o.recipient(ctx, conv, ch)
	if err != nil {
		return store.Entry{}, false, err
	}
	if err := o.consented(ctx, conv.CustomerID, ch.Name, r.Purpose); err != nil {
		return store.Entry{}, false, err
	}
	now := o.clock().UTC()
	// Durable before the entry: a crash between storing the entry and
	// queueing it leaves this timer due, and RecoverAutomatic queues the
	// entry then (a stored automatic message is never left unsent).
	if err := o.st.PutTimer(ctx, store.Timer{Set: store.TimerSetAutomatic, ID: r.EntryID, At: now.Add(automaticRecoverAfter)}); err != nil {
		return store.Entry{}, false, err
	}
	e := store.Entry{ID: r.EntryID, CustomerID: conv.CustomerID, ConversationID: conv.ID, Channel: ch.Name,
		Direction: connectors.Outbound, Kind: store.KindMessage, Sender: &to, Agent: r.Agent, PostedBy: r.Agent,
		Text: r.Text, HTML: r.HTML, Subject: conv.Subject, Status: connectors.StatusQueued, Flags: []string{store.FlagAutomatic},
		OccurredAt: now, CreatedAt: now, UpdatedAt: now, Purpose: r.Purpose, Choices: r.Choices}
	e, created, err := o.st.AppendEntry(ctx, e)
	if err != nil || !created {
		// Not created: another call (replica) stored it; its timer stays
		// until that call queued it or RecoverAutomatic found it queued.
		return e, false, err
	}
	if automaticCrashPoint != nil {
		automaticCrashPoint(e.ID)
	}
	b, _ := json.Marshal(outItem{EntryID: e.ID})
	if _, err := o.st.Enqueue(ctx, store.QueueOutbound, b); err != nil {
		o.setStatus(ctx, e.ID, connectors.StatusFailed, "could not queue: "+err.Error(), "")
		_ = o.st.DeleteTimer(ctx, store.TimerSetAutomatic, e.ID)
		return e, true, err
	}
	if err := o.st.DeleteTimer(ctx, store.TimerSetAutomatic, e.ID); err != nil {
		// Queued all the same: the recovery finds the item and queues
		// nothing more.
		o.log.Warn("automatic message queued, its recovery timer not deleted", "entry", e.ID, "err", err)
	}
	_ = timeline.Publish(ctx, o.st, timeline.Event{Type: timeline.EventEntryCreated, CustomerID: e.CustomerID, ConversationID: conv.ID,
		EntryID: e.ID, Channel: ch.Name, Status: e.Status, Audience: conv.Audience, Assignee: conv.Assignee})
	return e, true, nil
}

// CanSend reports whether channel name has a Sender (a web form or an
// api channel has none: nothing can be sent on it). It is the test behind
// ErrCannotReply (CanReply adds the phase).
func (o *Outbound) CanSend(name string) bool { return o.sender(name) != nil }

// automaticRecoverAfter: an automatic message stored but not queued this
// long after it was stored is queued by RecoverAutomatic.
const automaticRecoverAfter = time.Minute

// automaticRecoverEvery is how often Run looks for such messages.
const automaticRecoverEvery = 15 * time.Second

// automaticCrashPoint, when set (tests), is called between storing an
// automatic message and queueing it: a panic there is the process dying.
var automaticCrashPoint func(entryID string)

// RecoverAutomatic queues the automatic messages that were stored but
// never queued (the process died between the two: SendAutomatic's timer
// is still there after automaticRecoverAfter) and returns how many it
// queued. A message already in the outbound queue (waiting or in
// flight), sent, failed or erased is left alone; the timer is then
// dropped. Run calls it periodically; it is safe on every replica (the
// store hands a due timer to one claimer at a time).
func (o *Outbound) RecoverAutomatic(ctx context.Context) (int, error) {
	queued := 0
	for {
		ts, err := o.st.ClaimTimers(ctx, store.TimerSetAutomatic, o.clock().UTC(), automaticRecoverAfter, 100)
		if err != nil || len(ts) == 0 {
			return queued, err
		}
		var inQueue map[string]bool
		for _, t := range ts {
			e, err := o.st.GetEntry(ctx, t.ID)
			if err != nil && !errors.Is(err, store.ErrNotFound) {
				continue // left to its lease
			}
			if err == nil && e.Status == connectors.StatusQueued {
				if inQueue == nil {
					ds, err := o.st.PeekQueue(ctx, store.QueueOutbound, 0)
					if err != nil {
						return queued, err
					}
					inQueue = map[string]bool{}
					for _, d := range ds {
						var it outItem
						if json.Unmarshal(d.Payload, &it) == nil {
							inQueue[it.EntryID] = true
						}
					}
				}
				if !inQueue[e.ID] {
					b, _ := json.Marshal(outItem{EntryID: e.ID})
					if _, err := o.st.Enqueue(ctx, store.QueueOutbound, b); err != nil {
						return queued, err
					}
					inQueue[e.ID] = true
					queued++
					o.log.Info("automatic message queued after a crash", "entry", e.ID)
					conv, _ := o.st.GetConversation(ctx, e.ConversationID)
					_ = timeline.Publish(ctx, o.st, timeline.Event{Type: timeline.EventEntryCreated, CustomerID: e.CustomerID, ConversationID: e.ConversationID,
						EntryID: e.ID, Channel: e.Channel, Status: e.Status, Audience: conv.Audience, Assignee: conv.Assignee})
				}
			}
			if err := o.st.DeleteTimer(ctx, store.TimerSetAutomatic, t.ID); err != nil {
				return queued, err
			}
		}
		if len(ts) < 100 {
			return queued, nil
		}
	}
}

// recoverAutomatic runs RecoverAutomatic every automaticRecoverEvery
// until ctx ends.
func (o *Outbound) recoverAutomatic(ctx context.Context) {
	tk := time.NewTicker(automaticRecoverEvery)
	defer tk.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tk.C:
			if _, err := o.RecoverAutomatic(ctx); err != nil && ctx.Err() == nil {
				o.log.Warn("recovering automatic messages failed; trying again", "err", err)
			}
		}
	}
}
