package router

import (
	"context"
	"fmt"
	"slices"

	"github.com/switchboard-hub/switchboard/store"
)

// Agent is a person who works conversations.
type Agent struct {
	Name  string
	Role  string // admin | agent
	Teams []string
}

// Routing decides which team a new conversation goes to and which agent
// gets it.
type Routing struct {
	Teams  []string
	Agents []Agent
	// Rules map a channel name (or "*") to a team. A channel's own Team
	// setting comes first, then its rule, then "*", then the first team.
	Rules map[string]string
	// MaxOpenPerAgent: an agent with this many open conversations gets no
	// more automatically (0 = 20).
	MaxOpenPerAgent int
}

type assigner struct {
	st      store.Store
	routing Routing
}

// TeamFor returns the team conversations of channel ch go to ("" when no
// team is configured).
func (rt Routing) TeamFor(ch Channel) string {
	if ch.Phase == store.PhasePilot {
		return ch.PilotTeam
	}
	if ch.Team != "" {
		return ch.Team
	}
	if t, ok := rt.Rules[ch.Name]; ok {
		return t
	}
	if t, ok := rt.Rules["*"]; ok {
		return t
	}
	if len(rt.Teams) > 0 {
		return rt.Teams[0]
	}
	return ""
}

// route picks the team and, round-robin among the team's agents with free
// capacity, the agent. An empty agent means nobody had capacity: the
// conversation waits unassigned in the team's queue.
func (a *assigner) route(ctx context.Context, ch Channel, c store.Conversation) (team, agent string, err error) {
	team = a.routing.TeamFor(ch)
	if team == "" {
		return "", "", nil
	}
	var members []string
	for _, ag := range a.routing.Agents {
		if slices.Contains(ag.Teams, team) {
			members = append(members, ag.Name)
		}
	}
	if len(members) == 0 {
		return team, "", nil
	}
	max := a.routing.MaxOpenPerAgent
	if max <= 0 {
		max = 20
	}
	n, err := a.st.Incr(ctx, "rr:"+team, 1)
	if err != nil {
		return "", "", fmt.Errorf("round-robin cursor: %w", err)
	}
	for i := range members {
		cand := members[(int(n)+i)%len(members)]
		load, err := a.st.Incr(ctx, loadKey(cand), 0)
		if err != nil {
			return "", "", err
		}
		if load < int64(max) {
			return team, cand, nil
		}
	}
	return team, "", nil
}

// An agent's load is the number of unresolved conversations assigned to
// them, kept as a shared counter so that choosing an agent costs one read,
// however many conversations exist. Every change of a conversation's
// assignee or status goes through AdjustLoad.
func loadKey(agent string) string { return "load:" + agent }

func countsAsLoad(c store.Conversation) bool {
	return c.Assignee != "" && c.Status != store.StatusResolved
}

// AdjustLoad updates the agents' load counters after a conversation changed
// from before to after (use a zero before for a new conversation, a zero
// after for a deleted one).
func AdjustLoad(ctx context.Context, st store.Counters, before, after store.Conversation) {
	moved := before.Assignee != after.Assignee
	if countsAsLoad(before) && (moved || !countsAsLoad(after)) {
		_, _ = st.Incr(ctx, loadKey(before.Assignee), -1)
	}
	if countsAsLoad(after) && (moved || !countsAsLoad(before)) {
		_, _ = st.Incr(ctx, loadKey(after.Assignee), 1)
	}
}

// Load returns an agent's current number of unresolved assigned conversations.
func Load(ctx context.Context, st store.Counters, agent string) (int64, error) {
	return st.Incr(ctx, loadKey(agent), 0)
}
