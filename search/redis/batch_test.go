package redis_test

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/search/redis"
)

// scriptGate counts the scripts a client sends and holds the first one
// until released, so the Puts arriving meanwhile queue up.
type scriptGate struct {
	scripts atomic.Int64
	once    sync.Once
	held    chan struct{}
	release chan struct{}
}

func (g *scriptGate) DialHook(next goredis.DialHook) goredis.DialHook { return next }

func (g *scriptGate) ProcessHook(next goredis.ProcessHook) goredis.ProcessHook {
	return func(ctx context.Context, cmd goredis.Cmder) error {
		if n := cmd.Name(); n == "evalsha" || n == "eval" {
			g.scripts.Add(1)
			g.once.Do(func() { close(g.held); <-g.release })
		}
		return next(ctx, cmd)
	}
}

func (g *scriptGate) ProcessPipelineHook(next goredis.ProcessPipelineHook) goredis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []goredis.Cmder) error {
		for _, c := range cmds {
			if n := c.Name(); n == "evalsha" || n == "eval" {
				g.scripts.Add(1)
			}
		}
		return next(ctx, cmds)
	}
}

// TestPutsWaitingTogetherShareOneScript: the documents of messages
// indexed while a flush is under way are written together by the next
// one (one script, not one each, on a standalone Redis), every one is
// found right after its Put returns, and a redelivery in the same batch
// is indexed once.
func TestPutsWaitingTogetherShareOneScript(t *testing.T) {
	c, prefix := testenv.Redis(t)
	g := &scriptGate{held: make(chan struct{}), release: make(chan struct{})}
	c.AddHook(g)
	ix := redis.New(c, prefix)
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	doc := func(i int) search.Doc {
		return search.Doc{ID: fmt.Sprintf("m%d", i), CustomerID: fmt.Sprintf("c%d", i%40), ConversationID: fmt.Sprintf("v%d", i%40), Channel: "sms",
			At: t0.Add(time.Duration(i) * time.Second), Text: fmt.Sprintf("parcel tracking %d", 1000+i), Name: "Anna Virtanen"}
	}
	ctx := context.Background()
	var wg sync.WaitGroup
	put := func(d search.Doc) {
		defer wg.Done()
		if err := ix.Put(ctx, d); err != nil {
			t.Error(err)
		}
	}
	wg.Add(1)
	go put(doc(0))
	<-g.held // the first flush is on its way; the rest queue behind it
	const n = 64
	for i := 1; i < n; i++ {
		wg.Add(1)
		go put(doc(i))
	}
	wg.Add(1)
	go put(doc(7)) // a redelivery
	for ix.Pending() < n {
		time.Sleep(time.Millisecond)
	}
	close(g.release)
	wg.Wait()
	// First flush: one document; then the 63 in one script and the
	// redelivery in the next (a script never sees an id twice). Loading
	// the script on first use may add an EVAL after a NOSCRIPT EVALSHA.
	if s := g.scripts.Load(); s > 5 {
		t.Errorf("%d scripts for %d documents; want at most 5", s, n+1)
	}
	docs, err := ix.Candidates(ctx, []string{"parcel", "tracking"}, time.Time{}, time.Time{}, 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(docs) != n {
		t.Fatalf("%d documents found, want %d", len(docs), n)
	}
	docs, err = ix.Candidates(ctx, []string{"1037"}, time.Time{}, time.Time{}, 100)
	if err != nil || len(docs) != 1 || docs[0].ID != "m37" || docs[0].Name != "Anna Virtanen" {
		t.Fatalf("one message's own word: %+v %v", docs, err)
	}
}

// TestIndexOfAnOlderVersion: on a standalone server new documents all go
// to one shard, while an older version wrote each customer's to their
// own; its documents are still found, a redelivery of one is not indexed
// twice, a new version replaces it, and erasure removes them.
func TestIndexOfAnOlderVersion(t *testing.T) {
	c, prefix := testenv.Redis(t)
	ix := redis.New(c, prefix)
	ctx := context.Background()
	cust := "c-old"
	for i := 0; redis.ShardOf(cust) == 0; i++ {
		cust = fmt.Sprintf("c-old%d", i)
	}
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	d1 := search.Doc{ID: "old1", CustomerID: cust, ConversationID: "v-old", Channel: "sms", At: t0, Text: "my parcel is late", Name: "Olli Vanha"}
	d2 := search.Doc{ID: "old2", CustomerID: cust, ConversationID: "v-old", Channel: "sms", At: t0.Add(time.Minute), Text: "still no parcel"}
	for _, d := range []search.Doc{d1, d2} {
		if err := ix.PutAsOlderVersion(ctx, d); err != nil {
			t.Fatal(err)
		}
	}
	d3 := search.Doc{ID: "new1", CustomerID: cust, ConversationID: "v-old", Channel: "sms", At: t0.Add(2 * time.Minute), Text: "parcel arrived, thanks"}
	if err := ix.Put(ctx, d3); err != nil {
		t.Fatal(err)
	}
	found := func(terms ...string) []string {
		t.Helper()
		docs, err := ix.Candidates(ctx, terms, time.Time{}, time.Time{}, 100)
		if err != nil {
			t.Fatal(err)
		}
		var ids []string
		for _, d := range docs {
			ids = append(ids, d.ID)
		}
		return ids
	}
	if got := fmt.Sprint(found("parcel")); got != "[new1 old2 old1]" {
		t.Fatalf("parcel: %s", got)
	}
	if err := ix.Put(ctx, d1); err != nil { // a redelivery after the upgrade
		t.Fatal(err)
	}
	if got := fmt.Sprint(found("parcel")); got != "[new1 old2 old1]" {
		t.Fatalf("after a redelivery: %s", got)
	}
	d1.Text = "my box is late"
	if err := ix.Put(ctx, d1); err != nil { // a new version
		t.Fatal(err)
	}
	if got := fmt.Sprint(found("parcel"), found("box")); got != "[new1 old2] [old1]" {
		t.Fatalf("after a new version: %s", got)
	}
	if err := ix.RemoveConversation(ctx, cust, "v-old"); err != nil {
		t.Fatal(err)
	}
	if got := fmt.Sprint(found("parcel"), found("box"), found("olli")); got != "[] [] []" {
		t.Fatalf("after erasure: %s", got)
	}
}

// TestWalkWithinAWindow: two words whose rarest set is too large for
// ZINTER are matched by walking it newest first, within [from, to).
func TestWalkWithinAWindow(t *testing.T) {
	c, prefix := testenv.Redis(t)
	ix := redis.New(c, prefix)
	ix.ScanCap = 20 // the rarest set (100) is over a quarter of the cap: walk
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	var want []string
	for i := 0; i < 300; i++ {
		text := "alpha"
		if i%3 == 0 {
			text += " beta"
		}
		if err := ix.Put(ctx, search.Doc{ID: fmt.Sprintf("d%03d", i), CustomerID: fmt.Sprintf("c%d", i%7), Channel: "sms", At: t0.Add(time.Duration(i) * time.Second), Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	for i := 199; i >= 50; i-- {
		if i%3 == 0 {
			want = append(want, fmt.Sprintf("d%03d", i))
		}
	}
	docs, err := ix.Candidates(ctx, []string{"alpha", "beta"}, t0.Add(50*time.Second), t0.Add(200*time.Second), 500)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, d := range docs {
		got = append(got, d.ID)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("got %v\nwant %v", got, want)
	}
}

// TestWordsThatSeldomMeet: two large sets meeting once, in their oldest
// document: the walk gives up after a few times the window and the
// shard intersects the sets instead; words that meet often are found by
// the walk.
func TestWordsThatSeldomMeet(t *testing.T) {
	c, prefix := testenv.Redis(t)
	ix := redis.New(c, prefix)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
	for i := 0; i < 300; i++ {
		text := "often odd"
		if i%2 == 0 {
			text = "often even"
		}
		if i == 0 {
			text += " odd"
		}
		if err := ix.Put(ctx, search.Doc{ID: fmt.Sprintf("d%03d", i), CustomerID: fmt.Sprintf("c%d", i%7), Channel: "sms", At: t0.Add(time.Duration(i) * time.Second), Text: text}); err != nil {
			t.Fatal(err)
		}
	}
	ids := func(terms ...string) string {
		docs, err := ix.Candidates(ctx, terms, time.Time{}, time.Time{}, 5)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for _, d := range docs {
			got = append(got, d.ID)
		}
		return fmt.Sprint(got)
	}
	if got := ids("even", "odd"); got != "[d000]" {
		t.Errorf("even odd: %s", got)
	}
	if got := ids("often", "odd"); got != "[d299 d297 d295 d293 d291]" {
		t.Errorf("often odd: %s", got)
	}
}

// TestPutLaterGroupsAWindow: documents queued with PutLater (the router's
// workers) wait for the window and are written by one script together; a
// search in the same process finds them without waiting for the window
// (it writes what is queued first), an erasure right after removes them
// for good (a queued document is not written after the removal), and each
// one's wait returns once it is written. On a Cluster one script per
// shard.
func TestPutLaterGroupsAWindow(t *testing.T) {
	for _, cluster := range []bool{false, true} {
		t.Run(map[bool]string{false: "standalone", true: "cluster"}[cluster], func(t *testing.T) {
			var c goredis.UniversalClient
			var prefix string
			if cluster {
				c, prefix = testenv.RedisCluster(t)
			} else {
				c, prefix = testenv.Redis(t)
			}
			g := &scriptGate{held: make(chan struct{}), release: make(chan struct{})}
			close(g.release) // count only
			c.AddHook(g)
			ix := redis.New(c, prefix)
			ix.Window = time.Hour // only a search, a removal or a full batch flushes
			t0 := time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC)
			ctx := context.Background()
			const n = 40
			var waits []func(context.Context) error
			for i := 0; i < n; i++ {
				w, err := ix.PutLater(search.Doc{ID: fmt.Sprintf("m%d", i), CustomerID: fmt.Sprintf("c%d", i%2), ConversationID: fmt.Sprintf("v%d", i%2), Channel: "sms",
					At: t0.Add(time.Duration(i) * time.Second), Text: fmt.Sprintf("pelican order %d", i)})
				if err != nil {
					t.Fatal(err)
				}
				waits = append(waits, w)
			}
			time.Sleep(20 * time.Millisecond)
			if s := g.scripts.Load(); s != 0 || ix.Pending() != n {
				t.Fatalf("%d scripts, %d pending before the window ended; want 0 and %d", s, ix.Pending(), n)
			}
			docs, err := ix.Candidates(ctx, []string{"pelican"}, time.Time{}, time.Time{}, 100)
			if err != nil {
				t.Fatal(err)
			}
			if len(docs) != n {
				t.Fatalf("a search right after PutLater found %d of %d", len(docs), n)
			}
			// One put script per shard written (one on a standalone
			// server, the two customers' on a Cluster), then the search's
			// own (one per shard), each maybe again as an EVAL after
			// NOSCRIPT on a node's first use: far below one per document.
			if s := g.scripts.Load(); s > 2*(2+redis.Shards) {
				t.Errorf("%d scripts for %d documents and a search", s, n)
			}
			for _, w := range waits {
				if err := w(ctx); err != nil {
					t.Fatal(err)
				}
			}
			// Queued, then the conversation erased: the removal writes the
			// queued documents first, and removes them with the rest.
			for i := n; i < n+10; i++ {
				if _, err := ix.PutLater(search.Doc{ID: fmt.Sprintf("m%d", i), CustomerID: "c0", ConversationID: "v0", Channel: "sms",
					At: t0.Add(time.Duration(i) * time.Second), Text: fmt.Sprintf("pelican order %d", i)}); err != nil {
					t.Fatal(err)
				}
			}
			if err := ix.RemoveConversation(ctx, "c0", "v0"); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			docs, err = ix.Candidates(ctx, []string{"pelican"}, time.Time{}, time.Time{}, 100)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range docs {
				if d.ConversationID == "v0" {
					t.Fatalf("%s of the erased conversation found", d.ID)
				}
			}
			if len(docs) != n/2 {
				t.Fatalf("%d found after the erasure, want %d", len(docs), n/2)
			}
		})
	}
}

// TestPutLaterFlushesAfterTheWindow: a queued document is written once
// the window has passed, with nobody searching.
func TestPutLaterFlushesAfterTheWindow(t *testing.T) {
	c, prefix := testenv.Redis(t)
	ix := redis.New(c, prefix)
	ix.Window = 30 * time.Millisecond
	start := time.Now()
	w, err := ix.PutLater(search.Doc{ID: "late1", CustomerID: "c1", ConversationID: "v1", Channel: "sms", At: start, Text: "heron"})
	if err != nil {
		t.Fatal(err)
	}
	if err := w(context.Background()); err != nil {
		t.Fatal(err)
	}
	if d := time.Since(start); d < ix.Window {
		t.Fatalf("written after %s, before the window", d)
	}
	// Read straight from Redis (Candidates would flush first).
	if n, err := c.Exists(context.Background(), prefix+":{search:0}:d:late1").Result(); err != nil || n != 1 {
		t.Fatalf("document not written: %d %v", n, err)
	}
}

// Documents are stored compactly (not as json.Marshal of search.Doc), and
// found whole, next to documents an older version stored.
func TestDocumentsStoredCompactly(t *testing.T) {
	c, prefix := testenv.Redis(t)
	ix := redis.New(c, prefix)
	ctx := context.Background()
	t0 := time.Date(2026, 3, 2, 9, 0, 0, 123456789, time.UTC)
	d1 := search.Doc{ID: "m_new", CustomerID: "c-1", ConversationID: "v-1", Channel: "api", Kind: "message", Direction: "in", At: t0,
		Text: "where is my parcel", Name: "Anna", Identities: []connectors.Identity{{Type: "email", Value: "anna@example.com", Verified: true}}}
	d2 := d1
	d2.ID, d2.At, d2.Subject = "m_old", t0.Add(-time.Minute), "parcel"
	if err := ix.Put(ctx, d1); err != nil {
		t.Fatal(err)
	}
	if err := ix.PutAsOlderVersion(ctx, d2); err != nil {
		t.Fatal(err)
	}
	raw, err := c.Get(ctx, prefix+":{search:0}:d:m_new").Result()
	if err != nil || strings.HasPrefix(raw, `{"id":"`) || strings.Contains(raw, "m_new") {
		t.Fatalf("stored as %q, %v", raw, err)
	}
	docs, err := ix.Candidates(ctx, []string{"parcel"}, time.Time{}, time.Time{}, 10)
	if err != nil || len(docs) != 2 {
		t.Fatalf("%+v, %v", docs, err)
	}
	for i, want := range []search.Doc{d1, d2} {
		if !reflect.DeepEqual(docs[i], want) {
			t.Errorf("read %+v\nwant %+v", docs[i], want)
		}
	}
}

// With LegacyDocuments the index writes documents as older hubs did
// (json.Marshal of search.Doc), which they read during a rolling upgrade
// or after a rollback; an index without it finds them as before.
func TestLegacyDocumentsOption(t *testing.T) {
	c, prefix := testenv.Redis(t)
	old := redis.New(c, prefix)
	old.LegacyDocuments = true
	ctx := context.Background()
	d := search.Doc{ID: "m_leg", CustomerID: "c-1", ConversationID: "v-1", Channel: "api", Kind: "message", Direction: "in",
		At: time.Date(2026, 3, 2, 9, 0, 0, 0, time.UTC), Text: "legacy parcel"}
	if err := old.Put(ctx, d); err != nil {
		t.Fatal(err)
	}
	raw, err := c.Get(ctx, prefix+":{search:0}:d:m_leg").Result()
	if err != nil || !strings.HasPrefix(raw, `{"id":"m_leg"`) {
		t.Fatalf("stored as %q, %v; want json.Marshal of search.Doc", raw, err)
	}
	docs, err := redis.New(c, prefix).Candidates(ctx, []string{"parcel"}, time.Time{}, time.Time{}, 10)
	if err != nil || len(docs) != 1 || !reflect.DeepEqual(docs[0], d) {
		t.Fatalf("found %+v, %v", docs, err)
	}
}
