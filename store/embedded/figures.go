package embedded

import (
	"context"
	"encoding/binary"
	json "github.com/goccy/go-json"
	"slices"
	"sync"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/store"
)

// Adoption figures (issue 16). Buckets are created on first write, so a
// store that never counted has none and reads answer empty.
var (
	bFigures       = []byte("figures")        // channel\x00day\x00phase → JSON map[string]int64
	bFigureSenders = []byte("figure_senders") // channel\x00day\x00phase → HLL registers (store.HLLRegisters bytes)
	bFigureSeen    = []byte("figure_seen")    // customer\x00channel → "" (reach)
	bPhaseHistory  = []byte("phase_history")  // channel\x00seq(8) → PhaseChange
)

// figureWrites remembers the write ids (store.FigureAdd.ID) applied in
// the last figureWriteTTL: a call applies whole or not at all here, but a
// caller that retries a write it thinks failed (a wrapper, a cancelled
// context after the commit) still counts once, as on Redis.
type figureWrites struct {
	mu    sync.Mutex
	seen  map[string]time.Time
	swept time.Time
}

const figureWriteTTL = 10 * time.Minute

// claim reports whether id is new, and marks it.
func (w *figureWrites) claim(id string, now time.Time) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.seen == nil {
		w.seen = map[string]time.Time{}
	}
	if now.Sub(w.swept) > figureWriteTTL {
		for k, at := range w.seen {
			if now.Sub(at) > figureWriteTTL {
				delete(w.seen, k)
			}
		}
		w.swept = now
	}
	if _, ok := w.seen[id]; ok {
		return false
	}
	w.seen[id] = now
	return true
}

func (w *figureWrites) release(id string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	delete(w.seen, id)
}

func (s *Store) AddFigures(ctx context.Context, f store.FigureAdd) (err error) {
	if f.ID != "" {
		if !s.figWrites.claim(f.ID, time.Now()) {
			return nil
		}
		defer func() {
			if err != nil {
				s.figWrites.release(f.ID)
			}
		}()
	}
	k := key(f.Channel, f.Day, f.Phase)
	return s.batch(ctx, func(tx *bolt.Tx) error {
		if len(f.Counts) > 0 {
			b, err := tx.CreateBucketIfNotExists(bFigures)
			if err != nil {
				return err
			}
			counts := map[string]int64{}
			if _, err := getJSON(b, k, &counts); err != nil {
				return err
			}
			for n, d := range f.Counts {
				counts[n] += d
			}
			if err := putJSON(b, k, counts); err != nil {
				return err
			}
		}
		senders := f.Senders
		if f.Sender != "" {
			senders = append(senders[:len(senders):len(senders)], f.Sender)
		}
		if len(senders) > 0 {
			b, err := tx.CreateBucketIfNotExists(bFigureSenders)
			if err != nil {
				return err
			}
			regs := make([]byte, store.HLLRegisters)
			copy(regs, b.Get(k))
			changed := b.Get(k) == nil
			for _, x := range senders {
				changed = store.HLLAdd(regs, x) || changed
			}
			if changed {
				return b.Put(k, regs)
			}
		}
		return nil
	})
}

func (s *Store) ReadFigures(ctx context.Context, channel, fromDay, toDay string) ([]store.DayFigures, error) {
	var out []store.DayFigures
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bFigures)
		if b == nil {
			return nil
		}
		p := prefix(channel)
		c := b.Cursor()
		for k, v := c.Seek(append(p, fromDay...)); k != nil && hasPrefix(k, p); k, v = c.Next() {
			rest := k[len(p):]
			i := slices.Index(rest, 0)
			if i < 0 {
				continue
			}
			day := string(rest[:i])
			if day > toDay {
				break
			}
			d := store.DayFigures{Day: day, Phase: string(rest[i+1:])}
			if err := jsonDecode(k, v, &d.Counts); err != nil {
				return err
			}
			out = append(out, d)
		}
		return nil
	})
	return out, err
}

func (s *Store) CountSenders(ctx context.Context, channel string, cells []store.FigureDayPhase) (int64, error) {
	regs := make([]byte, store.HLLRegisters)
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bFigureSenders)
		if b == nil {
			return nil
		}
		for _, c := range cells {
			store.HLLMerge(regs, b.Get(key(channel, c.Day, c.Phase)))
		}
		return nil
	})
	if err != nil {
		return 0, err
	}
	return store.HLLCount(regs), nil
}

