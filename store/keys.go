package store

import (
	"fmt"
	"strings"
	"time"
)

// SortKey is the fixed-width, lexically ordered timeline position of an entry.
func SortKey(t time.Time, id string) string {
	return fmt.Sprintf("%020d|%s", t.UTC().UnixNano(), id)
}

// ConversationCursor encodes the position of a conversation in activity
// order, for ListConversations paging.
func ConversationCursor(c Conversation) string {
	return fmt.Sprintf("%020d|%s", c.LastActivity.UTC().UnixNano(), c.ID)
}

// TeamAudience is the audience value restricting a conversation to one team.
func TeamAudience(team string) string { return "team:" + team }

// MatchConversation reports whether c passes f, excluding the cursor and limit.
// Backends may use it after narrowing by an index.
func MatchConversation(c Conversation, f ConversationFilter) bool {
	if f.Status != "" && c.Status != f.Status {
		return false
	}
	if f.Channel != "" && c.Channel != f.Channel {
		return false
	}
	switch f.Assignee {
	case "":
	case "-":
		if c.Assignee != "" {
			return false
		}
	default:
		if c.Assignee != f.Assignee {
			return false
		}
	}
	if f.Team != "" && c.Team != f.Team {
		return false
	}
	if f.Audiences != nil && !contains(f.Audiences, c.Audience) {
		return false
	}
	if f.CustomerIDs != nil && !contains(f.CustomerIDs, c.CustomerID) {
		return false
	}
	if f.Before != "" && strings.Compare(ConversationCursor(c), f.Before) >= 0 {
		return false
	}
	return true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
