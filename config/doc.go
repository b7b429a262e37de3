// Package config owns the typed configuration of the hub: one YAML file
// (switchboard.yaml) plus SWITCHBOARD_* environment overrides.
//
// Loading is strict and happens in a fixed order (see Load and Check):
//
//  1. the YAML file is decoded with unknown keys rejected (an error names the
//     key, its line and the closest known key: did you mean "addr"?);
//  2. SWITCHBOARD_* variables override single keys; a variable that matches
//     no key is an error, so typos are never silent (the CLI's
//     SWITCHBOARD_CONFIG, SWITCHBOARD_TOKEN and SWITCHBOARD_URL are not keys);
//  3. defaults fill what is still unset;
//  4. secrets given as *_file paths are read (trailing newline trimmed);
//  5. Validate checks the whole configuration, cross-references included;
//  6. Check also runs the caller's SectionCheck of each channel's type (the
//     connectors' own rules, which this package cannot import).
//
// Only a file that does not parse stops early: every other problem of every
// step is reported at once in one ValidationErrors, each FieldError naming
// its key path (channels[2].phase) and, for a loaded file, where it comes
// from (FILE:LINE, or the variable that set the value), ordered by line. A
// problem that only repeats a decode error is left out.
//
// Channel-type settings (email, sms, slack, webform, plugin) are kept as raw
// maps here and decoded strictly by each connector through Channel.Decode,
// whose errors name key paths below the section (DecodeErrors lets the
// connector go on checking the rest). No error message and no Redacted
// output ever carries a secret value.
//
// The package imports only the standard library and gopkg.in/yaml.v3.
// docs/CONFIG.md is the reference of every key.
package config
