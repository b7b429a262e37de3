package main

import (
	"errors"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// buildWebform constructs a webform channel. (Replaced by the webform connector's wiring.)
func buildWebform(cfg config.Channel, env connectors.Env, st store.Store) (any, error) {
	return nil, errors.New("the webform channel is not built yet")
}
