// Package csat owns customer satisfaction surveys on the customer's own
// channel (issue 17): scheduling one survey after a conversation with an
// agent's reply is resolved (durable store.Timers, so a restart loses
// none and replicas send each once), sending it through the normal
// outbound path (router.Outbound.SendAutomatic: consent, phase, delivery
// status, timeline), and taking the answer however it comes back (an SMS
// or mail reply that is a score, through router.Answers; a signed,
// single-use link to the /csat/{token} page) as a store.KindCSAT entry in
// the resolved conversation, a csat.received webhook event and a call of
// the report Sink.
//
// It may import store, timeline, router, directory, consent, connectors
// and internal helpers; nothing imports it but cmd/switchboard.
package csat
