package timeline

import "github.com/switchboard-hub/switchboard/store"

// priorityName is p for the audit log and the timeline ("none" for "").
func priorityName(p string) string {
	if p == store.PriorityNone {
		return store.PriorityFilterNone
	}
	return p
}

// priorityDetail is the conversation.updated event's detail when a change
// moved the priority ("priority high"), else "".
func priorityDetail(before, after store.Conversation) string {
	if before.Priority == after.Priority {
		return ""
	}
	return "priority " + priorityName(after.Priority)
}
