package router

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"

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
// shadow, or a shadow conversation), ErrNoRecipient, ErrNoConsent or a
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
	e := store.Entry{ID: r.EntryID, CustomerID: conv.CustomerID, ConversationID: conv.ID, Channel: ch.Name,
		Direction: connectors.Outbound, Kind: store.KindMessage, Sender: &to, Agent: r.Agent, PostedBy: r.Agent,
		Text: r.Text, HTML: r.HTML, Subject: conv.Subject, Status: connectors.StatusQueued, Flags: []string{store.FlagAutomatic},
		OccurredAt: now, CreatedAt: now, UpdatedAt: now, Purpose: r.Purpose, Choices: r.Choices}
	e, created, err := o.st.AppendEntry(ctx, e)
	if err != nil || !created {
		return e, false, err
	}
	b, _ := json.Marshal(outItem{EntryID: e.ID})
	if _, err := o.st.Enqueue(ctx, store.QueueOutbound, b); err != nil {
		o.setStatus(ctx, e.ID, connectors.StatusFailed, "could not queue: "+err.Error(), "")
		return e, true, err
	}
	_ = timeline.Publish(ctx, o.st, timeline.Event{Type: timeline.EventEntryCreated, CustomerID: e.CustomerID, ConversationID: conv.ID,
		EntryID: e.ID, Channel: ch.Name, Status: e.Status, Audience: conv.Audience, Assignee: conv.Assignee})
	return e, true, nil
}

// CanSend reports whether channel name has a Sender (a web form or an
// api channel has none: nothing can be sent on it).
func (o *Outbound) CanSend(name string) bool { return o.sender(name) != nil }
