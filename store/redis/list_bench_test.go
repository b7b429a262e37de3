package redis_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

// BenchmarkListConversations pages the activity index of 5,000
// conversations (500 customers): the inbox's first page, and one
// customer's conversations (the walk of the whole index that erasure and
// threading do).
func BenchmarkListConversations(b *testing.B) {
	c, prefix := testenv.Redis(b)
	s := redis.New(c, redis.Options{Prefix: prefix, AutoPipeline: true})
	defer s.Close()
	ctx := context.Background()
	base := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	for i := range 5000 {
		at := base.Add(time.Duration(i) * time.Second)
		if _, _, err := s.OpenConversation(ctx, store.Conversation{ID: fmt.Sprintf("cv%05d", i), CustomerID: fmt.Sprintf("c%03d", i%500),
			Channel: "api", ThreadKey: fmt.Sprintf("api|%d", i), Status: store.StatusOpen, CreatedAt: at, LastActivity: at}); err != nil {
			b.Fatal(err)
		}
	}
	for _, bc := range []struct {
		name string
		f    store.ConversationFilter
		want int
	}{
		{"first-page", store.ConversationFilter{Limit: 50}, 50},
		{"one-customer", store.ConversationFilter{CustomerIDs: []string{"c007"}, Limit: 50}, 10},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for range b.N {
				cs, _, err := s.ListConversations(ctx, bc.f)
				if err != nil || len(cs) != bc.want {
					b.Fatalf("listed %d, %v; want %d", len(cs), err, bc.want)
				}
			}
		})
	}
}
