package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/switchboard-hub/switchboard/automation"
	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/sla/calendar"
)

// businessCalendars builds the business_hours calendars by name (rules'
// business_hours condition).
func businessCalendars(cfg *config.Config) (map[string]*calendar.Calendar, error) {
	cals := map[string]*calendar.Calendar{}
	for _, b := range cfg.BusinessHours {
		cal, err := b.Calendar()
		if err != nil {
			return nil, fmt.Errorf("business_hours %s: %w", b.Name, err)
		}
		cals[b.Name] = cal
	}
	return cals, nil
}

// automaticReplies sends rules' replies as automatic messages: through
// the outbound queue, consent checked, flagged automatic (RFC 3834
// Auto-Submitted on mail), never to a message marked no-reply, never on a
// channel with no Sender (an api channel, a web form: ErrCannotReply,
// nothing stored or queued). A reply refused for one of those reasons is
// done (not retried: a retry would be refused alike).
func automaticReplies(out *router.Outbound) func(context.Context, automation.Reply) error {
	return func(ctx context.Context, r automation.Reply) error {
		_, _, err := out.SendAutomatic(ctx, router.AutomaticRequest{ConversationID: r.ConversationID, EntryID: r.EntryID, Text: r.Text, Agent: "automation"})
		if errors.Is(err, router.ErrNoReplyWanted) || errors.Is(err, router.ErrCannotReply) {
			return nil
		}
		return err
	}
}
