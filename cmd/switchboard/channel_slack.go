package main

import (
	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/chat"
)

// buildSlack constructs a slack channel: in mode socket the value is also a
// connectors.LeasedSource (the Socket Mode connection, held under the lease
// slack:CHANNEL).
func buildSlack(cfg config.Channel, env connectors.Env) (any, error) {
	ch, err := chat.New(cfg, env)
	if err != nil {
		return nil, err
	}
	if s := ch.Socket(); s != nil {
		return s, nil
	}
	return ch, nil
}
