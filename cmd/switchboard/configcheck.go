package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"

	"github.com/switchboard-hub/switchboard/config"
	"github.com/switchboard-hub/switchboard/connectors/chat"
	"github.com/switchboard-hub/switchboard/connectors/email"
	"github.com/switchboard-hub/switchboard/connectors/sms"
	"github.com/switchboard-hub/switchboard/connectors/webform"
)

// sectionChecks are each channel type's own rules for its section: the
// checks the channel's constructor makes, run before anything is opened.
var sectionChecks = map[string]config.SectionCheck{
	config.TypeEmail: func(ch config.Channel, _ *config.Config) error {
		_, err := email.LoadSettings(ch)
		return err
	},
	config.TypeSMS: func(ch config.Channel, cfg *config.Config) error {
		_, err := sms.LoadSettings(ch, cfg.HTTP.PublicURL)
		return err
	},
	config.TypeSlack: func(ch config.Channel, _ *config.Config) error {
		_, err := chat.LoadSettings(ch)
		return err
	},
	config.TypeWebform: func(ch config.Channel, _ *config.Config) error {
		_, err := webform.LoadSettings(ch)
		return err
	},
	config.TypePlugin: checkPluginChannel,
}

// checkConfig loads the configuration (flagPath, else $SWITCHBOARD_CONFIG,
// else none) with the environment's overrides and checks all of it: the
// file, the overrides, secret files, cross-references, every channel's
// section and the plugins' settings files. It reports every problem at
// once, each line FILE:LINE (or the variable): key: message. Nothing is
// opened or written; serve calls it first.
func checkConfig(flagPath string) (*config.Config, error) {
	env := os.Environ()
	path := config.FilePath(flagPath, env)
	cfg, err := config.Check(path, env, sectionChecks, checkPluginSettings)
	if err != nil {
		return nil, configError(err)
	}
	return cfg, nil
}

// checkPluginChannel decodes a plugin channel's section (its plugin is
// checked by config.Validate) and reads its NAME_file settings.
func checkPluginChannel(ch config.Channel, _ *config.Config) error {
	var sec pluginSection
	errs, err := config.DecodeErrors(ch.Decode(config.TypePlugin, &sec))
	if err != nil {
		return err
	}
	if _, err := sec.leaseTTL(ch.Name); err != nil {
		errs = append(errs, err.(config.FieldError))
	}
	errs = append(errs, settingFiles(sec.Settings, "channels["+ch.Name+"].plugin.settings")...)
	if len(errs) > 0 {
		return errs
	}
	return nil
}

// checkPluginSettings reads the NAME_file settings of plugins[], as
// newPluginRegistry will.
func checkPluginSettings(cfg *config.Config) error {
	var errs config.ValidationErrors
	for _, p := range cfg.Plugins {
		errs = append(errs, settingFiles(p.Settings, "plugins["+p.Name+"].settings")...)
	}
	if len(errs) == 0 {
		return nil
	}
	return errs
}

// settingFiles checks the NAME_file keys of a plugin settings map the way
// resolveSettings reads them, with its messages: the file must be readable
// and NAME unset.
func settingFiles(set map[string]string, where string) config.ValidationErrors {
	keys := make([]string, 0, len(set))
	for k := range set {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var errs config.ValidationErrors
	for _, k := range keys {
		name, ok := strings.CutSuffix(k, "_file")
		if !ok || set[k] == "" {
			continue
		}
		if _, both := set[name]; both {
			errs = append(errs, config.FieldError{Path: where, Msg: fmt.Sprintf("set either %s or %s, not both", name, k)})
			continue
		}
		if _, err := config.ReadSecretFile(set[k]); err != nil {
			errs = append(errs, config.FieldError{Path: where + "." + k, Msg: err.Error()})
		}
	}
	return errs
}

// configCmd runs `switchboard config check [FILE]`.
func configCmd(args []string, stdout, stderr io.Writer) int {
	if len(args) == 0 || args[0] != "check" {
		return usageOf(stderr, "config", "config needs a subcommand: check [FILE]")
	}
	fs := newFlagSet("config check")
	cfgPath := fs.String("config", "", "config file (default $SWITCHBOARD_CONFIG)")
	// FILE may come before or after the flags.
	var pos []string
	rest := args[1:]
	for {
		if err := fs.Parse(rest); err != nil {
			return usageOf(stderr, "config", "config check: "+err.Error())
		}
		if fs.NArg() == 0 {
			break
		}
		pos = append(pos, fs.Arg(0))
		rest = fs.Args()[1:]
	}
	switch {
	case len(pos) > 1, len(pos) == 1 && *cfgPath != "" && *cfgPath != pos[0]:
		fmt.Fprintf(stderr, "switchboard: config check takes one FILE\n\n%s", usage)
		return 2
	case len(pos) == 1:
		*cfgPath = pos[0]
	}
	path := config.FilePath(*cfgPath, os.Environ())
	cfg, err := checkConfig(path)
	if err != nil {
		var ve config.ValidationErrors
		if !errors.As(err, &ve) {
			fmt.Fprintf(stderr, "switchboard: %v\n", err)
			return 1
		}
		for _, e := range ve {
			fmt.Fprintln(stdout, e.Error())
		}
		fmt.Fprintf(stderr, "switchboard: %s: %d problem(s)\n", configName(path), len(ve))
		return 1
	}
	var chans []string
	for _, c := range cfg.Channels {
		chans = append(chans, fmt.Sprintf("%s (%s, %s)", c.Name, c.Type, c.Phase))
	}
	summary := "no channels"
	if len(chans) > 0 {
		summary = fmt.Sprintf("%d channel(s): %s", len(chans), strings.Join(chans, ", "))
	}
	fmt.Fprintf(stdout, "%s: OK; %s\n", configName(path), summary)
	return 0
}

// configName is how config check names the configuration it read.
func configName(path string) string {
	if path == "" {
		return "(no file: defaults and environment)"
	}
	return path
}
