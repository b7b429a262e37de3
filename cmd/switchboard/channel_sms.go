package main

import (
	"errors"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// buildSMS constructs a sms channel. (Replaced by the sms connector's wiring.)
func buildSMS(cfg config.Channel, env connectors.Env, st store.Store) (any, error) {
	return nil, errors.New("the sms channel is not built yet")
}
