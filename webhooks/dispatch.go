package webhooks

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"time"

	json "github.com/goccy/go-json"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/store"
)

// LeaseName is the lease the dispatcher runs under (one replica at a time).
const LeaseName = "webhooks"

// LeaseSpec implements connectors.LeasedSource.
func (s *Service) LeaseSpec() (string, time.Duration) { return LeaseName, 15 * time.Second }

// RunLeased implements connectors.LeasedSource: the dispatcher. It fans new
// outbox events out into deliveries and runs one worker per active
// endpoint, until ctx ends (stop, or the lease lost). Everything it does is
// in the store, so another replica taking over the lease (or this one after
// a restart) carries on where it stopped: at worst an attempt whose result
// was not recorded is made again, with the same webhook-id.
func (s *Service) RunLeased(ctx context.Context, _ connectors.Sink, _ connectors.Lease) error {
	workers := map[string]*worker{}
	var wg sync.WaitGroup
	defer func() {
		for _, w := range workers {
			w.stop()
		}
		wg.Wait()
	}()
	t := time.NewTicker(s.poll)
	defer t.Stop()
	for {
		eps, err := s.st.ListWebhookEndpoints(ctx)
		if err == nil {
			s.Outbox.setEndpoints(eps)
			err = s.fanOut(ctx, eps)
		}
		if err != nil && ctx.Err() == nil {
			s.log.Warn("webhook dispatcher: store call failed", "err", err)
		}
		if err == nil {
			s.reconcile(ctx, eps, workers, &wg)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case <-s.wake:
			for _, w := range workers {
				w.poke()
			}
		}
	}
}

// fanOut turns pending outbox events into deliveries for every active
// endpoint that subscribes to their type, in recording order.
func (s *Service) fanOut(ctx context.Context, eps []store.WebhookEndpoint) error {
	for {
		if err := s.pace.wait(ctx); err != nil {
			return nil // stopping
		}
		evs, err := s.st.PendingWebhookEvents(ctx, 500)
		if err != nil || len(evs) == 0 {
			return err
		}
		now := s.clock().UTC()
		fs := make([]store.WebhookFanOut, 0, len(evs))
		for _, ev := range evs {
			var ds []store.WebhookDelivery
			for _, e := range eps {
				if e.Active() && (slices.Contains(e.Events, ev.Type) || slices.Contains(e.Events, All)) {
					ds = append(ds, store.WebhookDelivery{Endpoint: e.Name, EventID: ev.ID, Seq: ev.Seq, Type: ev.Type,
						CustomerID: ev.CustomerID, Status: store.WebhookPending, NextAttemptAt: now, CreatedAt: now})
				}
			}
			fs = append(fs, store.WebhookFanOut{Event: ev, Deliveries: ds})
		}
		if err := s.st.FanOutWebhookEvents(ctx, fs); err != nil {
			return err
		}
		if len(evs) < 500 {
			return nil
		}
	}
}

// reconcile starts a worker for each active endpoint and stops the others.
func (s *Service) reconcile(ctx context.Context, eps []store.WebhookEndpoint, workers map[string]*worker, wg *sync.WaitGroup) {
	active := map[string]bool{}
	for _, e := range eps {
		if !e.Active() {
			continue
		}
		active[e.Name] = true
		if w, ok := workers[e.Name]; ok {
			w.poke()
			continue
		}
		wctx, cancel := context.WithCancel(ctx)
		w := &worker{s: s, name: e.Name, cancel: cancel, wake: make(chan struct{}, 1)}
		workers[e.Name] = w
		wg.Add(1)
		go func() {
			defer wg.Done()
			w.run(wctx)
		}()
	}
	for name, w := range workers {
		if !active[name] {
			w.stop()
			delete(workers, name)
		}
	}
}

// worker delivers one endpoint's pending deliveries. A slow or failing
// endpoint holds up only its own worker.
type worker struct {
	s      *Service
	name   string
	cancel context.CancelFunc
	wake   chan struct{}
}

func (w *worker) stop() { w.cancel() }

func (w *worker) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}

func (w *worker) run(ctx context.Context) {
	for ctx.Err() == nil {
		busy, err := w.round(ctx)
		if err != nil && ctx.Err() == nil {
			w.s.log.Warn("webhook worker: store call failed", "endpoint", w.name, "err", err)
		}
		if busy && err == nil {
			continue
		}
		select {
		case <-ctx.Done():
		case <-w.wake:
		case <-time.After(w.s.poll):
		}
	}
}

