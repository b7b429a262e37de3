package router

import (
	"context"
	"fmt"
	"strings"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/consent"
	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// SetConsent replaces the consent policy every outbound message is checked
// against (default: consent.Defaults) and sets how the one-click
// unsubscribe URL of a non-service message is made (nil: none).
func (o *Outbound) SetConsent(p *consent.Policy, unsubscribeURL func(customerID, channel, purpose string) string) {
	o.consent = p
	o.unsubscribe = unsubscribeURL
}

// StartRequest is an agent's message that starts a new conversation with a
// customer (agent-initiated outbound).
type StartRequest struct {
	CustomerID string
	Channel    string
	Text       string
	Subject    string
	// Purpose is the consent purpose the message is sent for (required).
	Purpose string
	Agent   string
}

// Start opens a new conversation with the customer on r.Channel and queues
// r.Text in it, after checking the purpose's consent (an error wrapping
// consent.ErrRequired when its basis is not met: nothing is created) and
// that the channel can reach the customer.
func (o *Outbound) Start(ctx context.Context, r StartRequest) (store.Entry, store.Conversation, error) {
	if strings.TrimSpace(r.Text) == "" {
		return store.Entry{}, store.Conversation{}, ErrEmptyMessage
	}
	if r.Purpose == "" {
		return store.Entry{}, store.Conversation{}, fmt.Errorf("%w: purpose is required", connectors.ErrInvalid)
	}
	if _, ok := o.consent.Purpose(r.Purpose); !ok {
		return store.Entry{}, store.Conversation{}, fmt.Errorf("%w: %w: %q", connectors.ErrInvalid, consent.ErrUnknownPurpose, r.Purpose)
	}
	v, err := timeline.Load(ctx, o.st, r.CustomerID)
	if err != nil {
		return store.Entry{}, store.Conversation{}, err
	}
	ch, err := o.sendingChannel(r.Channel, "start the conversation on a channel that reaches the customer")
	if err != nil {
		return store.Entry{}, store.Conversation{}, err
	}
	if err := o.consented(ctx, v.Root.ID, r.Channel, r.Purpose); err != nil {
		return store.Entry{}, store.Conversation{}, err
	}
	if _, err := o.recipient(ctx, store.Conversation{CustomerID: v.Root.ID}, ch); err != nil {
		return store.Entry{}, store.Conversation{}, err
	}
	now := o.clock().UTC()
	id := ids.Random("v_", now)
	conv, _, err := o.st.OpenConversation(ctx, store.Conversation{ID: id, CustomerID: v.Root.ID, Channel: r.Channel,
		ThreadKey: r.Channel + "|out:" + id, Subject: r.Subject, Status: store.StatusPending, Audience: ch.Audience(),
		CreatedAt: now, LastActivity: now})
	if err != nil {
		return store.Entry{}, store.Conversation{}, err
	}
	e, err := o.ReplyWith(ctx, ReplyRequest{ConversationID: conv.ID, Agent: r.Agent, Channel: r.Channel, Text: r.Text, Purpose: r.Purpose})
	return e, conv, err
}

// consentChannel is the channel a decision carried by a message holds on:
// a web form's checkbox is consent to the purpose wherever the hub
// reaches the customer ("*": a form is not a channel the hub sends on);
// an SMS STOP holds on its channel.
func consentChannel(channelType, channel string) string {
	if channelType == "webform" {
		return consent.AnyChannel
	}
	return channel
}

// consentSource names where a consent decision carried by a message of a
// channel type came from.
func consentSource(channelType string) string {
	if channelType == "webform" {
		return consent.SourceWebForm
	}
	return consent.SourceMessage
}
