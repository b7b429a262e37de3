package plugins

import (
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	pb "github.com/switchboard-hub/switchboard/plugins/internal/proto"
)

// fromproto / toproto: the only place connectors types meet the generated
// ones. fromprotoMessage trusts nothing: the caller has checked UTF-8.

func fromprotoMessage(p *pb.Message, channel string) connectors.Message {
	m := connectors.Message{
		Channel: channel, ProviderID: string(p.ProviderId), ThreadKey: string(p.ThreadKey),
		SenderName: string(p.SenderName), SenderAvatar: string(p.SenderAvatar), Subject: string(p.Subject),
		Text: string(p.Text), HTML: string(p.Html), NoReply: p.NoReply,
	}
	for _, f := range p.Flags {
		m.Flags = append(m.Flags, string(f))
	}
	for _, id := range p.Identities {
		m.Identities = append(m.Identities, connectors.Identity{Type: string(id.Type), Value: string(id.Value), Verified: id.Verified})
	}
	for _, f := range p.Fields {
		m.Fields = append(m.Fields, connectors.Field{Name: string(f.Name), Value: string(f.Value)})
	}
	if c := p.Consent; c != nil {
		m.Consent = &connectors.ConsentChange{Purpose: string(c.Purpose), Granted: c.Granted, Text: string(c.Text), Version: string(c.Version)}
	}
	if p.OccurredAt != 0 {
		m.OccurredAt = time.Unix(0, p.OccurredAt).UTC()
	}
	return m
}

func toprotoOutgoing(o connectors.Outgoing) *pb.Outgoing {
	return &pb.Outgoing{EntryId: o.EntryID, ConversationId: o.ConversationID, CustomerId: o.CustomerID, Channel: o.Channel,
		To: &pb.Identity{Type: []byte(o.To.Type), Value: []byte(o.To.Value), Verified: o.To.Verified}, ThreadKey: o.ThreadKey,
		Subject: o.Subject, Text: o.Text, Html: o.HTML, InReplyTo: o.InReplyTo, Agent: o.Agent}
}

// Info is what a plugin said about itself (DescribeResponse).
type Info struct {
	Name       string         `json:"name"`
	Version    string         `json:"version"`
	SDKVersion string         `json:"sdk_version,omitempty"`
	Identities []IdentityKind `json:"identities"`
	Routes     []Route        `json:"routes,omitempty"`
	CanTest    bool           `json:"can_test,omitempty"`
	CanInject  bool           `json:"can_inject,omitempty"`
	// RunOnce: receives on one replica at a time (the lease holder).
	RunOnce bool `json:"run_once,omitempty"`
}

// IdentityLabels lists the declared identity kinds for display, each
// verified one marked "KIND (verified)"; nil when there are none.
func (in Info) IdentityLabels() []string {
	var out []string
	for _, k := range in.Identities {
		s := k.Kind
		if k.Verified {
			s += " (verified)"
		}
		out = append(out, s)
	}
	return out
}

// IdentityKind is an identity kind a plugin declared.
type IdentityKind struct {
	Kind     string `json:"kind"`
	Verified bool   `json:"verified"`
}

// Route is a webhook route a plugin declared.
type Route struct {
	Method string `json:"method"`
	Path   string `json:"path"`
}

func fromprotoInfo(p *pb.DescribeResponse) Info {
	in := Info{Name: p.Name, Version: p.Version, SDKVersion: p.SdkVersion, CanTest: p.CanTest, CanInject: p.CanInject, RunOnce: p.RunOnce}
	for _, k := range p.IdentityKinds {
		in.Identities = append(in.Identities, IdentityKind{Kind: k.Kind, Verified: k.Verified})
	}
	for _, r := range p.Routes {
		in.Routes = append(in.Routes, Route{Method: r.Method, Path: r.Path})
	}
	return in
}
