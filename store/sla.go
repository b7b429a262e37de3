package store

import "time"

// SLA targets a conversation can miss (ConversationSLA.Breached).
const (
	SLAFirstResponse = "first_response"
	SLANextResponse  = "next_response"
	SLAResolution    = "resolution"
)

// ConversationSLA is a conversation's service level under the SLA policy
// that applied when its customer first wrote (issue 17). It is kept by
// timeline.Service inside the same compare-and-swap as the change that
// moves it (package sla computes it), never by scanning.
type ConversationSLA struct {
	Policy string `json:"policy"`
	// FirstResponseDue / ResolutionDue count from the customer's first
	// message; NextResponseDue from the customer's latest message after an
	// agent had answered (zero while nothing awaits a next response).
	// Working time only when the policy names a calendar.
	FirstResponseDue time.Time `json:"first_response_due,omitzero"`
	NextResponseDue  time.Time `json:"next_response_due,omitzero"`
	ResolutionDue    time.Time `json:"resolution_due,omitzero"`
	// Due is the earliest due time still pending (zero: none): what the
	// inbox shows and sorts by (ListConversations with SortSLADue).
	Due time.Time `json:"due,omitzero"`
	// Breached lists the targets missed (SLAFirstResponse, ...), each once,
	// in the order they were missed; a target is missed when its answer
	// (the reply, the resolution) came after its due time.
	Breached []string `json:"breached,omitempty"`
}

// HasBreach reports whether target is among s's breaches.
func (s *ConversationSLA) HasBreach(target string) bool {
	if s == nil {
		return false
	}
	for _, b := range s.Breached {
		if b == target {
			return true
		}
	}
	return false
}

// SortSLADue is ConversationFilter.Sort for the conversations with an SLA
// due time pending (ConversationSLA.Due), earliest first; conversations
// with nothing due are not listed in this order.
const SortSLADue = "sla_due"

// SLADueCursor is the key of c in the due-time order (its ConversationSLA.Due
// and id, a SortKey), "" when nothing is due.
func SLADueCursor(c Conversation) string {
	if c.SLA == nil || c.SLA.Due.IsZero() {
		return ""
	}
	return SortKey(c.SLA.Due, c.ID)
}

// PendingSLADue is the due time of target (SLAFirstResponse, ...) still
// pending on c: zero when c has no SLA, is resolved, the target was missed
// already or is met (a first reply was sent; no next response awaited).
func (c Conversation) PendingSLADue(target string) time.Time {
	s := c.SLA
	if s == nil || c.Status == StatusResolved || s.HasBreach(target) {
		return time.Time{}
	}
	switch target {
	case SLAFirstResponse:
		if c.FirstReplyAt.IsZero() {
			return s.FirstResponseDue
		}
	case SLANextResponse:
		return s.NextResponseDue
	case SLAResolution:
		return s.ResolutionDue
	}
	return time.Time{}
}
