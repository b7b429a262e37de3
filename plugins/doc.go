// Package plugins is the hub's side of out-of-process channels: it launches
// a plugin binary with hashicorp/go-plugin (gRPC only, AutoMTLS, a
// versioned handshake, an optional SHA-256 checked before launch), serves
// the Host service the plugin delivers into over go-plugin's GRPCBroker,
// validates every message a plugin sends before it reaches the hub's Sink,
// and supervises the process (health checks with a deadline, restart with
// exponential backoff, state for `switchboard plugins list`).
//
// A plugin channel (Channel) has the abilities of any channel:
// connectors.Source (its Run supervises the process), connectors.Sender,
// connectors.Router (webhooks under /webhooks/plugin/{channel}/...) and
// connectors.Tester.
//
// It imports connectors, go-plugin, gRPC and the internal wire packages.
// It never imports the router, a store or cmd. Plugin authors import
// plugins/sdk instead; plugins/plugintest is the conformance kit.
package plugins