// round attempts every due pending delivery once, keeping each customer's
// deliveries in order: a customer's chain stops at its first delivery that
// is not due or fails, and chains of different customers run side by side
// (at most Concurrency requests at once). It reports whether it attempted
// anything.
func (w *worker) round(ctx context.Context) (bool, error) {
	e, err := w.s.st.GetWebhookEndpoint(ctx, w.name)
	if err != nil || !e.Active() {
		return false, err
	}
	pend, err := w.s.st.PendingWebhookDeliveries(ctx, w.name, 2000)
	if err != nil {
		return false, err
	}
	w.s.m.pending.WithLabelValues(w.name).Set(float64(len(pend)))
	now := w.s.clock()
	var chains [][]store.WebhookDelivery
	byCustomer := map[string]int{}
	blocked := map[string]bool{}
	for _, d := range pend {
		key := d.CustomerID
		if key != "" && blocked[key] {
			continue
		}
		if d.NextAttemptAt.After(now) {
			if key != "" {
				blocked[key] = true // a later one must wait for it
			}
			continue
		}
		if i, ok := byCustomer[key]; ok && key != "" {
			chains[i] = append(chains[i], d)
			continue
		}
		byCustomer[key] = len(chains)
		chains = append(chains, []store.WebhookDelivery{d})
	}
	if len(chains) == 0 {
		return false, nil
	}
	var ids []string
	for _, c := range chains {
		for _, d := range c {
			ids = append(ids, d.EventID)
		}
	}
	evList, err := w.s.st.GetWebhookEvents(ctx, ids)
	if err != nil {
		return false, err
	}
	events := make(map[string]store.WebhookEvent, len(evList))
	for _, ev := range evList {
		events[ev.ID] = ev
	}
	// Each chain sends back to back; the outcomes are recorded together
	// when the round ends (one store step for the round, not one per
	// delivery). A crash before that sends them again, with the same
	// webhook-ids: at least once.
	t := w.s.target(e)
	var wg sync.WaitGroup
	var mu sync.Mutex
	var firstErr error
	var disabled bool
	var outcomes []store.WebhookDelivery
	sem := make(chan struct{}, w.s.conc)
	for _, chain := range chains {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			for _, d := range chain {
				mu.Lock()
				stop := disabled
				mu.Unlock()
				if stop || ctx.Err() != nil || w.s.pace.wait(ctx) != nil {
					return
				}
				ev, found := events[d.EventID]
				if !found {
					return // erased meanwhile: its delivery went with it
				}
				out, ok, gone, err := w.s.attempt(ctx, e, t, d, ev)
				mu.Lock()
				if err != nil && firstErr == nil {
					firstErr = err
				}
				if out.Attempts > d.Attempts {
					outcomes = append(outcomes, out)
				}
				disabled = disabled || gone
				mu.Unlock()
				if !ok {
					return // the rest of this customer's chain waits
				}
			}
		}()
	}
	wg.Wait()
	if len(outcomes) > 0 {
		// Not under ctx: what was sent is recorded even when stopping.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if err := w.s.st.PutWebhookDeliveries(rctx, outcomes...); err != nil && firstErr == nil {
			firstErr = err
		}
	}
	return !disabled && len(outcomes) > 0, firstErr
}

// attempt makes one delivery attempt and returns the delivery with its
// outcome (to be recorded by the caller). ok: the delivery is done (the
// customer's next may go); gone: the endpoint answered 410 and is now
// disabled. An attempt cut short by ctx returns d unchanged.
func (s *Service) attempt(ctx context.Context, e store.WebhookEndpoint, t *target, d store.WebhookDelivery, ev store.WebhookEvent) (out store.WebhookDelivery, ok, gone bool, err error) {
	start := time.Now()
	code, sendErr := s.send(ctx, t, ev)
	if ctx.Err() != nil {
		return d, false, false, nil // stopping: the attempt is made again by whoever runs next
	}
	s.m.latency.WithLabelValues(e.Name).Observe(time.Since(start).Seconds())
	now := s.clock().UTC()
	out = d
	out.Attempts++
	out.LastCode, out.LastAttemptAt, out.LastError = code, now, ""
	if sendErr != nil {
		out.LastError = sendErr.Error()
	}
	switch {
	case sendErr == nil && code >= 200 && code < 300:
		out.Status, out.NextAttemptAt = store.WebhookDelivered, time.Time{}
		s.m.attempts.WithLabelValues(e.Name, "delivered").Inc()
		ok = true
	case code == http.StatusGone:
		// The receiver says the endpoint is gone: disable it; this and
		// every later delivery stay pending for when an admin enables it.
		reason := "410 Gone at " + now.Format(time.RFC3339)
		if _, err := s.st.UpdateWebhookEndpoint(ctx, e.Name, func(x *store.WebhookEndpoint) error {
			x.DisabledReason = reason
			return nil
		}); err != nil {
			return out, false, false, err
		}
		s.log.Warn("webhook endpoint answered 410 Gone: disabled", "endpoint", e.Name)
		s.m.attempts.WithLabelValues(e.Name, "disabled").Inc()
		out.NextAttemptAt = now
		gone = true
	case out.Attempts > len(s.schedule):
		out.Status, out.NextAttemptAt = store.WebhookFailed, time.Time{}
		s.m.attempts.WithLabelValues(e.Name, "gave_up").Inc()
		s.log.Warn("webhook delivery failed for good (replayable)", "endpoint", e.Name, "event", d.EventID, "code", code, "err", sendErr)
		ok = true // failed for good: the customer's next one goes on
	default:
		out.NextAttemptAt = now.Add(s.jitter(s.schedule[out.Attempts-1]))
		s.m.attempts.WithLabelValues(e.Name, "failed").Inc()
	}
	return out, ok, gone, nil
}

// appendBody appends the body every delivery posts:
// {"type":…,"timestamp":…,"data":…}.
func appendBody(b []byte, ev store.WebhookEvent) ([]byte, error) {
	typ, err := json.Marshal(ev.Type)
	if err != nil {
		return nil, err
	}
	b = append(append(append(b, `{"type":`...), typ...), `,"timestamp":"`...)
	b = ev.At.UTC().AppendFormat(b, time.RFC3339Nano)
	b = append(b, `","data":`...)
	if len(ev.Data) == 0 {
		b = append(b, "{}"...)
	} else {
		b = append(b, ev.Data...)
	}
	return append(b, '}'), nil
}

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
