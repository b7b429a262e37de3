// Package automation owns automation rules and macros (issue 24): rules
// that run on events — a customer's message, a conversation opened,
// resolved, a label added — and macros, named bundles of the same actions
// an agent runs on a conversation.
//
// Events and how each runs exactly once:
//
//   - message.received and conversation.opened (the message that opened
//     its conversation): the rules run inside the compare-and-swap that
//     appends the message (timeline.Inbound.Automate), which happens once
//     per message; a crash before it leaves nothing done, the redelivery
//     does it.
//   - conversation.resolved and label.added (an agent's, an API key's or
//     a macro's change): the rules run inside that change's
//     compare-and-swap (timeline.ChangeAutomation), which is made once.
//   - csat.received: inside the compare-and-swap that records the survey
//     answer (csat.Automation), once per survey; condition csat_score.
//   - sla.breaching ("SLA about to breach"): package sla writes, beside
//     each due-time timer, one of store.TimerSetSLABreaching due
//     automation.sla_breaching_before ahead of it (while some rule wants
//     the event: Engine.Wants); Runner.FireSLABreaching claims it (one
//     replica at a time) and runs the rules inside a compare-and-swap on
//     the conversation, only if the target is still pending with that
//     due time and no run of its key (conversation, target, due time) is
//     kept there; condition sla_target. A replica that dies after the
//     swap leaves the timer to be claimed again after its lease: the run
//     is found, only its records and effects are made (below).
//
// In both cases the run is kept on the conversation in the same swap
// (store.RuleRun, keyed by the message id or by conversation id + version
// + event). Its audit record ("rule.run"), its timeline event and its
// effects beyond the conversation are made after the swap with ids derived
// from that key, the rule and the action's place: made again, they are the
// same. (On a customer's message, where the store can — the embedded
// store, store.RecordsAppender — the audit record and the timeline event
// are written in the message's own transaction instead: Records, then
// only Effects after it.) After a crash between the swap and them, the
// message's redelivery
// (Redelivered) or the sweeper of agents' changes (Sweep, run by
// timeline's pending-event sweeper over recently changed conversations)
// makes them; for a survey answer, recording the same answer again (a
// redelivered reply) makes them. The effects:
//
//   - send_reply: router.Outbound.SendAutomatic with an entry id derived as
//     above (an existing entry is never queued again); the outbound queue,
//     consent (service purpose), the channel's phase and RFC 3834 apply:
//     the entry is flagged automatic (Auto-Submitted: auto-generated on
//     mail) and nothing answers a message flagged no-reply. Text takes
//     {{customer.name}}, {{agent.name}}, {{conversation.id}}; canned names
//     a canned reply instead (Options.Canned; without it canned is refused
//     when the rule is saved).
//   - add_note: a private note (store.KindNote, by "automation").
//   - webhook: the event "automation.webhook" in the webhook outbox
//     (signed and retried like every webhook; one event per key).
//
// No loops, by construction: an event is read from what a customer or an
// agent did, before the rules run, and the rules' own changes are made in
// that same swap without going through timeline.Service.Update, so they
// raise no event. A label a rule adds never fires label.added; a
// resolution by a rule never fires conversation.resolved; a reply sent by
// a rule is outbound and never a message.received. Macros are an agent's
// change (Update, by the agent): their labels and resolutions do fire
// rules, once, and those rules' changes fire nothing further.
//
// Macros' replies, notes and webhook calls (MacroEffects) are made by the
// API after the macro's change, as the agent's, with ids derived from the
// run (inbox's runMacro; docs/ARCHITECTURE.md).
//
// Conditions read the event (channel, text, sender, hours, added label),
// the conversation (label, attribute, priority, phase of its audience,
// new conversation) and, only when some rule asks, the customer (labels,
// attributes, seen before: another conversation of theirs exists) and the
// business_hours calendars by name.
//
// Actions that change the conversation (labels, team, agent, attribute,
// priority, resolve, snooze) are applied to it in the step's own
// compare-and-swap; set_priority takes none, low, medium, high or urgent
// (store.Priorities), checked when the rule or macro is saved.
//
// Rules and macros are kept as JSON documents in the store's checkpoints
// ("automation/rules", "automation/macros"), validated when saved against
// the label catalog and attribute definitions (package labels), the
// configured teams, agents and calendars.
//
// It may import store, timeline, labels, canned (placeholders of replies
// and notes), sla/calendar, connectors and ids;
// router and timeline use it through small interfaces (router.Automation,
// timeline.ChangeAutomation).
package automation
