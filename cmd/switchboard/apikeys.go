package main

import (
	"slices"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/inbox"
)

// apiKeys turns api_keys into the inbox's keys: entries of one name (a
// rotation) become one key with every digest active.
func apiKeys(cfg *config.Config) []inbox.APIKey {
	var out []inbox.APIKey
	at := map[string]int{}
	for _, k := range cfg.APIKeys {
		d := k.Digest()
		if d == "" {
			continue
		}
		if i, ok := at[k.Name]; ok {
			out[i].TokenSHA256 = append(out[i].TokenSHA256, d)
			continue
		}
		at[k.Name] = len(out)
		out = append(out, inbox.APIKey{Name: k.Name, TokenSHA256: []string{d}, Channels: slices.Clone(k.Channels), Scopes: slices.Clone(k.Scopes)})
	}
	return out
}
