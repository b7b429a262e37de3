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
