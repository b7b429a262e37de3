// Package proto is the generated wire format between the hub and channel
// plugins (channel.proto). It is internal: plugin authors use plugins/sdk's
// hand-written types and the hub converts to connectors types (fromproto /
// toproto in each), so the wire can evolve without breaking either. It
// imports only protobuf and gRPC.
//
// Regenerate with `go generate ./plugins/internal/proto` (needs protoc,
// protoc-gen-go and protoc-gen-go-grpc; see gen.sh).
package proto

//go:generate ./gen.sh
