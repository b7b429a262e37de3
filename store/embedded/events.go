package embedded

import (
	"context"
	"sync"
)

// subscriberBuffer is how many events a subscriber may lag behind before
// further events are dropped for it (best effort, per the contract).
const subscriberBuffer = 256

type subscriber struct{ ch chan []byte }

// eventHub is the in-process pub/sub: one process owns the data dir, so
// every subscriber lives in this process.
type eventHub struct {
	mu     sync.RWMutex
	closed bool
	subs   map[string]map[*subscriber]struct{}
}

// Publish hands payload to every current subscriber of topic without
// blocking; a subscriber whose buffer is full misses the event.
func (s *Store) Publish(ctx context.Context, topic string, payload []byte) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	h := &s.events
	h.mu.RLock()
	defer h.mu.RUnlock()
	if h.closed {
		return ErrClosed
	}
	for sub := range h.subs[topic] {
		msg := append([]byte(nil), payload...)
		select {
		case sub.ch <- msg:
		default:
		}
	}
	return nil
}

// Subscribe registers a subscriber; its channel is closed when ctx is done
// or the store is closed. The goroutine that closes it is owned by the
// Store (Close waits for it).
func (s *Store) Subscribe(ctx context.Context, topic string) (<-chan []byte, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	h := &s.events
	sub := &subscriber{ch: make(chan []byte, subscriberBuffer)}
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return nil, ErrClosed
	}
	if h.subs[topic] == nil {
		h.subs[topic] = map[*subscriber]struct{}{}
	}
	h.subs[topic][sub] = struct{}{}
	s.wg.Add(1)
	h.mu.Unlock()
	go func() {
		defer s.wg.Done()
		select {
		case <-ctx.Done():
		case <-s.done:
		}
		h.mu.Lock()
		delete(h.subs[topic], sub)
		if len(h.subs[topic]) == 0 {
			delete(h.subs, topic)
		}
		close(sub.ch)
		h.mu.Unlock()
	}()
	return sub.ch, nil
}
