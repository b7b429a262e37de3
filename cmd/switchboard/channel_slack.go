package main

import (
	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/chat"
	"github.com/switchboard-hub/switchboard/store"
)

// buildSlack constructs a slack channel: in mode socket the value is also a
// connectors.Source (the Socket Mode connection, held under a store lease).
func buildSlack(cfg config.Channel, env connectors.Env, st store.Store) (any, error) {
	ch, err := chat.New(cfg, env, st)
	if err != nil {
		return nil, err
	}
	if s := ch.Socket(); s != nil {
		return s, nil
	}
	return ch, nil
}
