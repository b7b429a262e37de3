// Package sdk is what a channel plugin author imports: hand-written Go
// types (Message, Outgoing, Description, ...), the small Channel interface
// a plugin implements, and Serve, which runs the plugin under the hub.
//
// A plugin is its own binary. Its main is one line:
//
//	func main() { sdk.Serve(&myChannel{}) }
//
// The hub launches the binary (hashicorp/go-plugin over gRPC with AutoMTLS
// and a versioned handshake), calls Describe, Configure with the channel's
// settings, then Run with a Host to deliver inbound messages into. Host.Deliver
// returns only once the hub stored the message durably: a plugin confirms a
// message to its provider (advances an offset, answers a webhook) only
// after that, so a crash anywhere redelivers instead of losing. The hub
// dedupes redeliveries by (channel, ProviderID).
//
// Optional abilities are found by type assertion: http.Handler (webhook
// routes declared in Description.Routes, served under
// /webhooks/plugin/{channel}/...), Tester (credentials check) and Injector
// (lets the conformance kit make the provider produce a message).
//
// Anything printed to stdout before the handshake breaks it: log with
// Config.Logger (structured, forwarded into the hub's log with the plugin's
// name). See docs/PLUGINS.md for a guide from an empty directory to a
// running channel, and plugins/examples/telegram for a complete plugin.
//
// The package imports go-plugin, gRPC and the internal wire packages; it
// never imports the hub (connectors, router, store), so a plugin's binary
// carries none of it. The generated protobuf stays internal.
package sdk
