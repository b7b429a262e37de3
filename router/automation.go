package router

import (
	"context"
	"fmt"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// Automation runs automation rules on inbound messages (issue 24; package
// automation implements it). Rules run on customers' messages only, never
// on changes rules make: so rules cannot loop.
type Automation interface {
	// Prepare returns, for the message's entry e, the function that
	// applies the matching rules to its conversation inside the append's
	// compare-and-swap (timeline.Inbound.Automate) and the function to
	// call once the message is stored (the audit records and timeline
	// events, with ids derived from the message id). nil, nil when no rule
	// is active; an error leaves the message without rules (a rule that
	// fails never loses the message).
	Prepare(ctx context.Context, e store.Entry) (apply func(store.Entry, *store.Conversation), done func(context.Context, store.Entry, store.Conversation), err error)
	// Redelivered is called for a message already on its timeline (a
	// crash came after its append, before its acknowledgement): it writes
	// again the records of the rules that ran on it (same ids: once).
	Redelivered(ctx context.Context, e store.Entry) error
}

// automationInStep is an Automation whose run's records (timeline event,
// audit record) the store may write in the message's own step
// (timeline.Inbound.Records, store.RecordsAppender): then only Effects is
// left for after the append, instead of done.
type automationInStep interface {
	Records(e store.Entry, c store.Conversation) ([]store.Entry, []store.AuditRecord)
	Effects(ctx context.Context, e store.Entry, c store.Conversation)
}

func (r *Router) automationRedelivered(ctx context.Context, e store.Entry) {
	if r.opts.Automation == nil || e.Direction != connectors.Inbound || e.Kind != store.KindMessage {
		return
	}
	if err := r.opts.Automation.Redelivered(ctx, e); err != nil {
		r.log.Error("automation records of a redelivered message not written", "message", e.ID, "err", err)
	}
}

func (r *Router) automation(ctx context.Context, e store.Entry) (func(store.Entry, *store.Conversation), func(context.Context, store.Entry, store.Conversation)) {
	if r.opts.Automation == nil {
		return nil, nil
	}
	apply, done, err := r.opts.Automation.Prepare(ctx, e)
	if err != nil {
		r.log.Error("automation rules not run on a message", "message", e.ID, "err", err)
		return nil, nil
	}
	if apply == nil {
		return nil, done
	}
	safe := func(e store.Entry, x *store.Conversation) {
		// A rule that panics changes nothing and never loses the message.
		snapshot := *x
		defer func() {
			if p := recover(); p != nil {
				*x = snapshot
				r.log.Error("automation rule failed", "message", e.ID, "err", fmt.Sprint(p))
			}
		}()
		apply(e, x)
	}
	return safe, done
}
