package redis

import (
	"context"
	"sort"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// ---- outgoing webhooks: everything in the one tag {wh} --------------------
//
// One slot holds the outbox: the fan-out moves an event from the pending
// index into its deliveries in one script, which needs them together. The
// webhook traffic is a few small commands per event, far below one slot's
// capacity at the hub's rates.

func whField(endpoint, eventID string) string { return endpoint + "\x00" + eventID }

// whPutEventArgs are whPutEvent's four arguments for ev (its time now
// when it has none; the script numbers it), and the key of its customer's
// event set: for the script itself and for the append function that runs
// its text (sb_append_v5).
func (s *Store) whPutEventArgs(ev store.WebhookEvent, now time.Time) (customerKey string, args []any) {
	if ev.At.IsZero() {
		ev.At = now
	}
	ev.Seq = 0
	indexed := "0"
	if ev.CustomerID != "" {
		indexed = "1"
	}
	return s.k.whCustomer(ev.CustomerID), []any{ev.ID, marshal(ev), indexed, store.LegacyWebhookEventID(ev.ID)}
}

func (s *Store) PutWebhookEvent(ctx context.Context, ev store.WebhookEvent) (_ store.WebhookEvent, _ bool, err error) {
	defer opErr(&err, "put webhook event", ev.ID)
	ck, args := s.whPutEventArgs(ev, s.now())
	raw, created, err := pair(whPutEvent.Run(ctx, s.c, []string{s.k.whEvents(), s.k.whSeq(), s.k.whPending(), ck}, args...).Slice())
	if err != nil {
		return store.WebhookEvent{}, false, err
	}
	var out store.WebhookEvent
	if err := unmarshal(raw, &out); err != nil {
		return store.WebhookEvent{}, false, err
	}
	return out, created, nil
}

// PutWebhookEvents pipelines one whPutEvent script per event, in order.
func (s *Store) PutWebhookEvents(ctx context.Context, evs []store.WebhookEvent) (err error) {
	defer opErr(&err, "put webhook events")
	if len(evs) == 0 {
		return nil
	}
	now := s.now()
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for _, ev := range evs {
			ck, args := s.whPutEventArgs(ev, now)
			whPutEvent.Run(ctx, p, []string{s.k.whEvents(), s.k.whSeq(), s.k.whPending(), ck}, args...)
		}
		return nil
	})
	if err != nil && strings.Contains(err.Error(), "NOSCRIPT") {
		if err := whPutEvent.Load(ctx, s.c).Err(); err != nil {
			return err
		}
		return s.PutWebhookEvents(ctx, evs)
	}
	return err
}

// AppendWithWebhookEvents records evs with the entry. On a standalone
// server (the one-step path, onestep.go) the append function writes them
// in its own call, atomically with the entry, when it writes the entry or
// finds it already there: one round trip for both (issue 21). Otherwise
// it records evs, then appends: on a Cluster the outbox lives in the slot
// {wh} and the entry in its customer's, which one script cannot span. A
// crash between the two is healed by the redelivery (the events exist
// already: nothing is written twice). Either way an entry that exists has
// its events, and each event is recorded once: both ways dedupe by the
// event's id (and its legacy id) with the same Lua text, so an older
// hub's separate recording and this one's find each other's.
func (s *Store) AppendWithWebhookEvents(ctx context.Context, e store.Entry, seen store.Conversation, fn func(*store.Conversation) error, evs []store.WebhookEvent) (store.Entry, store.Conversation, bool, error) {
	if !s.oneStep() {
		if err := s.PutWebhookEvents(ctx, evs); err != nil {
			return store.Entry{}, store.Conversation{}, false, err
		}
		return s.AppendToConversation(ctx, e, seen, fn)
	}
	return s.appendToConversation(ctx, e, seen, fn, evs)
}

// CreateCustomerWithWebhookEvents creates, then records: the customer and
// the outbox live in different Cluster slots.
func (s *Store) CreateCustomerWithWebhookEvents(ctx context.Context, c store.Customer, evs []store.WebhookEvent) error {
	if err := s.CreateCustomer(ctx, c); err != nil {
		return err
	}
	return s.PutWebhookEvents(ctx, evs)
}

func (s *Store) GetWebhookEvent(ctx context.Context, id string) (_ store.WebhookEvent, err error) {
	defer opErr(&err, "get webhook event", id)
	return hashRecord[store.WebhookEvent](ctx, s, s.k.whEvents(), id)
}

func (s *Store) GetWebhookEvents(ctx context.Context, ids []string) (_ []store.WebhookEvent, err error) {
	defer opErr(&err, "get webhook events")
	return hashRecords[store.WebhookEvent](ctx, s, s.k.whEvents(), ids)
}

