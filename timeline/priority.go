package timeline

import "github.com/switchboard-hub/switchboard/store"

// priorityDetail is the conversation.updated event's detail when a change
// moved the priority ("priority high"), else "".
func priorityDetail(before, after store.Conversation) string {
	if before.Priority == after.Priority {
		return ""
	}
	return "priority " + store.PriorityName(after.Priority)
}
