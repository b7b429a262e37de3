package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/lease"
	"github.com/switchboard-hub/switchboard/plugins"
)

// pluginHost knows this process's configured plugins and plugin channels.
// serve sets it before building channels: the channel factory signature
// has no room for the plugins section, which is not per channel.
var pluginHost = plugins.NewRegistry(nil)

// pluginSection is a plugin channel's `plugin:` section.
type pluginSection struct {
	// Name is a plugins[].name.
	Name string `yaml:"name"`
	// Settings override the plugin's own settings for this channel.
	Settings map[string]string `yaml:"settings"`
	// LeaseTTL is how long a RunOnce plugin's receive lease lasts without
	// renewal (renewed every third of it): when the replica holding it
	// dies, another one takes over the receiving within about this long.
	LeaseTTL config.Duration `yaml:"lease_ttl"`
}

// leaseTTL is LeaseTTL with its default, or why it cannot be used.
func (sec pluginSection) leaseTTL(channel string) (time.Duration, error) {
	switch ttl := sec.LeaseTTL.D(); {
	case ttl == 0:
		return DefaultPluginLeaseTTL, nil
	case ttl < time.Second:
		return 0, config.FieldError{Path: "channels[" + channel + "].plugin.lease_ttl",
			Msg: fmt.Sprintf("%v is too short (at least 1s: the lease is renewed every third of it)", ttl)}
	default:
		return ttl, nil
	}
}

// DefaultPluginLeaseTTL is channels[].plugin.lease_ttl when unset: a dead
// replica's plugin receives again elsewhere within about 5 s (issue 14's
// recovery target), for a lease write every 1.7 s per plugin channel.
const DefaultPluginLeaseTTL = 5 * time.Second

// newPluginRegistry turns plugins[] into specs. A setting named NAME_file
// is read from that file and passed to the plugin as NAME, so secrets stay
// out of the YAML and plugins need not read files.
func newPluginRegistry(cfg *config.Config) (*plugins.Registry, error) {
	var specs []plugins.Spec
	for _, p := range cfg.Plugins {
		set, err := resolveSettings(p.Settings, "plugins["+p.Name+"].settings")
		if err != nil {
			return nil, err
		}
		specs = append(specs, plugins.Spec{Plugin: p.Name, Path: p.Path, SHA256: p.SHA256, Settings: set, VerifiedKinds: p.VerifiedKinds})
	}
	return plugins.NewRegistry(specs), nil
}

// resolveSettings reads NAME_file settings. Both NAME and NAME_file set is
// an error (which one won would depend on map order).
func resolveSettings(in map[string]string, where string) (map[string]string, error) {
	out := map[string]string{}
	for k, v := range in {
		if name, ok := strings.CutSuffix(k, "_file"); ok && v != "" {
			if _, both := in[name]; both {
				return nil, fmt.Errorf("%s: set either %s or %s, not both", where, name, k)
			}
			secret, err := config.ReadSecretFile(v)
			if err != nil {
				return nil, fmt.Errorf("%s.%s: %w", where, k, err)
			}
			out[name] = secret
			continue
		}
		out[k] = v
	}
	return out, nil
}

// buildPlugin constructs a plugin channel: Run supervises the plugin
// process, and its sender, webhook routes and credentials test go to it.
func buildPlugin(cfg config.Channel, env connectors.Env) (any, error) {
	var sec pluginSection
	if err := cfg.Decode(config.TypePlugin, &sec); err != nil {
		return nil, err
	}
	if sec.Name == "" {
		return nil, fmt.Errorf("channels[%s].plugin.name is required (one of plugins[].name)", cfg.Name)
	}
	ttl, err := sec.leaseTTL(cfg.Name)
	if err != nil {
		return nil, err
	}
	spec, ok := pluginHost.Spec(sec.Name)
	if !ok {
		return nil, fmt.Errorf("channels[%s].plugin.name: plugin %q is not defined in plugins", cfg.Name, sec.Name)
	}
	override, err := resolveSettings(sec.Settings, "channels["+cfg.Name+"].plugin.settings")
	if err != nil {
		return nil, err
	}
	merged := map[string]string{}
	for k, v := range spec.Settings {
		merged[k] = v
	}
	for k, v := range override {
		merged[k] = v
	}
	spec.Settings = merged
	webhook := ""
	if env.PublicURL != "" {
		webhook = strings.TrimRight(env.PublicURL, "/") + "/webhooks/plugin/" + env.Name
	}
	opts := plugins.Options{Channel: env.Name, Logger: env.Logger, Status: env.Status, WebhookURL: webhook}
	if env.Leases != nil {
		// A RunOnce plugin receives only where its lease is held (the one
		// lease implementation, from env).
		opts.Lease = lease.NewHolder(env.Leases, "plugin:"+env.Name, ttl)
	}
	ch := plugins.NewChannel(spec, opts)
	pluginHost.Add(ch)
	return ch, nil
}

// pluginLister shows the registry to the inbox's GET /api/v1/plugins.
type pluginLister struct{ r *plugins.Registry }

func (l pluginLister) PluginStatuses() []inbox.PluginStatus {
	var out []inbox.PluginStatus
	for _, s := range l.r.List() {
		ps := inbox.PluginStatus{Plugin: s.Plugin, Channel: s.Channel, Path: s.Path, State: s.State, Version: s.Version,
			PID: s.PID, Restarts: s.Restarts, Receiving: s.Receiving, LastError: s.LastError, Since: s.Since}
		if s.Info != nil {
			ps.Identities = s.Info.IdentityLabels()
		}
		out = append(out, ps)
	}
	return out
}
