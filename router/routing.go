package router

import (
	"context"
	"log/slog"
	"slices"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// Agent is a person who works conversations.
type Agent struct {
	Name  string
	Role  string // admin | agent
	Teams []string
}

// Routing decides which team a new conversation goes to (TeamFor); its
// agents and capacity configure the round robin of the conversation
// service (timeline.Options from TeamMembers and MaxOpenPerAgent), which
// picks the agent.
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

// TeamMembers lists each team's agents in configuration order, for the
// conversation service's round robin (timeline.Options.Teams).
func (rt Routing) TeamMembers() map[string][]string {
	out := map[string][]string{}
	for _, ag := range rt.Agents {
		for _, t := range ag.Teams {
			if !slices.Contains(out[t], ag.Name) {
				out[t] = append(out[t], ag.Name)
			}
		}
	}
	return out
}

// AdjustLoad updates the agents' load counters after a conversation changed
// from before to after (use a zero before for a new conversation, a zero
// after for a deleted one).
//
// Deprecated: conversations change through timeline.Service, which keeps
// the counters (Service.Delete for erasure, Service.Replied for a reply).
func AdjustLoad(ctx context.Context, st store.Counters, before, after store.Conversation) {
	if err := timeline.AdjustLoad(ctx, st, before, after); err != nil {
		slog.Error("agent load counter not updated", "conversation", after.ID, "err", err)
	}
}

// Load returns an agent's current number of unresolved assigned conversations.
func Load(ctx context.Context, st store.Counters, agent string) (int64, error) {
	return timeline.AgentLoad(ctx, st, agent)
}
