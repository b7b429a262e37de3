package router

import (
	"context"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Answers takes an inbound message that answers something the hub asked
// (a satisfaction survey's score: package csat) before the message would
// join or open a conversation. Answer reports whether it took msg (then
// msg is on a timeline as the answer, under an id that makes a redelivery
// a no-op); false leaves msg an ordinary message. It must be idempotent.
type Answers interface {
	Answer(ctx context.Context, msg connectors.Message, customerID string) (bool, error)
}

// SetAnswers installs the answer taker; call it before Run.
func (r *Router) SetAnswers(a Answers) { r.answers = a }
