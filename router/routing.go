package router

import (
	"slices"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/store"
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
func (rt Routing) TeamFor(ch directory.Channel) string {
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
