package redis_test

import (
	"context"
	"errors"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/redis"
)

// The router's first reads of a message (dedupe record, tombstones,
// bindings) are answered from one prefetch (issue 23): the reads that
// follow send nothing, and answer exactly what the server would. On both a
// standalone server and a Cluster (the keys are in different slots).
func TestPrefetchedIngestReads(t *testing.T) {
	for name, client := range map[string]func(testing.TB) (goredis.UniversalClient, string){
		"standalone": testenv.Redis, "cluster": testenv.RedisCluster,
	} {
		t.Run(name, func(t *testing.T) {
			f := newFixture(t, client, store.QueueOptions{})
			s := f.s
			ctx := context.Background()
			at := f.clock.Now()
			if err := s.CreateCustomer(ctx, store.Customer{ID: "cust-1", CreatedAt: at}); err != nil {
				t.Fatal(err)
			}
			bound := connectors.Identity{Type: "email", Value: "a@example.com", Verified: true}
			unbound := connectors.Identity{Type: "phone", Value: "+15550001111"}
			if _, _, err := s.BindIdentity(ctx, store.Binding{Type: bound.Type, Value: bound.Value, CustomerID: "cust-1", Verified: true}); err != nil {
				t.Fatal(err)
			}
			if err := s.PutTombstone(ctx, "buried-hash", at); err != nil {
				t.Fatal(err)
			}
			conv, _, err := s.OpenConversation(ctx, store.Conversation{ID: "cv1", CustomerID: "cust-1", Channel: "api",
				ThreadKey: "api|", Status: store.StatusOpen, CreatedAt: at, LastActivity: at})
			if err != nil {
				t.Fatal(err)
			}
			if _, _, _, err := s.AppendToConversation(ctx, store.Entry{ID: "m_old", CustomerID: "cust-1", ConversationID: "cv1", Channel: "api",
				Direction: connectors.Inbound, Kind: store.KindMessage, Text: "hi", OccurredAt: at, CreatedAt: at}, conv, lastAt("m_old", at)); err != nil {
				t.Fatal(err)
			}

			sent := &redis.CommandCounter{}
			f.c.AddHook(sent)
			for _, entryID := range []string{"m_old", "m_new"} {
				n0 := sent.Sent()
				pctx := s.PrefetchIngest(ctx, store.IngestReads{EntryID: entryID, Tombstones: []string{"buried-hash", "other-hash"},
					Identities: []connectors.Identity{bound, unbound}})
				// Without slots, one MGET; on a Cluster one pipeline of
				// the five reads.
				if n, want := sent.Sent()-n0, map[string]int64{"standalone": 1, "cluster": 5}[name]; n != want {
					t.Errorf("the prefetch sent %d commands, want %d", n, want)
				}
				n0 = sent.Sent()
				e, err := s.GetEntry(pctx, entryID)
				if entryID == "m_old" {
					if err != nil || e.ID != "m_old" || e.ConversationID != "cv1" {
						t.Fatalf("GetEntry(m_old) = %+v, %v", e, err)
					}
					n0++ // the entry itself is read from its customer's hash
				} else if !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("GetEntry(m_new) = %+v, %v; want not found", e, err)
				}
				if b, err := s.HasTombstone(pctx, "buried-hash"); err != nil || !b {
					t.Errorf("HasTombstone(buried) = %v, %v", b, err)
				}
				if b, err := s.HasTombstone(pctx, "other-hash"); err != nil || b {
					t.Errorf("HasTombstone(other) = %v, %v", b, err)
				}
				if b, err := s.LookupIdentity(pctx, bound.Type, bound.Value); err != nil || b.CustomerID != "cust-1" || !b.Verified {
					t.Errorf("LookupIdentity(bound) = %+v, %v", b, err)
				}
				if _, err := s.LookupIdentity(pctx, unbound.Type, unbound.Value); !errors.Is(err, store.ErrNotFound) {
					t.Errorf("LookupIdentity(unbound) = %v, want not found", err)
				}
				if n := sent.Sent() - n0; n != 0 {
					t.Errorf("%s: the prefetched reads sent %d commands, want 0", entryID, n)
				}
				// A second read of a key asks the server.
				n0 = sent.Sent()
				if b, err := s.LookupIdentity(pctx, bound.Type, bound.Value); err != nil || b.CustomerID != "cust-1" {
					t.Errorf("second LookupIdentity(bound) = %+v, %v", b, err)
				}
				if n := sent.Sent() - n0; n != 1 {
					t.Errorf("second read sent %d commands, want 1", n)
				}
			}

			// A write with the context drops what was prefetched: the
			// binding made after the prefetch is read from the server.
			pctx := s.PrefetchIngest(ctx, store.IngestReads{EntryID: "m_2", Identities: []connectors.Identity{unbound}})
			if _, _, err := s.BindIdentity(pctx, store.Binding{Type: unbound.Type, Value: unbound.Value, CustomerID: "cust-1", CreatedAt: at.Add(time.Second)}); err != nil {
				t.Fatal(err)
			}
			if b, err := s.LookupIdentity(pctx, unbound.Type, unbound.Value); err != nil || b.CustomerID != "cust-1" {
				t.Errorf("LookupIdentity after bind = %+v, %v; want cust-1", b, err)
			}
		})
	}
}