func (s *Store) SeenOn(ctx context.Context, customer, channel string) (first bool, before []string, err error) {
	// Most calls find the pair seen: a read transaction answers them
	// without a write (a commit and fsync per message).
	seen := false
	if err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bFigureSeen)
		if b == nil || b.Get(key(customer, channel)) == nil {
			return nil
		}
		seen = true
		p := prefix(customer)
		return scanPrefix(b, p, func(k, _ []byte) (bool, error) {
			if c := string(k[len(p):]); c != channel {
				before = append(before, c)
			}
			return true, nil
		})
	}); err != nil || seen {
		return false, before, err
	}
	err = s.batch(ctx, func(tx *bolt.Tx) error {
		first, before = false, nil // batch may run this more than once
		b, err := tx.CreateBucketIfNotExists(bFigureSeen)
		if err != nil {
			return err
		}
		k := key(customer, channel)
		p := prefix(customer)
		if err := scanPrefix(b, p, func(k, _ []byte) (bool, error) {
			if c := string(k[len(p):]); c != channel {
				before = append(before, c)
			}
			return true, nil
		}); err != nil {
			return err
		}
		if b.Get(k) != nil {
			return nil
		}
		first = true
		return b.Put(k, []byte{})
	})
	return first, before, err
}

func (s *Store) AppendPhaseChange(ctx context.Context, c store.PhaseChange) error {
	return s.update(ctx, func(tx *bolt.Tx) error {
		b, err := tx.CreateBucketIfNotExists(bPhaseHistory)
		if err != nil {
			return err
		}
		seq, err := b.NextSequence()
		if err != nil {
			return err
		}
		raw, err := json.Marshal(c)
		if err != nil {
			return err
		}
		return b.Put(append(prefix(c.Channel), u64(seq)...), raw)
	})
}

func (s *Store) ListPhaseChanges(ctx context.Context, channel string) ([]store.PhaseChange, error) {
	var out []store.PhaseChange
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bPhaseHistory)
		if b == nil {
			return nil
		}
		p := prefix(channel)
		return scanPrefix(b, p, func(k, v []byte) (bool, error) {
			if len(k) != len(p)+8 || binary.BigEndian.Uint64(k[len(p):]) == 0 {
				return true, nil
			}
			var c store.PhaseChange
			if err := jsonDecode(k, v, &c); err != nil {
				return false, err
			}
			out = append(out, c)
			return true, nil
		})
	})
	return out, err
}

// deleteSeen removes the customer's channel set (adoption reach) with the
// customer record (erasure).
func deleteSeen(tx *bolt.Tx, customer string) error {
	b := tx.Bucket(bFigureSeen)
	if b == nil {
		return nil
	}
	for _, k := range keysWithPrefix(b, prefix(customer)) {
		if err := b.Delete(k); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) FigureCells(ctx context.Context, channel, fromDay, toDay string) ([]store.FigureDayPhase, error) {
	var out []store.FigureDayPhase
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bFigures)
		if b == nil {
			return nil
		}
		p := prefix(channel)
		c := b.Cursor()
		for k, _ := c.Seek(append(p, fromDay...)); k != nil && hasPrefix(k, p); k, _ = c.Next() {
			rest := k[len(p):]
			i := slices.Index(rest, 0)
			if i < 0 {
				continue
			}
			if string(rest[:i]) > toDay {
				break
			}
			out = append(out, store.FigureDayPhase{Day: string(rest[:i]), Phase: string(rest[i+1:])})
		}
		return nil
	})
	return out, err
}

func (s *Store) SumFigures(ctx context.Context, channel string, cells []store.FigureDayPhase, perCell []string) (map[string]int64, []map[string]int64, error) {
	sum := map[string]int64{}
	each := make([]map[string]int64, len(cells))
	err := s.view(ctx, func(tx *bolt.Tx) error {
		b := tx.Bucket(bFigures)
		for i, c := range cells {
			each[i] = map[string]int64{}
			if b == nil {
				continue
			}
			k := key(channel, c.Day, c.Phase)
			raw := b.Get(k)
			if raw == nil {
				continue
			}
			var counts map[string]int64
			if err := jsonDecode(k, raw, &counts); err != nil {
				return err
			}
			for n, v := range counts {
				sum[n] += v
			}
			for _, n := range perCell {
				each[i][n] = counts[n]
			}
		}
		return nil
	})
	return sum, each, err
}
