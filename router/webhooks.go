package router

import (
	"context"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/consent"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// SetWebhooks makes the outbound side record message.sent and
// message.status for outgoing webhooks (nil: none). Call it before Run.
func (o *Outbound) SetWebhooks(r timeline.Recorder) { o.hooks = r }

// StatusData is the data of message.status.
type StatusData struct {
	MessageID      string `json:"message_id"`
	CustomerID     string `json:"customer_id"`
	ConversationID string `json:"conversation_id,omitempty"`
	Channel        string `json:"channel"`
	Status         string `json:"status"`
	Detail         string `json:"detail,omitempty"`
	ProviderID     string `json:"provider_id,omitempty"`
}

// recordStatus records the events of a reply's new status, after the
// entry took it and before the caller acknowledges the report (a failure
// fails the status update, which its caller retries or the provider
// reports again; the same status is the same event).
func (o *Outbound) recordStatus(ctx context.Context, e store.Entry, status string) error {
	if o.hooks == nil || e.Status != status {
		return nil // none wanted, or a late report that changed nothing
	}
	// The stored reply's creation time leads the webhook-ids (the outbox
	// is written in time order; store.WebhookEventID): it is the same for
	// every report of its status.
	if status == connectors.StatusSent {
		if err := o.hooks.RecordAll(ctx, []timeline.Hook{{Type: "message.sent", Key: e.ID, CustomerID: e.CustomerID,
			Data: timeline.MessageDataOf(e), At: e.CreatedAt}}); err != nil {
			return err
		}
	}
	return o.hooks.RecordAll(ctx, []timeline.Hook{{Type: "message.status", Key: e.ID + "/" + status, CustomerID: e.CustomerID,
		Data: StatusData{MessageID: e.ID, CustomerID: e.CustomerID, ConversationID: e.ConversationID, Channel: e.Channel, Status: status,
			Detail: e.StatusDetail, ProviderID: e.ProviderID}, At: e.CreatedAt}})
}

// ConsentData is the data of consent.changed (one type with consent's).
type ConsentData = consent.ChangeData

func consentData(customer string, msg connectors.Message, c *connectors.ConsentChange) ConsentData {
	return ConsentData{CustomerID: customer, Channel: msg.Channel, Purpose: c.Purpose, Granted: c.Granted, Version: c.Version,
		MessageID: msg.ID, At: msg.OccurredAt}
}
