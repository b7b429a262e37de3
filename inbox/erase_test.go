package inbox_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/identity"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// countingStore counts the conversations deleted.
type countingStore struct {
	store.Store
	deletes atomic.Int32
}

func (s *countingStore) DeleteConversation(ctx context.Context, id string) error {
	s.deletes.Add(1)
	return s.Store.DeleteConversation(ctx, id)
}

// TestEraseReleasesTheAgentsLoad: erasing a customer over the API deletes
// their conversation once and takes it off its agent's load, so the agent
// gets new conversations again.
func TestEraseReleasesTheAgentsLoad(t *testing.T) {
	ctx := context.Background()
	var st *countingStore
	var convs *timeline.Service
	e := newUIEnvWith(t, "", func(o *inbox.Options) {
		st = &countingStore{Store: o.Store}
		o.Store = st
		convs = timeline.NewService(st, timeline.Options{})
		o.Conversations = convs
	})
	res, err := identity.NewResolver(st, store.SystemClock, nil, nil).Resolve(ctx, connectors.Message{ID: "crm:m1", Channel: "crm",
		Identities: []connectors.Identity{{Type: connectors.Email, Value: "erin@example.com", Verified: true}}, ReceivedAt: time.Now()})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.OpenConversation(ctx, store.Conversation{ID: "v1", CustomerID: res.Customer, Channel: "crm", ThreadKey: "crm|t1",
		Status: store.StatusOpen, CreatedAt: time.Now(), LastActivity: time.Now()}); err != nil {
		t.Fatal(err)
	}
	if _, err := convs.Assign(ctx, "v1", "alice", "alice"); err != nil {
		t.Fatal(err)
	}
	if n, _ := timeline.AgentLoad(ctx, st, "alice"); n != 1 {
		t.Fatalf("alice's load before the erasure = %d, want 1", n)
	}

	if rec := e.do("DELETE", "/api/v1/customers/"+res.Customer, "", nil, "Authorization", "Bearer root-token"); rec.Code != 200 {
		t.Fatalf("erase: %d %s", rec.Code, rec.Body)
	}
	if _, err := st.GetConversation(ctx, "v1"); err == nil {
		t.Fatal("the conversation outlived the erasure")
	}
	if n := st.deletes.Load(); n != 1 {
		t.Fatalf("conversation deleted %d times, want once", n)
	}
	if n, _ := timeline.AgentLoad(ctx, st, "alice"); n != 0 {
		t.Fatalf("alice's load after the erasure = %d, want 0", n)
	}
}
