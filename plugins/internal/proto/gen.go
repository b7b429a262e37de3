// Package proto is the generated wire format between the hub and channel
// plugins. It is internal: plugin authors use plugins/sdk's hand-written
// types, and the hub converts to connectors types, so the wire can evolve
// without breaking either.
//
// Regenerate with `go generate ./plugins/internal/proto` (needs protoc,
// protoc-gen-go and protoc-gen-go-grpc; see scripts/genproto.sh).
package proto

//go:generate ./gen.sh
