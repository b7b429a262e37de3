// Package wire is the one place that holds what the hub and a plugin must
// agree on to talk at all: the go-plugin handshake (magic cookie and
// protocol version), the plugin map, and the go-plugin GRPCPlugin that
// connects the generated services to go-plugin's broker. The host
// (package plugins) and the SDK (plugins/sdk) both import it; it imports
// only go-plugin, gRPC and plugins/internal/proto.
package wire
