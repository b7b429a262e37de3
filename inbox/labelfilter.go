package inbox

import (
	"context"
	"slices"
	"sync"
)

// customerLabel returns the store.ConversationFilter.LabelOnCustomer of
// label= (issue 24): a conversation matches when it or its customer
// carries the label. Each customer is read once per request; one that
// cannot be read does not match.
func (s *Server) customerLabel(ctx context.Context, label string) func(customerID string) bool {
	var mu sync.Mutex
	seen := map[string]bool{}
	return func(id string) bool {
		mu.Lock()
		defer mu.Unlock()
		has, ok := seen[id]
		if !ok {
			c, err := s.o.Store.GetCustomer(ctx, id)
			has = err == nil && slices.Contains(c.Labels, label)
			seen[id] = has
		}
		return has
	}
}
