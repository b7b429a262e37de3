// Command switchboard is the hub's single binary: `serve` runs the hub,
// `config check` checks its configuration as serve does first, and the
// other verbs (channels, customers, queue, plugins, version) are a CLI
// that talks to a running hub over its HTTP API.
//
// This is the only package that imports every implementation (both store
// backends, every channel); it wires them together explicitly. Nothing
// imports it.
package main
