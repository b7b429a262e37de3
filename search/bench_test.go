package search_test

import (
	"context"
	"fmt"
	"math/rand"
	"os"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/search"
	"github.com/switchboard-hub/switchboard/search/bolt"
	sredis "github.com/switchboard-hub/switchboard/search/redis"
	"github.com/switchboard-hub/switchboard/store"
)

// benchDocs is the corpus size ($BENCH_SEARCH_DOCS, default 1,000,000).
func benchDocs() int {
	if n, err := strconv.Atoi(os.Getenv("BENCH_SEARCH_DOCS")); err == nil && n > 0 {
		return n
	}
	return 1_000_000
}

// corpus generates realistic varied messages: a vocabulary of 6,000
// words drawn with a Zipf law (as words in real text are: a few very
// common, most rare), support phrases, names, order numbers, phone
// numbers and emails; 100,000 customers over four channels, three
// conversations each.
type corpus struct {
	vocab      []string
	first      []string
	last       []string
	channels   []string
	start      time.Time
	customers  int
	zipfSource int64
}

func newCorpus() *corpus {
	r := rand.New(rand.NewSource(1))
	syll := []string{"ka", "lo", "mi", "ne", "ta", "ri", "su", "ve", "po", "an", "el", "or", "is", "un", "ha", "ju", "ko", "se", "li", "ma"}
	base := strings.Fields("invoice refund order delivery parcel password account login payment card subscription cancel address " +
		"change broken missing late wrong charged twice help please thanks hello problem issue error update price discount " +
		"contract renewal warranty return exchange size colour shipping tracking number email phone app crash slow")
	seen := map[string]bool{}
	vocab := append([]string(nil), base...)
	for _, w := range base {
		seen[w] = true
	}
	for len(vocab) < 6000 {
		n := 2 + r.Intn(3)
		var b strings.Builder
		for i := 0; i < n; i++ {
			b.WriteString(syll[r.Intn(len(syll))])
		}
		if w := b.String(); !seen[w] {
			seen[w] = true
			vocab = append(vocab, w)
		}
	}
	return &corpus{vocab: vocab,
		first:    strings.Fields("Anna Mikko Laura Juha Sari Timo Emma Ville Aino Pekka Olivia Liam Noah Mia Lucas Ella Leo Sofia Oscar Ida"),
		last:     strings.Fields("Virtanen Korhonen Nieminen Mäkinen Hämäläinen Laine Heikkinen Koskinen Järvinen Smith Jones Brown Taylor Wilson Stone Lee"),
		channels: []string{"sms", "mail", "chat", "web"}, start: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC), customers: 100_000}
}

func (c *corpus) customer(i int) (id, name string, ident connectors.Identity) {
	id = "cust" + strconv.Itoa(i)
	name = c.first[i%len(c.first)] + " " + c.last[(i/len(c.first))%len(c.last)]
	if i%2 == 0 {
		ident = connectors.Identity{Type: connectors.Phone, Value: fmt.Sprintf("+35840%07d", i)}
	} else {
		ident = connectors.Identity{Type: connectors.Email, Value: fmt.Sprintf("user%d@example.com", i)}
	}
	return
}

// entry is message i: deterministic, so a corpus can be rebuilt and
// queried alike.
func (c *corpus) entry(i int, r *rand.Rand, z *rand.Zipf) store.Entry {
	cust := i % c.customers
	id, name, ident := c.customer(cust)
	n := 8 + r.Intn(30)
	words := make([]string, 0, n+2)
	for j := 0; j < n; j++ {
		words = append(words, c.vocab[z.Uint64()])
	}
	if r.Intn(10) == 0 {
		words = append(words, "order", strconv.Itoa(100000+r.Intn(900000)))
	}
	e := store.Entry{ID: "m" + strconv.Itoa(i), CustomerID: id, ConversationID: id + "-" + strconv.Itoa(i%3), Channel: c.channels[cust%len(c.channels)],
		Kind: store.KindMessage, Text: strings.Join(words, " ") + ".", OccurredAt: c.start.Add(time.Duration(i) * 30 * time.Second)}
	if i%3 == 2 {
		e.Direction, e.Agent = connectors.Outbound, "agent"+strconv.Itoa(i%20)
	} else {
		e.Direction, e.SenderName, e.Sender = connectors.Inbound, name, &ident
	}
	return e
}

