package store

import (
	"errors"
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// Sort keys (a timeline entry's position, a conversation's activity cursor,
// a merge's index position) are all one format, encoded and decoded here
// only:
//
//	%020d|ID
//
// the time as zero-padded Unix nanoseconds (20 characters, the sign
// included), a '|', then the id. Keys of times from 1970 on compare
// lexically in time order, then by id.
//
// Unix nanoseconds are an int64, which covers 1677-09-21T00:12:43.145224192Z
// to 2262-04-11T23:47:16.854775807Z (MinSortTime, MaxSortTime). A time
// outside that range (the zero time, a date in year 9999) is clamped to the
// nearest end before encoding, so it still sorts before or after every
// representable time instead of wrapping around to an arbitrary value; the
// key of a time inside the range is unchanged. Decoding such a key gives the
// clamped time.
const sortKeyWidth = 20

// MinSortTime and MaxSortTime bound the times a sort key represents.
var (
	MinSortTime = time.Unix(0, math.MinInt64).UTC()
	MaxSortTime = time.Unix(0, math.MaxInt64).UTC()
)

// ErrBadSortKey: a string that is not a sort key.
var ErrBadSortKey = errors.New("not a sort key")

// sortNanos is t as Unix nanoseconds, clamped to [MinSortTime, MaxSortTime].
func sortNanos(t time.Time) int64 {
	switch {
	case t.Before(MinSortTime):
		return math.MinInt64
	case t.After(MaxSortTime):
		return math.MaxInt64
	}
	return t.UnixNano()
}

// SortKey is the fixed-width, lexically ordered timeline position of an
// entry (or any record ordered by a time, then its id).
func SortKey(t time.Time, id string) string {
	return fmt.Sprintf("%0*d|%s", sortKeyWidth, sortNanos(t), id)
}

// ConversationCursor encodes the position of a conversation in activity
// order, for ListConversations paging.
func ConversationCursor(c Conversation) string { return SortKey(c.LastActivity, c.ID) }

// ParseSortKey decodes a SortKey or ConversationCursor into its time (UTC)
// and id; ErrBadSortKey when k is not one.
func ParseSortKey(k string) (time.Time, string, error) {
	if len(k) <= sortKeyWidth || k[sortKeyWidth] != '|' {
		return time.Time{}, "", fmt.Errorf("%w: %q", ErrBadSortKey, k)
	}
	n, err := strconv.ParseInt(k[:sortKeyWidth], 10, 64)
	// "+..." and "-000..." decode but are not how SortKey writes their
	// time: a cursor must encode back to itself.
	if err != nil || k[0] == '+' || n == 0 && k[0] == '-' {
		return time.Time{}, "", fmt.Errorf("%w: %q", ErrBadSortKey, k)
	}
	return time.Unix(0, n).UTC(), k[sortKeyWidth+1:], nil
}

// SortKeyID returns the id part of a SortKey or ConversationCursor without
// decoding the time ("" when k is not one): the cheap half of ParseSortKey
// for backends that only need the id.
func SortKeyID(k string) string {
	if len(k) <= sortKeyWidth || k[sortKeyWidth] != '|' {
		return ""
	}
	return k[sortKeyWidth+1:]
}

// LegacyProviderIDCheckpoint names the checkpoint under which versions
// before the ProviderIDs record kept a provider id's entry id. Backends read
// it when GetProviderID finds no record, so reports and bounces of messages
// sent before an upgrade still find their entries; nothing writes it any
// more.
func LegacyProviderIDCheckpoint(channel, providerID string) string {
	return "provider|" + channel + "|" + providerID
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
	if f.Label != "" && !contains(c.Labels, f.Label) && (f.LabelOnCustomer == nil || !f.LabelOnCustomer(c.CustomerID)) {
		return false
	}
	if f.Priority != "" && c.Priority != f.Priority && (f.Priority != PriorityFilterNone || c.Priority != PriorityNone) {
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
