package router_test

import (
	"context"
	"strings"
	"sync"
	"testing"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/internal/testenv"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
)

// hgetRecorder records the conversation reads (HGET of a customer's
// conversations hash) a client sends, alone or in a caller's pipeline (the
// store under test has no auto-pipeline).
type hgetRecorder struct {
	mu              sync.Mutex
	alone, piped    int
	pipelineWithGet int // pipelines that also read the message's first keys
}

func isConvRead(c goredis.Cmder) bool {
	args := c.Args()
	return c.Name() == "hget" && len(args) > 1 && strings.HasSuffix(args[1].(string), ":convs")
}

func (h *hgetRecorder) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (h *hgetRecorder) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if isConvRead(cmd) {
			h.mu.Lock()
			h.alone++
			h.mu.Unlock()
		}
		return next(ctx, cmd)
	}
}

func (h *hgetRecorder) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		reads, mget := 0, false
		for _, c := range cmds {
			if isConvRead(c) {
				reads++
			}
			mget = mget || c.Name() == "mget"
		}
		if reads > 0 {
			h.mu.Lock()
			h.piped += reads
			if mget {
				h.pipelineWithGet++
			}
			h.mu.Unlock()
		}
		return next(ctx, cmds)
	}
}

func (h *hgetRecorder) counts() (alone, piped, withGet int) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.alone, h.piped, h.pipelineWithGet
}

// A customer's next message on a thread the hub already holds reads that
// conversation in the prefetch's round trip (issue 23): its record comes
// with the dedupe record, the bindings and the customer in one pipeline,
// and no conversation read waits on its own; the message joins that
// conversation.
func TestNextMessageReadsItsConversationWithTheFirstReads(t *testing.T) {
	c, prefix := testenv.Redis(t)
	rec := &hgetRecorder{}
	c.AddHook(rec)
	st := sbredis.New(c, sbredis.Options{Prefix: prefix})
	t.Cleanup(func() { st.Close() })
	h := newHub(t, st)
	first := h.process(t, h.msg("trusted-api", "t1", "hello", "email:next@example.com"))
	a0, p0, w0 := rec.counts()
	second := h.process(t, h.msg("trusted-api", "t1", "again", "email:next@example.com"))
	a1, p1, w1 := rec.counts()
	if a1 != a0 || p1-p0 != 1 || w1-w0 != 1 {
		t.Errorf("the second message's conversation reads: %d alone, %d in %d prefetch pipelines; want 0 alone, 1 in 1", a1-a0, p1-p0, w1-w0)
	}
	ctx := context.Background()
	e1, err := st.GetEntry(ctx, first.ID)
	if err != nil {
		t.Fatal(err)
	}
	e2, err := st.GetEntry(ctx, second.ID)
	if err != nil {
		t.Fatal(err)
	}
	if e1.ConversationID != e2.ConversationID {
		t.Errorf("the messages are in conversations %s and %s, want one", e1.ConversationID, e2.ConversationID)
	}
	conv, err := st.GetConversation(ctx, e2.ConversationID)
	if err != nil || conv.LastMessageID != second.ID {
		t.Errorf("conversation = %+v, %v; want the second message last", conv, err)
	}
}
