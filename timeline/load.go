package timeline

import (
	"context"
	"fmt"

	"github.com/switchboard-hub/switchboard/store"
)

// An agent's load is the number of unresolved conversations assigned to
// them, kept as a shared counter (store.Counters) so that choosing an agent
// costs one counter operation however many conversations exist. The
// Service changes it with every change of a conversation's assignee or
// status, and reserves it before an automatic assignment (reserve), which
// is what keeps an agent within capacity when workers on several replicas
// assign at once: the counter's increment is atomic on every backend, a
// read-then-assign is not.
//
// The counters live apart from the conversations (another key, another
// Redis slot), so no change writes both atomically: a process killed
// between a conversation's change and its counter update leaves that
// agent's counter one off (too high when killed between a reservation and
// the message's append, too low when killed after a change and before its
// update), as it did before reservations.
func loadKey(agent string) string { return "load:" + agent }

func countsAsLoad(c store.Conversation) bool {
	return c.Assignee != "" && c.Status != store.StatusResolved
}

// loadDelta is how a change of a conversation from before to after moves
// the agents' loads: at most two agents, each by one.
type loadDelta struct {
	agents [2]string
	by     [2]int64
}

func deltaOf(before, after store.Conversation) loadDelta {
	var d loadDelta
	moved := before.Assignee != after.Assignee
	if countsAsLoad(before) && (moved || !countsAsLoad(after)) {
		d.agents[0], d.by[0] = before.Assignee, -1
	}
	if countsAsLoad(after) && (moved || !countsAsLoad(before)) {
		d.agents[1], d.by[1] = after.Assignee, 1
	}
	return d
}

// without takes a slot already reserved for agent out of d (the reservation
// counted it); it reports false when d did not add agent, and then the
// reservation is still to be given back.
func (d *loadDelta) without(agent string) bool {
	if agent != "" && d.agents[1] == agent && d.by[1] == 1 {
		d.by[1] = 0
		return true
	}
	return false
}

// apply adds d to the counters; reserved, when not "", is a reservation the
// change did not use and is given back in the same pass.
func applyLoad(ctx context.Context, st store.Counters, d loadDelta, reserved string) error {
	var first error
	add := func(agent string, by int64) {
		if agent == "" || by == 0 {
			return
		}
		if _, err := st.Incr(ctx, loadKey(agent), by); err != nil && first == nil {
			first = fmt.Errorf("load of agent %s off by %d: %w", agent, -by, err)
		}
	}
	add(d.agents[0], d.by[0])
	add(d.agents[1], d.by[1])
	add(reserved, -1)
	return first
}

// AgentLoad returns an agent's current number of unresolved assigned
// conversations.
func AgentLoad(ctx context.Context, st store.Counters, agent string) (int64, error) {
	return st.Incr(ctx, loadKey(agent), 0)
}

// reserve picks, round-robin among team's agents, one with a free slot and
// takes that slot: its load is incremented and the increment given back
// when the new value is past capacity, so concurrent reservations on any
// number of replicas never put an agent over max. The round trips are
// those of the read-then-assign it replaces: a read per agent tried, and
// for the agent chosen the increment that used to follow the append. ""
// means nobody had capacity (the conversation waits unassigned in the
// team's queue). The caller either assigns the conversation to the agent
// (the slot is then its load) or gives the slot back (applyLoad's reserved).
func (s *Service) reserve(ctx context.Context, team string) (string, error) {
	members := s.teams[team]
	if len(members) == 0 {
		return "", nil
	}
	n, err := s.st.Incr(ctx, "rr:"+team, 1)
	if err != nil {
		return "", fmt.Errorf("round-robin cursor: %w", err)
	}
	for i := range members {
		cand := members[(int(n)+i)%len(members)]
		// A read first, so that an agent at capacity costs one round trip
		// (as before reservations) and not an increment and its undo: with
		// a team's agents all busy, every new conversation passes them all.
		load, err := s.st.Incr(ctx, loadKey(cand), 0)
		if err != nil {
			return "", fmt.Errorf("load of agent %s: %w", cand, err)
		}
		if load >= int64(s.maxOpen) {
			continue
		}
		if load, err = s.st.Incr(ctx, loadKey(cand), 1); err != nil {
			// The message is retried and reserves again; an increment that
			// did happen leaves the agent's load one too high.
			return "", fmt.Errorf("reserve a slot of agent %s: %w", cand, err)
		}
		if load <= int64(s.maxOpen) {
			return cand, nil
		}
		// Another worker took the last slot since the read.
		if _, err := s.st.Incr(ctx, loadKey(cand), -1); err != nil {
			return "", fmt.Errorf("give back agent %s's slot (their load is one too high): %w", cand, err)
		}
	}
	return "", nil
}
