package main

import (
	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/consent"
	"github.com/switchboard-hub/switchboard/store"
)

// consentPolicy is the consent policy of consent.purposes (the defaults
// when none are configured). inbox.New hands it to the outbound path.
func consentPolicy(cfg *config.Config, st store.Store, clock store.Clock) *consent.Policy {
	var ps []consent.Purpose
	for _, p := range cfg.Consent.Purposes {
		ps = append(ps, consent.Purpose{Name: p.Name, Basis: p.Basis, Text: p.Text, Version: p.Version})
	}
	return consent.New(st, ps, clock)
}