// build indexes docs [0, n) through search.Indexer.IndexEntry, as the
// timeline service does, from 64 goroutines (as router workers do).
func (c *corpus) build(b *testing.B, ix search.Index, n int) {
	ctx := context.Background()
	idx := search.Indexer{Index: ix}
	var next atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	workers := 64
	if _, ok := ix.(interface {
		PutMany(context.Context, []search.Doc) error
	}); ok {
		workers = 1 // one writer: bbolt commits one at a time anyway
	}
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			r := rand.New(rand.NewSource(int64(w)))
			z := rand.NewZipf(r, 1.1, 2, uint64(len(c.vocab)-1))
			bulk, _ := ix.(interface {
				PutMany(context.Context, []search.Doc) error
			})
			var batch []search.Doc
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					break
				}
				if bulk == nil {
					if err := idx.IndexEntry(ctx, c.entry(i, r, z)); err != nil {
						b.Error(err)
						return
					}
					continue
				}
				batch = append(batch, search.DocOf(c.entry(i, r, z)))
				if len(batch) == 2000 {
					if err := bulk.PutMany(ctx, batch); err != nil {
						b.Error(err)
						return
					}
					batch = batch[:0]
				}
			}
			if len(batch) > 0 {
				if err := bulk.PutMany(ctx, batch); err != nil {
					b.Error(err)
				}
			}
		}(w)
	}
	wg.Wait()
	b.Logf("indexed %d messages in %s (%.0f/s)", n, time.Since(start).Round(time.Second), float64(n)/time.Since(start).Seconds())
}

// queries are what agents type: a common word, a rare word, two words,
// a name, a phone number as typed, an email, and a word on one channel.
func (c *corpus) queries() []struct {
	name string
	q    search.Query
} {
	_, _, phone := c.customer(4242)
	_, _, mail := c.customer(4243)
	return []struct {
		name string
		q    search.Query
	}{
		{"common-word", search.Query{Text: "invoice"}},
		{"rare-word", search.Query{Text: c.vocab[5000]}},
		{"two-words", search.Query{Text: "refund parcel"}},
		{"name", search.Query{Text: "laura mäkinen"}},
		{"phone", search.Query{Text: "040 " + strings.TrimPrefix(phone.Value, "+35840")}},
		{"email", search.Query{Text: mail.Value}},
		{"word-on-channel", search.Query{Text: "password", Channel: "chat"}},
	}
}

type benchConvs struct{}

func (benchConvs) GetConversation(_ context.Context, id string) (store.Conversation, error) {
	return store.Conversation{ID: id, Status: store.StatusOpen, Audience: store.AudienceAll}, nil
}

func runQueries(b *testing.B, c *corpus, ix search.Index) {
	s := &search.Searcher{Index: ix, Conversations: benchConvs{}, Region: "FI"}
	for _, q := range c.queries() {
		q.q.Allow = func(cv store.Conversation) bool { return cv.Audience == store.AudienceAll }
		b.Run(q.name, func(b *testing.B) {
			var hits int
			for i := 0; i < b.N; i++ {
				r, err := s.Search(context.Background(), q.q)
				if err != nil {
					b.Fatal(err)
				}
				hits = len(r.Hits) + len(r.Customers)
			}
			if hits == 0 {
				b.Fatalf("%s found nothing", q.name)
			}
			b.ReportMetric(float64(hits), "hits")
		})
	}
}

// BenchmarkSearch1M: the search box's queries over a corpus of
// BENCH_SEARCH_DOCS messages (default 1,000,000) indexed through the
// indexing path, on both indexes. Each query must answer in under 100 ms.
// The bbolt corpus is built once into $BENCH_SEARCH_DIR when given (so
// later runs skip the build); the Redis one is built and deleted per run.
func BenchmarkSearch1M(b *testing.B) {
	c := newCorpus()
	n := benchDocs()
	b.Run("bolt", func(b *testing.B) {
		dir := os.Getenv("BENCH_SEARCH_DIR")
		if dir == "" {
			dir = b.TempDir()
		}
		_, statErr := os.Stat(dir + "/" + bolt.FileName)
		ix, err := bolt.Open(dir)
		if err != nil {
			b.Fatal(err)
		}
		defer ix.Close()
		if statErr != nil {
			c.build(b, ix, n)
		}
		runQueries(b, c, ix)
	})
	b.Run("redis", func(b *testing.B) {
		cl, prefix := testenv.Redis(b)
		ix := sredis.New(cl, prefix)
		c.build(b, ix, n)
		runQueries(b, c, ix)
	})
}
