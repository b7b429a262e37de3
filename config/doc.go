// Package config owns the typed configuration of the hub: one YAML file
// (switchboard.yaml) plus SWITCHBOARD_* environment overrides.
//
// Loading is strict and happens in a fixed order (see Load):
//
//  1. the YAML file is decoded with unknown keys rejected (an error names the
//     key and its line);
//  2. SWITCHBOARD_* variables override single keys; a variable that matches
//     no key is an error, so typos are never silent;
//  3. defaults fill what is still unset;
//  4. secrets given as *_file paths are read (trailing newline trimmed);
//  5. Validate checks the whole configuration and reports every problem at
//     once, each naming its key path (channels[2].phase: ...).
//
// Channel-type settings (email, sms, slack, webform, plugin) are kept as raw
// maps here and decoded strictly by each connector through Channel.Decode.
// No error message and no Redacted output ever carries a secret value.
//
// The package imports only the standard library and gopkg.in/yaml.v3.
// docs/CONFIG.md is the reference of every key.
package config
