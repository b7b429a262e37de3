package plugins

import "sync"

// StateUnused is the state of a configured plugin no channel uses.
const StateUnused = "unused"

// Registry knows every configured plugin and every plugin channel of this
// hub, for `switchboard plugins list`.
type Registry struct {
	mu       sync.Mutex
	specs    []Spec
	channels []*Channel
}

// NewRegistry returns a registry of the configured plugins.
func NewRegistry(specs []Spec) *Registry { return &Registry{specs: specs} }

// Spec returns the configured plugin called name.
func (r *Registry) Spec(name string) (Spec, bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, s := range r.specs {
		if s.Plugin == name {
			return s, true
		}
	}
	return Spec{}, false
}

// Add records a plugin channel.
func (r *Registry) Add(c *Channel) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.channels = append(r.channels, c)
}

// List returns the status of every plugin channel, then of every
// configured plugin no channel uses, in configuration order.
func (r *Registry) List() []Status {
	r.mu.Lock()
	defer r.mu.Unlock()
	used := map[string]bool{}
	out := make([]Status, 0, len(r.channels)+len(r.specs))
	for _, c := range r.channels {
		s := c.Status()
		used[s.Plugin] = true
		out = append(out, s)
	}
	for _, s := range r.specs {
		if !used[s.Plugin] {
			out = append(out, Status{Plugin: s.Plugin, Path: s.Path, State: StateUnused})
		}
	}
	return out
}
