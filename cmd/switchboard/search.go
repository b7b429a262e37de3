package main

import (
	"fmt"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/search/bolt"
	sredis "github.com/switchboard-hub/switchboard/search/redis"
	"github.com/switchboard-hub/switchboard/store"
)

// openSearch is the search index's factory, paired with the store's: the
// Redis index beside a Redis store (same client and key prefix), else the
// bbolt index in the embedded store's data directory. close releases it.
func openSearch(cfg *config.Config, st store.Store) (ix search.Index, close func() error, err error) {
	if cs, ok := st.(*closingStore); ok && cfg.Store.Redis != nil {
		prefix := cfg.Store.Redis.Prefix
		if prefix == "" {
			prefix = "sb"
		}
		ix := sredis.New(cs.client, prefix)
		ix.LegacyDocuments = cfg.Store.Redis.LegacyRecords
		return ix, func() error { return nil }, nil
	}
	path := config.DefaultEmbeddedPath
	if cfg.Store.Embedded != nil && cfg.Store.Embedded.Path != "" {
		path = cfg.Store.Embedded.Path
	}
	b, err := bolt.Open(path)
	if err != nil {
		return nil, nil, fmt.Errorf("search: %w", err)
	}
	return b, b.Close, nil
}

// searcher is the API's search over ix, reading phone numbers with the
// identity and channels' default regions.
func searcher(cfg *config.Config, st store.Store, ix search.Index, clock store.Clock) *search.Searcher {
	regions := map[string]string{}
	for _, c := range cfg.Channels {
		if c.DefaultRegion != "" {
			regions[c.Name] = c.DefaultRegion
		}
	}
	return &search.Searcher{Index: ix, Conversations: st, Region: cfg.Identity.DefaultRegion, Regions: regions, Clock: clock}
}
