package router

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	json "github.com/goccy/go-json"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/store"
)

// MaxTextBytes is the largest message text the hub accepts (1 MiB). Larger
// bodies are refused by channels before they are read whole.
const MaxTextBytes = 1 << 20

// Ingest is the Sink every channel delivers into. Deliver validates and
// normalises the message, refuses channels that are off, and returns only
// after the message is durable in the ingest queue.
type Ingest struct {
	st      store.Store
	dir     *directory.Directory
	region  string
	clock   store.Clock
	metrics *Metrics
	fig     figures
}

var (
	_ connectors.Sink        = (*Ingest)(nil)
	_ connectors.Quarantiner = (*Ingest)(nil)
)

// NewIngest returns the hub's Sink.
func NewIngest(st store.Store, dir *directory.Directory, defaultRegion string, clock store.Clock, m *Metrics) *Ingest {
	return &Ingest{st: st, dir: dir, region: defaultRegion, clock: clock, metrics: m,
		fig: figures{st: st, dir: dir, clock: clock, log: slog.Default()}}
}

// MaxClockSkew is how far in the future a message's occurred_at may lie
// before Prepare takes it as the time it arrived.
const MaxClockSkew = 5 * time.Minute

// Prepare validates and normalises msg as Deliver would, without enqueuing.
func (in *Ingest) Prepare(msg connectors.Message) (connectors.Message, error) {
	ch, ok := in.dir.Get(msg.Channel)
	if !ok {
		return msg, fmt.Errorf("%w: %q", connectors.ErrUnknownChannel, msg.Channel)
	}
	if ch.Phase == store.PhaseOff {
		return msg, fmt.Errorf("%w: %q", connectors.ErrChannelOff, msg.Channel)
	}
	ids := make([]connectors.Identity, 0, len(msg.Identities))
	seen := map[string]bool{}
	region, rule := in.region, "identity.default_region"
	if ch.DefaultRegion != "" {
		region, rule = ch.DefaultRegion, "channels["+ch.Name+"].default_region"
	}
	var flags []string
	for _, id := range msg.Identities {
		n, err := connectors.Normalize(id, region)
		if err != nil {
			raw, ok := RawPhone(id)
			if !ok {
				return msg, err
			}
			// Never dropped: kept as the text it was, claimed (it proves
			// nothing and matches only the same text).
			n, flags = raw, append(flags, "phone-unreadable")
		} else if n.Type == connectors.Phone && withoutCountryCode(id.Value) {
			flags = append(flags, "phone-region:"+region+" ("+rule+")")
		}
		if ch.Trusted {
			n.Verified = true
		}
		if seen[n.Key()] {
			continue
		}
		seen[n.Key()] = true
		ids = append(ids, n)
	}
	msg.Identities = ids
	if len(flags) > 0 {
		msg.Flags = append(append([]string(nil), msg.Flags...), flags...)
	}
	if err := msg.Validate(MaxTextBytes); err != nil {
		return msg, err
	}
	msg.ID = connectors.MessageID(msg.Channel, msg.ProviderID)
	now := in.clock()
	if msg.ReceivedAt.IsZero() {
		msg.ReceivedAt = now
	}
	if msg.OccurredAt.IsZero() {
		msg.OccurredAt = msg.ReceivedAt
	}
	// A time in the future (a sender's skewed clock, a hostile value) would
	// pin its conversation's activity and preview there: beyond a few
	// minutes of skew it is taken as now, for every channel.
	if msg.OccurredAt.After(now.Add(MaxClockSkew)) {
		msg.OccurredAt = now
	}
	msg.OccurredAt = msg.OccurredAt.UTC()
	msg.ReceivedAt = msg.ReceivedAt.UTC()
	return msg, nil
}

// Deliver implements connectors.Sink.
func (in *Ingest) Deliver(ctx context.Context, msg connectors.Message) (string, error) {
	msg, err := in.Prepare(msg)
	if err != nil {
		if !errors.Is(err, connectors.ErrUnknownChannel) && !errors.Is(err, connectors.ErrChannelOff) {
			in.fig.one(ctx, msg.Channel, FigRefused)
		}
		return "", err
	}
	b, err := json.Marshal(msg)
	if err != nil {
		return "", fmt.Errorf("encode message: %w", err)
	}
	if _, err := in.st.Enqueue(ctx, store.QueueIngest, b); err != nil {
		return "", fmt.Errorf("enqueue message: %w", err)
	}
	if in.metrics != nil {
		in.metrics.Ingested.WithLabelValues(msg.Channel).Inc()
	}
	return msg.ID, nil
}

// Quarantine implements connectors.Quarantiner: msg, as the channel built
// it, is kept in the store's quarantine (under "q" and its message id
// without the "m") until an admin releases it through the inbox, which
// delivers the payload like any message. Idempotent per message id.
func (in *Ingest) Quarantine(ctx context.Context, msg connectors.Message, reason string) error {
	if msg.ID == "" {
		msg.ID = connectors.MessageID(msg.Channel, msg.ProviderID)
	}
	at := msg.ReceivedAt
	if at.IsZero() {
		at = in.clock()
	}
	payload, err := json.Marshal(msg)
	if err != nil {
		return fmt.Errorf("encode quarantined message: %w", err)
	}
	q := store.QuarantineItem{ID: "q" + strings.TrimPrefix(msg.ID, "m"), Channel: msg.Channel, Reason: reason, Payload: payload, At: at}
	if err := in.st.PutQuarantine(ctx, q); err != nil {
		return fmt.Errorf("quarantine message: %w", err)
	}
	in.fig.one(ctx, msg.Channel, FigRefused)
	return nil
}

// withoutCountryCode reports whether a phone number as written has no
// country code (no leading + or 00): it was read in a default region.
func withoutCountryCode(v string) bool {
	v = strings.TrimLeft(v, " \t(")
	return !strings.HasPrefix(v, "+") && !strings.HasPrefix(v, "00")
}

// RawPhone returns a phone identity that cannot be read as a number as
// claimed raw text, when it is text worth keeping (one line, not empty, at
// most 64 bytes): how ingest keeps it, and how a lookup finds it again.
func RawPhone(id connectors.Identity) (connectors.Identity, bool) {
	v := strings.TrimSpace(id.Value)
	if strings.ToLower(strings.TrimSpace(id.Type)) != connectors.Phone || v == "" || len(v) > 64 || !utf8.ValidString(v) ||
		strings.ContainsFunc(v, unicode.IsControl) {
		return id, false
	}
	return connectors.Identity{Type: connectors.Phone, Value: v}, true
}