func (s *Store) PendingWebhookEvents(ctx context.Context, limit int) (_ []store.WebhookEvent, err error) {
	defer opErr(&err, "pending webhook events")
	if limit <= 0 {
		limit = 100
	}
	ids, err := s.c.ZRange(ctx, s.k.whPending(), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, err
	}
	return hashRecords[store.WebhookEvent](ctx, s, s.k.whEvents(), ids)
}

// FanOutWebhookEvents runs one whFanOut script per event, pipelined in
// order (a crash leaves a prefix done).
func (s *Store) FanOutWebhookEvents(ctx context.Context, fs []store.WebhookFanOut) (err error) {
	defer opErr(&err, "fan out webhook events")
	if len(fs) == 0 {
		return nil
	}
	cmds := make([]*goredis.Cmd, len(fs))
	_, err = s.c.Pipelined(ctx, func(p goredis.Pipeliner) error {
		for i, f := range fs {
			id, seq := f.Event.ID, f.Event.Seq
			keys := []string{s.k.whEvents(), s.k.whPending(), s.k.whDelivery()}
			args := []any{id, seq}
			for _, d := range f.Deliveries {
				d.Seq = seq
				pending := "0"
				if d.Status == store.WebhookPending {
					pending = "1"
				}
				keys = append(keys, s.k.whAll(d.Endpoint), s.k.whDue(d.Endpoint))
				args = append(args, whField(d.Endpoint, id), marshal(d), pending)
			}
			cmds[i] = whFanOut.Run(ctx, p, keys, args...)
		}
		return nil
	})
	if err != nil && strings.Contains(err.Error(), "NOSCRIPT") {
		// The pipelined EVALSHA found the script missing (a restarted
		// Redis): load it and go again (everything is idempotent).
		if err := whFanOut.Load(ctx, s.c).Err(); err != nil {
			return err
		}
		return s.FanOutWebhookEvents(ctx, fs)
	}
	return err
}

func (s *Store) PutWebhookDeliveries(ctx context.Context, ds ...store.WebhookDelivery) (err error) {
	defer opErr(&err, "put webhook deliveries")
	if len(ds) == 0 {
		return nil
	}
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		for _, d := range ds {
			putDelivery(ctx, s, p, d)
		}
		return nil
	})
	return err
}

func putDelivery(ctx context.Context, s *Store, p goredis.Pipeliner, d store.WebhookDelivery) {
	p.HSet(ctx, s.k.whDelivery(), whField(d.Endpoint, d.EventID), marshal(d))
	p.ZAdd(ctx, s.k.whAll(d.Endpoint), goredis.Z{Score: float64(d.Seq), Member: d.EventID})
	if d.Status == store.WebhookPending {
		p.ZAdd(ctx, s.k.whDue(d.Endpoint), goredis.Z{Score: float64(d.Seq), Member: d.EventID})
	} else {
		p.ZRem(ctx, s.k.whDue(d.Endpoint), d.EventID)
	}
}

func (s *Store) GetWebhookDelivery(ctx context.Context, endpoint, eventID string) (_ store.WebhookDelivery, err error) {
	defer opErr(&err, "get webhook delivery", endpoint, eventID)
	return hashRecord[store.WebhookDelivery](ctx, s, s.k.whDelivery(), whField(endpoint, eventID))
}

func (s *Store) ListWebhookDeliveries(ctx context.Context, endpoint string, before int64, limit int) (_ []store.WebhookDelivery, err error) {
	defer opErr(&err, "list webhook deliveries", endpoint)
	if limit <= 0 {
		limit = 100
	}
	max := "+inf"
	if before > 0 {
		max = "(" + strconv.FormatInt(before, 10)
	}
	ids, err := s.c.ZRevRangeByScore(ctx, s.k.whAll(endpoint), &goredis.ZRangeBy{Min: "-inf", Max: max, Count: int64(limit)}).Result()
	if err != nil {
		return nil, err
	}
	return s.deliveries(ctx, endpoint, ids)
}

func (s *Store) deliveries(ctx context.Context, endpoint string, ids []string) ([]store.WebhookDelivery, error) {
	fields := make([]string, len(ids))
	for i, id := range ids {
		fields[i] = whField(endpoint, id)
	}
	return hashRecords[store.WebhookDelivery](ctx, s, s.k.whDelivery(), fields)
}

