package store

import (
	"context"
	"fmt"
	"slices"
	"strings"
)

// Conversation priorities (issue 24), lowest first; "" is none.
const (
	PriorityNone   = ""
	PriorityLow    = "low"
	PriorityMedium = "medium"
	PriorityHigh   = "high"
	PriorityUrgent = "urgent"
)

// Priorities are the values Conversation.Priority may take besides "" (none).
var Priorities = []string{PriorityLow, PriorityMedium, PriorityHigh, PriorityUrgent}

// PriorityFilterNone is ConversationFilter.Priority selecting the
// conversations without a priority.
const PriorityFilterNone = "none"

// ValidPriority reports whether p is "" (none) or one of Priorities.
func ValidPriority(p string) bool { return p == PriorityNone || slices.Contains(Priorities, p) }

// ParsePriority is the priority a user's value names ("none" and "" are
// no priority); ok false when it names none of them.
func ParsePriority(v string) (p string, ok bool) {
	if v == PriorityFilterNone {
		return PriorityNone, true
	}
	return v, ValidPriority(v)
}

// PriorityName is p as users read and write it: "none" for no priority.
func PriorityName(p string) string {
	if p == PriorityNone {
		return PriorityFilterNone
	}
	return p
}

// SortPriority is ConversationFilter.Sort for urgent first, then high,
// medium, low and none, each level newest activity first.
const SortPriority = "priority"

// priorityLevels is the SortPriority order, by filter value.
var priorityLevels = []string{PriorityUrgent, PriorityHigh, PriorityMedium, PriorityLow, PriorityFilterNone}

// PriorityCursor is the SortPriority cursor of c: its level and its
// activity cursor.
func PriorityCursor(c Conversation) string {
	return PriorityName(c.Priority) + "~" + ConversationCursor(c)
}

// ParsePriorityCursor splits a SortPriority cursor into its level (a
// filter value) and activity cursor; ErrBadSortKey when it is not one.
func ParsePriorityCursor(k string) (level, before string, err error) {
	level, before, ok := strings.Cut(k, "~")
	if !ok || !slices.Contains(priorityLevels, level) {
		return "", "", fmt.Errorf("%w: %q", ErrBadSortKey, k)
	}
	if before != "" {
		if _, _, err := ParseSortKey(before); err != nil {
			return "", "", err
		}
	}
	return level, before, nil
}

// ListByPriority is ListConversations for f.Sort == SortPriority, made of
// list (a backend's ListConversations in activity order) called level by
// level with a priority filter, so it needs no index of its own: a level's
// page walks the activity index as a label filter does (PERFORMANCE.md).
func ListByPriority(ctx context.Context, f ConversationFilter,
	list func(context.Context, ConversationFilter) ([]Conversation, string, error)) ([]Conversation, string, error) {
	limit := f.Limit
	if limit <= 0 {
		limit = 50
	}
	levels := priorityLevels
	if f.Priority != "" {
		levels = []string{f.Priority}
	}
	start, before := 0, ""
	if f.Before != "" {
		level, b, err := ParsePriorityCursor(f.Before)
		if err != nil {
			return nil, "", err
		}
		start = slices.Index(levels, level)
		if start < 0 {
			return nil, "", nil
		}
		before = b
	}
	var out []Conversation
	for i := start; i < len(levels); i++ {
		g := f
		g.Sort, g.Priority, g.Before, g.Limit = "", levels[i], before, limit-len(out)
		before = ""
		page, next, err := list(ctx, g)
		if err != nil {
			return nil, "", err
		}
		out = append(out, page...)
		if next != "" {
			return out, levels[i] + "~" + next, nil
		}
		if len(out) < limit {
			continue
		}
		// The page is full and this level done: is there a next page?
		for j := i + 1; j < len(levels); j++ {
			g.Priority, g.Before, g.Limit = levels[j], "", 1
			more, _, err := list(ctx, g)
			if err != nil {
				return nil, "", err
			}
			if len(more) > 0 {
				return out, levels[j] + "~", nil
			}
		}
		return out, "", nil
	}
	return out, "", nil
}
