package redis

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/store"
)

// enqueueReplicated is Enqueue with Options.MinReplicasAck > 0: the XADD
// and a WAIT n timeout go in one pipeline on one connection to the
// stream's master (WAIT covers the writes of its own connection only; on a
// Cluster a keyless command would go to any node, so the pipeline is sent
// to the node of the stream's slot). Fewer replicas than n confirming in
// time is store.ErrNotReplicated: the item is in the queue on the master
// (and is processed if that master lives), but it is not acknowledged.
func (s *Store) enqueueReplicated(ctx context.Context, queue string, payload []byte) (string, error) {
	stream := s.k.queueStream(queue)
	var id string
	err := s.withGroup(ctx, queue, func() error {
		node := goredis.Cmdable(s.c)
		cc, cluster := s.c.(*goredis.ClusterClient)
		if cluster {
			m, err := cc.MasterForKey(ctx, stream)
			if err != nil {
				return err
			}
			node = m
		}
		var add *goredis.StringCmd
		var wait *goredis.Cmd
		_, err := node.Pipelined(ctx, func(p goredis.Pipeliner) error {
			add = p.XAdd(ctx, &goredis.XAddArgs{Stream: stream,
				Values: []any{"p", payload, "t", strconv.FormatInt(s.now().UnixNano(), 10)}})
			wait = p.Do(ctx, "wait", s.minAck, s.minAckTimeout.Milliseconds())
			return nil
		})
		if err != nil {
			// A node that is no longer the slot's master (MOVED) or is gone:
			// the cluster client learns the new layout before the next try.
			if cluster && (strings.Contains(err.Error(), "MOVED") || strings.Contains(err.Error(), "READONLY") || isNetErr(err)) {
				cc.ReloadState(ctx)
			}
			return err
		}
		id = add.Val()
		if n, err := wait.Int64(); err != nil {
			return err
		} else if n < int64(s.minAck) {
			return fmt.Errorf("%w: item %s reached %d of %d replicas within %v", store.ErrNotReplicated, id, n, s.minAck, s.minAckTimeout)
		}
		return nil
	})
	return id, err
}

func isNetErr(err error) bool {
	s := err.Error()
	return strings.Contains(s, "connection refused") || strings.Contains(s, "EOF") || strings.Contains(s, "i/o timeout") || strings.Contains(s, "broken pipe") || strings.Contains(s, "reset by peer")
}

// minAckTimeoutDefault is WAIT's timeout when Options.MinReplicasTimeout is
// not set.
const minAckTimeoutDefault = 100 * time.Millisecond

// confirmsAcks reports whether Ack on queue is a confirmed ack
// (ackConfirmed): with Options.MinReplicasAck > 0, for the ingest queue.
// Its items' work is idempotent, so an item left unacked is only
// processed again. An outbound item is not: processed again it would be
// sent again, so its Ack stays as it was.
func (s *Store) confirmsAcks(queue string) bool {
	return s.minAck > 0 && queue == store.QueueIngest
}