func (s *Store) PendingWebhookDeliveries(ctx context.Context, endpoint string, limit int) (_ []store.WebhookDelivery, err error) {
	defer opErr(&err, "pending webhook deliveries", endpoint)
	if limit <= 0 {
		limit = 100
	}
	ids, err := s.c.ZRange(ctx, s.k.whDue(endpoint), 0, int64(limit-1)).Result()
	if err != nil {
		return nil, err
	}
	return s.deliveries(ctx, endpoint, ids)
}

func (s *Store) CreateWebhookEndpoint(ctx context.Context, e store.WebhookEndpoint) (err error) {
	defer opErr(&err, "create webhook endpoint", e.Name)
	now := s.now()
	if e.CreatedAt.IsZero() {
		e.CreatedAt = now
	}
	e.UpdatedAt = now
	ok, err := s.c.HSetNX(ctx, s.k.whEndpoints(), e.Name, marshal(e)).Result()
	if err == nil && !ok {
		err = store.ErrConflict
	}
	return err
}

func (s *Store) GetWebhookEndpoint(ctx context.Context, name string) (_ store.WebhookEndpoint, err error) {
	defer opErr(&err, "get webhook endpoint", name)
	return hashRecord[store.WebhookEndpoint](ctx, s, s.k.whEndpoints(), name)
}

func (s *Store) UpdateWebhookEndpoint(ctx context.Context, name string, fn func(*store.WebhookEndpoint) error) (_ store.WebhookEndpoint, err error) {
	defer opErr(&err, "update webhook endpoint", name)
	var out store.WebhookEndpoint
	err = s.update(ctx, fieldAt(s.k.whEndpoints(), name), func(old string) (string, error) {
		var e store.WebhookEndpoint
		if err := unmarshal(old, &e); err != nil {
			return "", err
		}
		createdAt := e.CreatedAt
		if err := fn(&e); err != nil {
			return "", callerError{err}
		}
		e.Name, e.CreatedAt, e.UpdatedAt = name, createdAt, s.now()
		out = e
		return marshal(e), nil
	})
	return out, err
}

func (s *Store) ListWebhookEndpoints(ctx context.Context) (_ []store.WebhookEndpoint, err error) {
	defer opErr(&err, "list webhook endpoints")
	out, err := hashValues[store.WebhookEndpoint](ctx, s, s.k.whEndpoints())
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out, err
}

// DeleteWebhookEndpoint removes the endpoint first (the dispatcher stops
// at once), then its deliveries; a crash midway leaves deliveries of a gone
// endpoint, which nothing reads, and a repeated call removes them.
func (s *Store) DeleteWebhookEndpoint(ctx context.Context, name string) (err error) {
	defer opErr(&err, "delete webhook endpoint", name)
	if err := s.c.HDel(ctx, s.k.whEndpoints(), name).Err(); err != nil {
		return err
	}
	for {
		ids, err := s.c.ZRange(ctx, s.k.whAll(name), 0, 999).Result()
		if err != nil {
			return err
		}
		if len(ids) == 0 {
			return s.c.Del(ctx, s.k.whDue(name)).Err()
		}
		fields := make([]string, len(ids))
		members := make([]any, len(ids))
		for i, id := range ids {
			fields[i], members[i] = whField(name, id), id
		}
		if _, err := s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
			p.HDel(ctx, s.k.whDelivery(), fields...)
			p.ZRem(ctx, s.k.whAll(name), members...)
			return nil
		}); err != nil {
			return err
		}
	}
}

// DeleteWebhookCustomer removes the customer's events and their
// deliveries, then the index: every step is idempotent, so a repeated
// erasure finishes one that stopped midway.
func (s *Store) DeleteWebhookCustomer(ctx context.Context, customerID string) (_ int, err error) {
	defer opErr(&err, "delete webhook customer", customerID)
	ids, err := s.c.SMembers(ctx, s.k.whCustomer(customerID)).Result()
	if err != nil || len(ids) == 0 {
		return 0, err
	}
	names, err := s.c.HKeys(ctx, s.k.whEndpoints()).Result()
	if err != nil {
		return 0, err
	}
	members := make([]any, len(ids))
	for i, id := range ids {
		members[i] = id
	}
	_, err = s.c.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		p.HDel(ctx, s.k.whEvents(), ids...)
		p.ZRem(ctx, s.k.whPending(), members...)
		for _, ep := range names {
			fields := make([]string, len(ids))
			for i, id := range ids {
				fields[i] = whField(ep, id)
			}
			p.HDel(ctx, s.k.whDelivery(), fields...)
			p.ZRem(ctx, s.k.whAll(ep), members...)
			p.ZRem(ctx, s.k.whDue(ep), members...)
		}
		p.Del(ctx, s.k.whCustomer(customerID))
		return nil
	})
	return len(ids), err
}
