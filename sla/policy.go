package sla

import (
	"slices"
	"time"

	"github.com/switchboard-hub/switchboard/sla/calendar"
	"github.com/switchboard-hub/switchboard/store"
)

// Policy is one SLA policy: targets (0: none) counted on a calendar (nil:
// around the clock), applied to the conversations of its teams or
// channels (neither: every conversation no other policy claims).
type Policy struct {
	Name          string
	FirstResponse time.Duration
	NextResponse  time.Duration
	Resolution    time.Duration
	Calendar      *calendar.Calendar
	Channels      []string
	Teams         []string
}

// Policies picks a conversation's policy and keeps its SLA. A nil
// *Policies applies none.
type Policies struct {
	list []Policy
}

// NewPolicies keeps the policies in order (the first match wins within
// each kind of match).
func NewPolicies(list []Policy) *Policies { return &Policies{list: slices.Clone(list)} }

// Len is the number of policies.
func (p *Policies) Len() int {
	if p == nil {
		return 0
	}
	return len(p.list)
}

// For is the policy of c: one naming c's team wins over one naming its
// channel, which wins over one naming neither; nil when none applies.
func (p *Policies) For(c store.Conversation) *Policy {
	if p == nil {
		return nil
	}
	var byChannel, fallback *Policy
	for i := range p.list {
		x := &p.list[i]
		switch {
		case c.Team != "" && slices.Contains(x.Teams, c.Team):
			return x
		case byChannel == nil && slices.Contains(x.Channels, c.Channel):
			byChannel = x
		case fallback == nil && len(x.Teams) == 0 && len(x.Channels) == 0:
			fallback = x
		}
	}
	if byChannel != nil {
		return byChannel
	}
	return fallback
}

func (p *Policies) named(name string) *Policy {
	if p == nil {
		return nil
	}
	for i := range p.list {
		if p.list[i].Name == name {
			return &p.list[i]
		}
	}
	return nil
}

// Apply moves c's SLA along the change from before to c that happened at
// at (a reply's time for a reply). It runs inside the compare-and-swap of
// the change (timeline.Tracker), so it is a pure function of its inputs
// and may run more than once. What it reads:
//   - the customer's first message (FirstInboundAt set): the policy is
//     chosen and the first-response and resolution due times set;
//   - the first reply (FirstReplyAt set): first response met, or missed
//     when it came after its due time;
//   - a later reply (Replies grew): a pending next response met or missed;
//   - the customer writing again after a reply (LastInboundAt moved): a
//     next response is due, counted from that message;
//   - a resolution: resolution met or missed; nothing is pending while
//     resolved (a reopening makes the resolution pending again).
func (p *Policies) Apply(before store.Conversation, c *store.Conversation, at time.Time) {
	if p == nil || c.Audience == store.AudienceShadow && c.SLA == nil {
		return // shadow conversations reach no agent: nothing is due
	}
	var pol *Policy
	if c.SLA == nil {
		if c.FirstInboundAt.IsZero() {
			return // an agent started it: nothing to respond to
		}
		if pol = p.For(*c); pol == nil {
			return
		}
		s := &store.ConversationSLA{Policy: pol.Name}
		start := c.FirstInboundAt
		if before.Audience == store.AudienceShadow && !before.FirstInboundAt.IsZero() {
			// A shadow conversation becoming visible (its channel went
			// live): agents could not answer before, so the clock starts
			// with the message that brought it in.
			start = at
		}
		if pol.FirstResponse > 0 {
			s.FirstResponseDue = pol.Calendar.Add(start, pol.FirstResponse).UTC()
		}
		if pol.Resolution > 0 {
			s.ResolutionDue = pol.Calendar.Add(start, pol.Resolution).UTC()
		}
		c.SLA = s
		before.SLA = nil
	} else {
		if pol = p.named(c.SLA.Policy); pol == nil {
			return // the policy was removed from the config: keep what was
		}
		s := *c.SLA // before shares the pointer: change a copy
		s.Breached = slices.Clone(s.Breached)
		c.SLA = &s
	}
	s := c.SLA
	breach := func(target string) {
		if !slices.Contains(s.Breached, target) {
			s.Breached = append(s.Breached, target)
		}
	}
	if before.FirstReplyAt.IsZero() && !c.FirstReplyAt.IsZero() && !s.FirstResponseDue.IsZero() &&
		c.FirstReplyAt.After(s.FirstResponseDue) {
		breach(store.SLAFirstResponse)
	}
	if c.Replies > before.Replies && !s.NextResponseDue.IsZero() {
		if at.After(s.NextResponseDue) {
			breach(store.SLANextResponse)
		}
		s.NextResponseDue = time.Time{}
	}
	if pol.NextResponse > 0 && !c.FirstReplyAt.IsZero() && c.LastInboundAt.After(before.LastInboundAt) &&
		c.LastInboundAt.After(c.FirstReplyAt) && s.NextResponseDue.IsZero() && c.Replies == before.Replies {
		s.NextResponseDue = pol.Calendar.Add(c.LastInboundAt, pol.NextResponse).UTC()
	}
	resolved := c.Status == store.StatusResolved
	if resolved && before.Status != store.StatusResolved {
		if !s.ResolutionDue.IsZero() && c.ResolvedAt.After(s.ResolutionDue) {
			breach(store.SLAResolution)
		}
		s.NextResponseDue = time.Time{}
	}
	s.Due = time.Time{}
	if !resolved {
		for _, d := range []time.Time{
			pick(c.FirstReplyAt.IsZero(), s.FirstResponseDue), s.NextResponseDue, s.ResolutionDue,
		} {
			if !d.IsZero() && (s.Due.IsZero() || d.Before(s.Due)) {
				s.Due = d
			}
		}
	}
}

func pick(ok bool, t time.Time) time.Time {
	if ok {
		return t
	}
	return time.Time{}
}

// Overdue lists the targets of c that are pending and past due at now
// (what the inbox shows before the answer that would record a breach).
func Overdue(c store.Conversation, now time.Time) []string {
	s := c.SLA
	if s == nil || c.Status == store.StatusResolved {
		return nil
	}
	var out []string
	if c.FirstReplyAt.IsZero() && !s.FirstResponseDue.IsZero() && now.After(s.FirstResponseDue) {
		out = append(out, store.SLAFirstResponse)
	}
	if !s.NextResponseDue.IsZero() && now.After(s.NextResponseDue) {
		out = append(out, store.SLANextResponse)
	}
	if !s.ResolutionDue.IsZero() && now.After(s.ResolutionDue) {
		out = append(out, store.SLAResolution)
	}
	return out
}
