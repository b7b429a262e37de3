package wire

import (
	"context"

	"github.com/hashicorp/go-plugin"
	"google.golang.org/grpc"

	pb "github.com/switchboard-hub/switchboard/plugins/internal/proto"
)

// ProtocolVersion is the plugin protocol this build speaks. It changes only
// when the contract changes incompatibly; a plugin built for another
// version is refused at the handshake with a message naming both.
const ProtocolVersion = 1

// Handshake is checked by both sides before anything else. The cookie is
// not a secret: it only stops a plugin binary from being run by hand.
var Handshake = plugin.HandshakeConfig{
	ProtocolVersion:  ProtocolVersion,
	MagicCookieKey:   "SWITCHBOARD_PLUGIN",
	MagicCookieValue: "channel-7c1e5b0a9d",
}

// PluginName is the one plugin a channel binary serves.
const PluginName = "channel"

// MaxMessageBytes bounds one gRPC message either way. It is larger than any
// message the hub accepts, so an oversized body reaches the hub's
// validation (a clear per-message error) instead of breaking the stream.
const MaxMessageBytes = 16 << 20

// Server builds the plugin side's Channel service; broker is go-plugin's,
// for dialling the hub's Host service.
type Server func(broker *plugin.GRPCBroker) pb.ChannelServer

// Client is what the host gets from Dispense: the Channel service client and
// the broker it serves the Host service on.
type Client struct {
	Channel pb.ChannelClient
	Broker  *plugin.GRPCBroker
}

// ChannelPlugin is the go-plugin Plugin for a channel. The SDK sets NewServer;
// the host leaves it nil.
type ChannelPlugin struct {
	plugin.NetRPCUnsupportedPlugin
	NewServer Server
}

var _ plugin.GRPCPlugin = (*ChannelPlugin)(nil)

// GRPCServer registers the plugin's Channel service.
func (p *ChannelPlugin) GRPCServer(broker *plugin.GRPCBroker, s *grpc.Server) error {
	pb.RegisterChannelServer(s, p.NewServer(broker))
	return nil
}

// GRPCClient returns a *Client for the host.
func (p *ChannelPlugin) GRPCClient(ctx context.Context, broker *plugin.GRPCBroker, c *grpc.ClientConn) (any, error) {
	return &Client{Channel: pb.NewChannelClient(c), Broker: broker}, nil
}

// Plugins is the plugin map for a server that serves srv (nil on the host).
func Plugins(srv Server) plugin.PluginSet {
	return plugin.PluginSet{PluginName: &ChannelPlugin{NewServer: srv}}
}
