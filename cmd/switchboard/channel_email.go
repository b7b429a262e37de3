package main

import (
	"errors"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// buildEmail constructs a email channel. (Replaced by the email connector's wiring.)
func buildEmail(cfg config.Channel, env connectors.Env, st store.Store) (any, error) {
	return nil, errors.New("the email channel is not built yet")
}
