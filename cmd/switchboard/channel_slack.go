package main

import (
	"errors"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// buildSlack constructs a slack channel. (Replaced by the slack connector's wiring.)
func buildSlack(cfg config.Channel, env connectors.Env, st store.Store) (any, error) {
	return nil, errors.New("the slack channel is not built yet")
}
