package inbox

import (
	"net/http"
	"time"
)

// PluginStatus is one plugin (per channel that uses it) as `switchboard
// plugins list` shows it.
type PluginStatus struct {
	Plugin     string    `json:"plugin"`
	Channel    string    `json:"channel,omitempty"`
	Path       string    `json:"path"`
	State      string    `json:"state"`
	Version    string    `json:"version,omitempty"`
	PID        int       `json:"pid,omitempty"`
	Restarts   int       `json:"restarts"`
	Receiving  bool      `json:"receiving"`
	LastError  string    `json:"last_error,omitempty"`
	Since      time.Time `json:"since,omitzero"`
	Identities []string  `json:"identities,omitempty"`
}

// PluginLister reports the state of the hub's plugins (the plugin host
// implements it; the inbox does not import it).
type PluginLister interface {
	PluginStatuses() []PluginStatus
}

// listPlugins is GET /api/v1/plugins (admin).
func (s *Server) listPlugins(w http.ResponseWriter, r *http.Request) {
	list := []PluginStatus{}
	if s.o.Plugins != nil {
		list = append(list, s.o.Plugins.PluginStatuses()...)
	}
	writeJSON(w, http.StatusOK, map[string]any{"plugins": list})
}
