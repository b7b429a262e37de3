package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/store"
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

// keysCheckpoint holds a digest of the api_keys last audited.
const keysCheckpoint = "audit:api_keys"

// auditKeyChanges audits a change of api_keys since the last start (keys
// change in the config file, so the change is seen when a hub starts with
// it): action api_key.change by "config", naming each key with its scopes,
// channels and number of active tokens (never a token or its digest). The
// record is written before the new digest, so a failure is retried at the
// next start; it fails the start (the audit rule).
func auditKeyChanges(ctx context.Context, st store.Store, keys []inbox.APIKey, now time.Time) error {
	h := sha256.New()
	var desc []string
	for _, k := range keys {
		ds := slices.Clone(k.TokenSHA256)
		slices.Sort(ds)
		fmt.Fprintf(h, "%s\x00%v\x00%v\x00%v\x00", k.Name, k.Scopes, k.Channels, ds)
		desc = append(desc, fmt.Sprintf("%s(scopes %s; channels %s; %d token(s))", k.Name, strings.Join(k.Scopes, ","), strings.Join(k.Channels, ","), len(ds)))
	}
	digest := hex.EncodeToString(h.Sum(nil))
	old, err := st.GetCheckpoint(ctx, keysCheckpoint)
	switch {
	case err == nil && string(old) == digest:
		return nil
	case err != nil && !errors.Is(err, store.ErrNotFound):
		return err
	case errors.Is(err, store.ErrNotFound) && len(keys) == 0:
		return nil
	}
	detail := strings.Join(desc, "; ")
	if detail == "" {
		detail = "no api keys"
	}
	if err := st.AppendAudit(ctx, store.AuditRecord{ID: store.AuditID("api_key.change", digest), At: now, Actor: "config",
		Action: "api_key.change", Target: "api_keys", Detail: detail}); err != nil {
		return fmt.Errorf("audit api_keys change: %w", err)
	}
	return st.PutCheckpoint(ctx, keysCheckpoint, []byte(digest))
}
