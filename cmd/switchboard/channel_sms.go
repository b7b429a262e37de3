package main

import (
	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/sms"
)

// buildSMS constructs an sms (Twilio) channel: its webhook and status
// routes, its sender and its credentials test.
func buildSMS(cfg config.Channel, env connectors.Env) (any, error) {
	return sms.New(cfg, env)
}
