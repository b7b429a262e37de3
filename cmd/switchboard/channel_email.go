package main

import (
	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/email"
)

// buildEmail constructs an email channel: a connectors.LeasedSource (IMAP,
// under the lease email:CHANNEL so one replica reads the mailbox), a
// connectors.Sender (SMTP) and a connectors.Tester.
func buildEmail(cfg config.Channel, env connectors.Env) (any, error) {
	return email.New(cfg, env)
}