// ackConfirmed acknowledges ids only once the server that takes the XACK
// is known to have replicated everything it executed before it, the
// worker's writes for those items included (docs/RELIABILITY.md, "Sentinel
// failover"). On one connection to the stream's master: a write (the
// queue's ack mark) and WAIT n timeout, then, if n replicas confirmed, XDEL
// and XACK. The write gives WAIT an offset past every command that server
// ran before it, from any connection; the XACK on the same connection lands
// on the same server, after it.
//
// What it closes: a Sentinel failover promotes the replica while the old
// master still takes the hubs' writes until they hear +switch-master. A
// worker whose timeline entry went to the old master (dropped when it is
// made a replica) and whose ack went to the new one (kept: a failed ack
// was retried, and the retry reached the new master) marked the item done
// with its entry gone. Now the ack is refused instead: on the old master
// WAIT finds no replica (the promoted one left it) unless a replica still
// has the entry; on the new master the XACK is sent only when it has a
// replica in sync, which a promoted replica has not.
//
// When fewer than n replicas confirm (or the connection fails) nothing is
// acked and the error wraps store.ErrNotReplicated: the item stays pending
// and is handed out again (claim_after, or at once if this process dies),
// processed again idempotently, and acked once a replica confirms. The
// caller must not retry the Ack later: a retry after a master switch is the
// very write this avoids.
func (s *Store) ackConfirmed(ctx context.Context, queue string, ids []string) error {
	stream := s.k.queueStream(queue)
	conn, err := s.connFor(ctx, stream)
	if err != nil {
		return fmt.Errorf("%w: %d items left unacked: %v", store.ErrNotReplicated, len(ids), err)
	}
	defer conn.Close()
	pctx := context.WithValue(ctx, apInternal{}, true)
	if err := s.confirmOn(pctx, conn, s.k.queueAckMark(queue)); err != nil {
		return fmt.Errorf("%d items left unacked: %w", len(ids), err)
	}
	_, err = conn.Pipelined(pctx, func(p goredis.Pipeliner) error {
		p.XDel(pctx, stream, ids...)
		p.XAck(pctx, stream, queueGroup, ids...)
		return nil
	})
	if err != nil && strings.Contains(err.Error(), "NOGROUP") {
		return nil
	}
	if err != nil {
		// The XACK may or may not have reached the server: leave the items
		// to redelivery rather than retry it, possibly elsewhere.
		return fmt.Errorf("%w: %d items: ack failed: %v", store.ErrNotReplicated, len(ids), err)
	}
	return nil
}

// connFor is one connection to the master of key's slot (any connection of
// a standalone or Sentinel client, which has one master). The caller
// closes it, and sends its commands with a context marked apInternal so
// the auto-pipeline does not move them to another connection.
func (s *Store) connFor(ctx context.Context, key string) (*goredis.Conn, error) {
	switch c := s.c.(type) {
	case *goredis.ClusterClient:
		m, err := c.MasterForKey(ctx, key)
		if err != nil {
			return nil, err
		}
		return m.Conn(), nil
	case *goredis.Client:
		return c.Conn(), nil
	}
	return nil, fmt.Errorf("store/redis: a confirmed write needs a *redis.Client or *redis.ClusterClient, not %T", s.c)
}

// confirmOn writes mark (a throwaway key in the slot of the data to
// confirm) and WAITs on conn: nil once MinReplicasAck replicas have
// everything the server executed up to that write, whichever connection
// sent it; an error wrapping store.ErrNotReplicated otherwise.
func (s *Store) confirmOn(ctx context.Context, conn *goredis.Conn, mark string) error {
	var wait *goredis.Cmd
	_, err := conn.Pipelined(ctx, func(p goredis.Pipeliner) error {
		p.Set(ctx, mark, "1", time.Minute)
		wait = p.Do(ctx, "wait", s.minAck, s.minAckTimeout.Milliseconds())
		return nil
	})
	if err != nil {
		return fmt.Errorf("%w: %v", store.ErrNotReplicated, err)
	}
	if n, _ := wait.Int64(); n < int64(s.minAck) {
		return fmt.Errorf("%w: %d of %d replicas confirmed within %v", store.ErrNotReplicated, n, s.minAck, s.minAckTimeout)
	}
	return nil
}

// confirmWrites, with Options.MinReplicasAck > 0, confirms the writes
// already made to key's master (confirmOn, mark in key's slot); nil
// without the setting.
func (s *Store) confirmWrites(ctx context.Context, key, mark string) error {
	if s.minAck <= 0 {
		return nil
	}
	conn, err := s.connFor(ctx, key)
	if err != nil {
		return fmt.Errorf("%w: %v", store.ErrNotReplicated, err)
	}
	defer conn.Close()
	return s.confirmOn(context.WithValue(ctx, apInternal{}, true), conn, mark)
}
