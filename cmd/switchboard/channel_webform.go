package main

import (
	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/webform"
	"github.com/switchboard-hub/switchboard/store"
)

// buildWebform constructs a webform channel: a public form endpoint and its
// embeddable script; suspected spam goes to the store's quarantine.
func buildWebform(cfg config.Channel, env connectors.Env, st store.Store) (any, error) {
	return webform.New(cfg, env, st)
}
