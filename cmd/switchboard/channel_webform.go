package main

import (
	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/webform"
)

// buildWebform constructs a webform channel: a public form endpoint and its
// embeddable script; suspected spam goes to the sink's quarantine.
func buildWebform(cfg config.Channel, env connectors.Env) (any, error) {
	return webform.New(cfg, env)
}
