package webhooks_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/webhooks"
)

// With ingest first (IngestShare), events recorded while the dispatcher is
// paced are all delivered, each once, in order per customer.
func TestPacedDispatcherDeliversEverything(t *testing.T) {
	backends(t, func(t *testing.T, open func() store.Store) {
		s := webhooks.New(webhooks.Options{Store: open(), Schedule: fast, Poll: 20 * time.Millisecond, IngestShare: 0.1})
		rc := createFor(t, s, "crm", nil)
		if err := s.Refresh(t.Context()); err != nil {
			t.Fatal(err)
		}
		run(t, s)
		const n = 60
		for i := range n { // recording keeps the dispatcher paced
			record(t, s, webhooks.MessageReceived, fmt.Sprint("m", i), fmt.Sprint("c", i%3))
			time.Sleep(5 * time.Millisecond)
		}
		ok := rc.waitOK(n)
		seen := map[string]bool{}
		last := map[string]int{}
		for _, r := range ok {
			if seen[r.ID] {
				t.Fatalf("event %s answered 2xx twice", r.ID)
			}
			seen[r.ID] = true
			var i int
			fmt.Sscanf(r.Data["key"].(string), "m%d", &i)
			if p, had := last[r.CustomerID]; had && p > i {
				t.Fatalf("customer %s: m%d delivered after m%d", r.CustomerID, i, p)
			}
			last[r.CustomerID] = i
		}
	})
}
