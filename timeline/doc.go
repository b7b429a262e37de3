// Package timeline owns what DESIGN calls the timeline: every customer's
// entries and conversations, written and read.
//
// Writing: Service is the writer of conversations. The inbound path
// (Receive: find or open the thread's conversation, route it to a team's
// agent with a free slot, store the entry with the conversation's change
// in one step), a report filed beside a sent message (Append), agents'
// changes (Update and its shorthands Assign, SetStatus, Resolve, Reopen,
// Snooze, SetTeam), snoozes ending (WakeSnoozed, RunSnoozeWaker), a
// reply's effect on its conversation (Replied) and erasure (Delete) each
// make the store change, keep the agents' load counters, write the audit
// record of an agent's change and announce the change (Event, Publish),
// in one place. Automatic assignment reserves an agent's slot with the
// counter's atomic increment before it assigns, so workers on any number
// of replicas never put an agent past max_open_per_agent.
//
// Reading: Root, Members and Load follow merges to the view an agent sees
// of a customer; Page pages the view's entries newest first by an opaque
// cursor; Conversations lists the view's conversations.
//
// Why here and not in a package of its own: a message's entry and its
// conversation's change are one atomic store step
// (store.AppendToConversation), and a conversation is read through the
// same merged view as the entries, so a conversation package beside a
// read-only timeline would cut one record's life in two. The router
// decides where a message goes (customer, channel phase, team) and hands
// it to the Service; the inbox's handlers check a request and call it;
// the router's outbound path calls Replied for a reply and Append for a
// note; erasure deletes each conversation through Delete. Nothing outside
// this package writes a conversation or an agent's load counter (AgentLoad
// only reads it). Delivery statuses of sent messages stay with the
// outbound path, which owns sending.
//
// It imports store (the contract, never a backend), go-json for the
// events' encoding and the standard library; nothing above them.
package timeline
