package redis

import (
	"context"
	"sort"
	"strconv"
	"strings"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// ---- channels: one hash {channels}:state, name → JSON ----

func (s *Store) GetChannelState(ctx context.Context, name string) (_ store.ChannelState, err error) {
	defer opErr(&err, "get channel state", name)
	return hashRecord[store.ChannelState](ctx, s, s.k.channelStates(), name)
}

func (s *Store) PutChannelState(ctx context.Context, cs store.ChannelState) (err error) {
	defer opErr(&err, "put channel state", cs.Name)
	if cs.UpdatedAt.IsZero() {
		cs.UpdatedAt = s.now()
	}
	return s.c.HSet(ctx, s.k.channelStates(), cs.Name, marshal(cs)).Err()
}

func (s *Store) ListChannelStates(ctx context.Context) (_ []store.ChannelState, err error) {
	defer opErr(&err, "list channel states")
	out, err := hashValues[store.ChannelState](ctx, s, s.k.channelStates())
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, nil
}

// ---- checkpoints: string keys ----

func (s *Store) GetCheckpoint(ctx context.Context, key string) (_ []byte, err error) {
	defer opErr(&err, "get checkpoint", key)
	b, err := s.c.Get(ctx, s.k.checkpoint(key)).Bytes()
	if isNil(err) {
		return nil, store.ErrNotFound
	}
	return b, err
}

func (s *Store) PutCheckpoint(ctx context.Context, key string, value []byte) (err error) {
	defer opErr(&err, "put checkpoint", key)
	return s.c.Set(ctx, s.k.checkpoint(key), value, 0).Err()
}

// ---- events: PUBLISH / SUBSCRIBE (SPUBLISH / SSUBSCRIBE on a Cluster) ----

// On a Cluster, a plain PUBLISH goes to any node and reaches subscribers
// over the cluster bus, so two events published one after the other can
// arrive swapped when they went through different nodes. Sharded pub/sub
// keeps a topic on the node of its slot: events arrive in publish order.
func (s *Store) sharded() bool {
	_, ok := s.c.(*goredis.ClusterClient)
	return ok
}

func (s *Store) Publish(ctx context.Context, topic string, payload []byte) (err error) {
	defer opErr(&err, "publish on", topic)
	if s.sharded() {
		return s.c.SPublish(ctx, s.k.events(topic), payload).Err()
	}
	return s.c.Publish(ctx, s.k.events(topic), payload).Err()
}

// Subscribe returns once Redis confirmed the subscription. The channel is
// closed when ctx is cancelled or the Store closed.
func (s *Store) Subscribe(ctx context.Context, topic string) (_ <-chan []byte, err error) {
	defer opErr(&err, "subscribe to", topic)
	var ps *goredis.PubSub
	if s.sharded() {
		ps = s.c.SSubscribe(ctx, s.k.events(topic))
	} else {
		ps = s.c.Subscribe(ctx, s.k.events(topic))
	}
	if _, err := ps.Receive(ctx); err != nil {
		ps.Close()
		return nil, err
	}
	in := ps.Channel()
	out := make(chan []byte, 64)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer close(out)
		defer ps.Close()
		for {
			select {
			case <-ctx.Done():
				return
			case <-s.ctx.Done():
				return
			case m, ok := <-in:
				if !ok {
					return
				}
				select {
				case out <- []byte(m.Payload):
				case <-ctx.Done():
					return
				case <-s.ctx.Done():
					return
				}
			}
		}
	}()
	return out, nil
}

// ---- audit: one stream {audit}:log, field r = JSON ----

func (s *Store) AppendAudit(ctx context.Context, r store.AuditRecord) (err error) {
	defer opErr(&err, "append audit record", r.Action)
	if r.At.IsZero() {
		r.At = s.now()
	}
	if r.ID != "" {
		return s.appendAuditOnce(ctx, r) // with others waiting (auditbatch.go)
	}
	return s.c.XAdd(ctx, &goredis.XAddArgs{Stream: s.k.audit(), Values: []any{"r", marshal(r)}}).Err()
}

// ListAudit returns the newest records first; a record without an id gets
// its stream id.
func (s *Store) ListAudit(ctx context.Context, limit int) (_ []store.AuditRecord, err error) {
	defer opErr(&err, "list audit")
	var msgs []goredis.XMessage
	if limit > 0 {
		msgs, err = s.c.XRevRangeN(ctx, s.k.audit(), "+", "-", int64(limit)).Result()
	} else {
		msgs, err = s.c.XRevRange(ctx, s.k.audit(), "+", "-").Result()
	}
	if err != nil {
		return nil, err
	}
	out := make([]store.AuditRecord, 0, len(msgs))
	for _, m := range msgs {
		raw, _ := m.Values["r"].(string)
		var r store.AuditRecord
		if err := unmarshal(raw, &r); err != nil {
			return nil, err
		}
		if r.ID == "" {
			r.ID = m.ID
		}
		out = append(out, r)
	}
	return out, nil
}

// ---- consents: hash {c:ID}:consents, "channel|purpose" → JSON ----

func consentField(c store.Consent) string {
	return strings.ReplaceAll(c.Channel, "|", "%7C") + "|" + c.Purpose
}

func (s *Store) PutConsent(ctx context.Context, c store.Consent) (err error) {
	defer opErr(&err, "put consent of customer", c.CustomerID)
	if c.At.IsZero() {
		c.At = s.now()
	}
	// The latest decision and the history share the customer's slot: one
	// MULTI writes both.
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HSet(ctx, s.k.consents(c.CustomerID), consentField(c), marshal(c))
		p.HSet(ctx, s.k.consentLog(c.CustomerID), consentLogField(c), marshal(c))
		return nil
	})
	return err
}

func (s *Store) ListConsents(ctx context.Context, customerID string) (_ []store.Consent, err error) {
	defer opErr(&err, "list consents of customer", customerID)
	out, err := hashValues[store.Consent](ctx, s, s.k.consents(customerID))
	if err != nil {
		return nil, err
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Channel != out[j].Channel {
			return out[i].Channel < out[j].Channel
		}
		return out[i].Purpose < out[j].Purpose
	})
	return out, nil
}

func (s *Store) DeleteConsents(ctx context.Context, customerID string) (err error) {
	defer opErr(&err, "delete consents of customer", customerID)
	return s.c.Del(ctx, s.k.consents(customerID), s.k.consentLog(customerID)).Err()
}

// ---- counters: one hash {counters}:values, name → integer ----

func (s *Store) Incr(ctx context.Context, name string, delta int64) (_ int64, err error) {
	defer opErr(&err, "increment counter", name)
	return s.c.HIncrBy(ctx, s.k.counters(), name, delta).Result()
}

func (s *Store) GetCounters(ctx context.Context, prefix string) (_ map[string]int64, err error) {
	defer opErr(&err, "get counters", prefix, "*")
	out := map[string]int64{}
	var cursor uint64
	for {
		kv, next, err := s.c.HScan(ctx, s.k.counters(), cursor, globEscape(prefix)+"*", 500).Result()
		if err != nil {
			return nil, err
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if !strings.HasPrefix(kv[i], prefix) {
				continue
			}
			n, err := strconv.ParseInt(kv[i+1], 10, 64)
			if err != nil {
				return nil, err
			}
			out[kv[i]] = n
		}
		if next == 0 {
			return out, nil
		}
		cursor = next
	}
}

func globEscape(s string) string {
	var b strings.Builder
	for _, r := range s {
		switch r {
		case '*', '?', '[', ']', '\\':
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	return b.String()
}
