// Package automation owns automation rules and macros (issue 24): rules
// that run on each customer message inside the router's processing of it,
// and macros, named bundles of the same actions an agent runs on a
// conversation.
//
// Exactly once: a rule's conversation actions (labels, team, agent,
// attributes, resolve, snooze) are applied inside the compare-and-swap
// that appends the message (timeline.Inbound.Automate), which happens once
// per message; a crash before it leaves nothing done, the redelivery does
// it. The audit record ("rule.run") and the timeline event of each rule
// that fired are written after the append with ids derived from the
// message and rule ids (written again, they are the same record).
//
// No loops, by construction: rules run on the event "message.received"
// (a customer's message) only, never on changes rules or macros make, so
// no rule's action can trigger a rule.
//
// Rules and macros are kept as JSON documents in the store's checkpoints
// ("automation/rules", "automation/macros"), validated when saved against
// the label catalog and attribute definitions (package labels) and the
// configured teams and agents.
//
// It may import store, timeline, labels and ids; router and inbox use it
// through small interfaces (router.Automation).
package automation
