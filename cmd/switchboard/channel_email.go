package main

import (
	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/connectors/email"
	"github.com/switchboard-hub/switchboard/store"
)

// buildEmail constructs an email channel: a connectors.Source (IMAP, under
// a store lease so one replica reads the mailbox), a connectors.Sender
// (SMTP) and a connectors.Tester.
func buildEmail(cfg config.Channel, env connectors.Env, st store.Store) (any, error) {
	return email.New(cfg, env, st)
}
