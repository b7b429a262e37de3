// Command testplugin is a channel plugin for the hub's own tests and the
// conformance kit's self-test. Its "provider" is a directory (settings
// state_dir): Inject writes a pending message there, Run delivers pending
// messages and removes each only after the hub acknowledged it, so a
// message survives a plugin crash and is redelivered, as with a real
// provider. Send appends to state_dir/sent.jsonl. A webhook route
// (POST /raw?kind=...) delivers deliberately malformed messages and
// answers with the hub's error.
//
// Built with -ldflags "-X main.variant=wrongversion" it speaks another
// protocol version; with "-X main.variant=garbage" it prints to stdout
// before the handshake. Both must be refused by the hub.
package main
