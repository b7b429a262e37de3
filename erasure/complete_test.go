package erasure_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/erasure"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs"
	"github.com/switchboard-hub/switchboard/store/embedded"
	sbredis "github.com/switchboard-hub/switchboard/store/redis"
	"github.com/switchboard-hub/switchboard/timeline"
)

// backend is a store with a way to read every byte it holds.
type backend struct {
	st   store.Store
	dump func(t *testing.T) []byte
}

func backends(t *testing.T, f func(t *testing.T, b backend)) {
	t.Run("embedded", func(t *testing.T) {
		dir := t.TempDir()
		st, err := embedded.Open(dir, embedded.Options{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { st.Close() })
		f(t, backend{st: st, dump: func(t *testing.T) []byte {
			var all []byte
			entries, _ := os.ReadDir(dir)
			for _, e := range entries {
				if e.Type().IsRegular() {
					b, err := os.ReadFile(filepath.Join(dir, e.Name()))
					if err != nil {
						t.Fatal(err)
					}
					all = append(all, b...)
				}
			}
			return withBase64Decoded(all)
		}})
	})
	t.Run("redis", func(t *testing.T) {
		c, prefix := testenv.Redis(t)
		st := sbredis.New(c, sbredis.Options{Prefix: prefix})
		t.Cleanup(func() { st.Close() })
		f(t, backend{st: st, dump: func(t *testing.T) []byte { return dumpRedis(t, c, prefix) }})
	})
}

// dumpRedis returns every key under prefix and its whole value, whatever
// its type (a full SCAN).
func dumpRedis(t *testing.T, c goredis.UniversalClient, prefix string) []byte {
	ctx := context.Background()
	var out bytes.Buffer
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	n := 0
	for iter.Next(ctx) {
		k := iter.Val()
		n++
		fmt.Fprintf(&out, "%s\n", k)
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var v any
		switch typ {
		case "string":
			v, err = c.Get(ctx, k).Result()
		case "hash":
			v, err = c.HGetAll(ctx, k).Result()
		case "set":
			v, err = c.SMembers(ctx, k).Result()
		case "zset":
			v, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
		case "list":
			v, err = c.LRange(ctx, k, 0, -1).Result()
		case "stream":
			v, err = c.XRange(ctx, k, "-", "+").Result()
		default:
			t.Fatalf("key %s has type %s, which the scan cannot read", k, typ)
		}
		if err != nil && !errors.Is(err, goredis.Nil) {
			t.Fatal(err)
		}
		fmt.Fprintf(&out, "%v\n", v)
	}
	if err := iter.Err(); err != nil {
		t.Fatal(err)
	}
	if n == 0 {
		t.Fatal("the scan found no keys at all")
	}
	return out.Bytes()
}

// base64Run is a JSON string that may be base64: how the embedded store's
// JSON records hold []byte fields (a queue item's or a dead letter's
// payload, a quarantined message).
var base64Run = regexp.MustCompile(`"([A-Za-z0-9+/]{8,}={0,2})"`)

// withBase64Decoded appends to raw the decoded bytes of every base64 JSON
// string in it, so that a scan for text also finds it where it is stored
// encoded.
func withBase64Decoded(raw []byte) []byte {
	out := append([]byte(nil), raw...)
	for _, m := range base64Run.FindAllSubmatch(raw, -1) {
		if b, err := base64.StdEncoding.DecodeString(string(m[1])); err == nil {
			out = append(append(out, '\n'), b...)
		}
	}
	return out
}

func dumpDir(t *testing.T, dir string) []byte {
	var all []byte
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.Type().IsRegular() {
			b, err := os.ReadFile(p)
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, b...)
			all = append(all, []byte(p)...)
		}
		return nil
	})
	return all
}

var erasureChannels = []directory.Channel{{Name: "sms", Type: "sms", Phase: store.PhaseLive, Trusted: true}}

// After an erasure nothing of the person is readable anywhere the hub
// keeps data: a full scan of Redis keys and values, the raw embedded file,
// the blob directory. The other customer's shared attachment stays and
// their timeline is whole; counters survive; a replay of the erased
// person's message is dropped, and a new message of theirs makes a new
// customer.
func TestErasureLeavesNothing(t *testing.T) {
	backends(t, func(t *testing.T, b backend) {
		ctx := context.Background()
		st := b.st
		blobDir := t.TempDir()
		bl, err := blobs.Open(blobDir)
		if err != nil {
			t.Fatal(err)
		}
		dir := directory.New(st, erasureChannels, store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{})
		in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
		t0 := time.Date(2026, 2, 1, 8, 0, 0, 0, time.UTC)
		n := 0
		send := func(provider, name, text string, atts []connectors.Attachment, ids ...connectors.Identity) connectors.Message {
			n++
			m, err := in.Prepare(connectors.Message{Channel: "sms", ProviderID: provider, Text: text, SenderName: name,
				Identities: ids, Attachments: atts, OccurredAt: t0.Add(time.Duration(n) * time.Minute)})
			if err != nil {
				t.Fatal(err)
			}
			if err := rt.Process(ctx, m); err != nil {
				t.Fatal(err)
			}
			return m
		}
		put := func(content string) connectors.Attachment {
			sum, size, err := bl.Put(ctx, strings.NewReader(content), 1<<20)
			if err != nil {
				t.Fatal(err)
			}
			return connectors.Attachment{Name: "file.txt", ContentType: "text/plain", Size: size, SHA256: sum}
		}
		erinPhone := connectors.Identity{Type: connectors.Phone, Value: "+358409998877", Verified: true}
		erinMail := connectors.Identity{Type: connectors.Email, Value: "erin.eraseme@example.com", Verified: true}
		bobPhone := connectors.Identity{Type: connectors.Phone, Value: "+358401112223", Verified: true}
		shared := put("shared-file-content-9c1e")
		own := put("erin-private-file-bytes-77aa")
		first := send("SMerinprovider0001", "Erin Eraseme", "erin-secret-text-one", []connectors.Attachment{shared, own}, erinPhone)
		send("SMerinprovider0002", "Erin Eraseme", "erin-secret-text-two", nil, erinMail)
		send("SMbobprovider0001", "Bob Keeper", "bob-text-stays", []connectors.Attachment{shared}, bobPhone)
		bErin, _ := st.LookupIdentity(ctx, erinPhone.Type, erinPhone.Value)
		bMail, _ := st.LookupIdentity(ctx, erinMail.Type, erinMail.Value)
		res := rt.Resolver()
		if _, _, err := res.Merge(ctx, bErin.CustomerID, bMail.CustomerID, "alice", "same person: erin.eraseme@example.com", ""); err != nil {
			t.Fatal(err)
		}
		if err := st.PutConsent(ctx, store.Consent{CustomerID: bErin.CustomerID, Channel: "sms", Purpose: "marketing", Granted: true, Text: "Erin Eraseme agrees", At: t0}); err != nil {
			t.Fatal(err)
		}
		if _, err := st.Incr(ctx, "stats:sms:2026-02-01", 3); err != nil {
			t.Fatal(err)
		}
		before, _ := st.GetCounters(ctx, "stats:")

		// Erin's messages that are on no timeline: one that failed until
		// it was dead-lettered, one quarantined as the web form wrote her
		// identities (not yet normalised), and her reply that could not be
		// sent. Bob's dead letter and quarantined message stay.
		convs := timeline.NewService(st, timeline.Options{})
		parked := parkMessages(t, st, in, dir, convs, bErin.CustomerID,
			connectors.Message{Channel: "sms", ProviderID: "SMerinprovider0009", Text: "erin-dead-letter-text", SenderName: "Erin Eraseme",
				Identities: []connectors.Identity{erinPhone}, OccurredAt: t0.Add(time.Hour)},
			connectors.Message{Channel: "sms", ProviderID: "SMerinprovider0010", Text: "erin-quarantined-text", SenderName: "Erin Eraseme",
				Identities: []connectors.Identity{{Type: connectors.Phone, Value: "040 999 8877"}, {Type: connectors.Email, Value: "Erin.Eraseme@Example.COM"}}},
			"erin-reply-that-died",
			connectors.Message{Channel: "sms", ProviderID: "SMbobprovider0009", Text: "bob-dead-letter-stays", SenderName: "Bob Keeper",
				Identities: []connectors.Identity{bobPhone}, OccurredAt: t0.Add(time.Hour)},
			connectors.Message{Channel: "sms", ProviderID: "SMbobprovider0010", Text: "bob-quarantined-stays", SenderName: "Bob Keeper",
				Identities: []connectors.Identity{{Type: connectors.Phone, Value: "040 111 2223"}}})
		// And one she sent that is still in the ingest queue, not yet processed.
		if _, err := in.Deliver(ctx, connectors.Message{Channel: "sms", ProviderID: "SMerinprovider0011", Text: "erin-queued-text",
			SenderName: "Erin Eraseme", Identities: []connectors.Identity{erinPhone}, OccurredAt: t0.Add(2 * time.Hour)}); err != nil {
			t.Fatal(err)
		}
		var queued connectors.Message // as a router holding it would have it
		if ds, err := st.PeekQueue(ctx, store.QueueIngest, 0); err != nil || len(ds) != 1 || json.Unmarshal(ds[0].Payload, &queued) != nil {
			t.Fatalf("the ingest queue before the erasure: %d items, %v; want her message", len(ds), err)
		}

		rep, err := erasure.Erase(ctx, st, bl, bMail.CustomerID, "admin", store.SystemClock, convs.Delete)
		if err != nil {
			t.Fatal(err)
		}
		if rep.Attachments != 1 || rep.SharedAttachments != 1 || rep.Tombstones != 2 || len(rep.Customers) != 2 || rep.DeadLetters != 2 || rep.Quarantined != 1 || rep.Queued != 1 {
			t.Fatalf("report %+v: want 1 attachment deleted, 1 shared kept, 2 tombstones, 2 customer records, 2 dead letters (her message and her reply), 1 quarantined, 1 queued", rep)
		}
		// Her queued message is gone from the queue; a router that held it
		// during the erasure drops it and does not bring her back.
		if ds, err := st.Read(ctx, store.QueueIngest, "router", 10, 0); err != nil || len(ds) != 0 {
			t.Fatalf("the ingest queue after the erasure: %d items, %v; want none", len(ds), err)
		}
		if err := rt.Process(ctx, queued); err != nil {
			t.Fatal(err)
		}
		if _, err := st.LookupIdentity(ctx, erinPhone.Type, erinPhone.Value); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("her message queued before the erasure brought her back: %v", err)
		}

		needles := []string{"+358409998877", "358409998877", "999 8877", "erin.eraseme", "Erin.Eraseme", "Erin Eraseme", "erin-secret-text",
			"erin-private-file-bytes", "SMerinprovider", own.SHA256, "erin-dead-letter-text", "erin-quarantined-text", "erin-reply-that-died", parked.replyID, "erin-queued-text"}
		for where, raw := range map[string][]byte{"store": b.dump(t), "blob directory": dumpDir(t, blobDir)} {
			for _, n := range needles {
				if bytes.Contains(raw, []byte(n)) {
					i := bytes.Index(raw, []byte(n))
					t.Errorf("the %s still holds %q: …%q…", where, n, raw[max(0, i-80):min(len(raw), i+80)])
				}
			}
		}
		// Not among the needles: the opaque customer ids, which the audit
		// and the merge records keep on purpose (who did what to which
		// record, with no content).

		// Bob keeps his shared attachment and his timeline.
		r, err := bl.Get(ctx, shared.SHA256)
		if err != nil {
			t.Fatalf("the shared attachment went with the erased customer: %v", err)
		}
		got, _ := io.ReadAll(r)
		r.Close()
		if string(got) != "shared-file-content-9c1e" {
			t.Fatalf("shared attachment reads %q", got)
		}
		if n, _ := st.BlobRefCount(ctx, shared.SHA256); n != 1 {
			t.Fatalf("shared attachment has %d references, want Bob's 1", n)
		}
		bBob, err := st.LookupIdentity(ctx, bobPhone.Type, bobPhone.Value)
		if err != nil {
			t.Fatal(err)
		}
		if es, _ := st.PageEntries(ctx, bBob.CustomerID, "", 10); len(es) != 1 || es[0].Text != "bob-text-stays" {
			t.Fatalf("Bob's timeline after Erin's erasure: %+v", es)
		}
		// Bob's parked messages are not Erin's: they stay.
		if dls, _ := st.DeadLetters(ctx, store.QueueIngest, 0); len(dls) != 1 || !bytes.Contains(dls[0].Payload, []byte("bob-dead-letter-stays")) {
			t.Fatalf("ingest dead letters after Erin's erasure: %d, want Bob's one", len(dls))
		}
		if dls, _ := st.DeadLetters(ctx, store.QueueOutbound, 0); len(dls) != 0 {
			t.Fatalf("outbound dead letters after Erin's erasure: %d, want none", len(dls))
		}
		if qs, _ := st.ListQuarantine(ctx, "", 10); len(qs) != 1 || !bytes.Contains(qs[0].Payload, []byte("bob-quarantined-stays")) {
			t.Fatalf("quarantine after Erin's erasure: %d items, want Bob's one", len(qs))
		}
		if after, _ := st.GetCounters(ctx, "stats:"); fmt.Sprint(after) != fmt.Sprint(before) {
			t.Fatalf("aggregate counters changed by the erasure: %v, were %v", after, before)
		}

		// The provider replays Erin's first message: dropped.
		if err := rt.Process(ctx, first); err != nil {
			t.Fatal(err)
		}
		if _, err := st.LookupIdentity(ctx, erinPhone.Type, erinPhone.Value); !errors.Is(err, store.ErrNotFound) {
			t.Fatalf("a replayed message brought the erased person back: %v", err)
		}
		// A new message from her makes a new customer.
		send("SMerinprovider0003", "Erin", "hello again", nil, erinPhone)
		nb, err := st.LookupIdentity(ctx, erinPhone.Type, erinPhone.Value)
		if err != nil || nb.CustomerID == bErin.CustomerID {
			t.Fatalf("a new message: binding %+v (%v), want a new customer", nb, err)
		}
	})
}

// Erasure is refused while the person is under a legal hold.
func TestErasureRefusedUnderHold(t *testing.T) {
	p := newPerson(t)
	ctx := context.Background()
	if _, err := p.st.UpdateCustomer(ctx, p.ids[1], func(c *store.Customer) error {
		c.Hold = &store.Hold{By: "legal", At: time.Now()}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := erasure.Erase(ctx, p.st, p.blobs, p.ids[0], "admin", store.SystemClock, p.convs.Delete); !errors.Is(err, erasure.ErrHeld) {
		t.Fatalf("erase under hold: %v, want %v", err, erasure.ErrHeld)
	}
	if _, err := p.st.GetCustomer(ctx, p.ids[0]); err != nil {
		t.Fatalf("held customer after a refused erasure: %v", err)
	}
}

// parkedMessages says what parkMessages left outside the timelines.
type parkedMessages struct {
	replyID string // the entry id of the reply whose outbound item died
}

// parkMessages puts messages where they wait outside any timeline, the
// way the hub does: deadErin and deadBob are delivered to the ingest queue
// (connectors.Sink) and fail until dead-lettered (the router's final
// Retry); quarErin and quarBob are quarantined (connectors.Quarantiner) as
// the channel built them; reply is an agent's reply in the customer's
// conversation whose sending fails until dead-lettered.
func parkMessages(t *testing.T, st store.Store, in *router.Ingest, dir *directory.Directory, convs *timeline.Service, customerID string,
	deadErin, quarErin connectors.Message, reply string, deadBob, quarBob connectors.Message) parkedMessages {
	t.Helper()
	ctx := context.Background()
	for _, m := range []connectors.Message{deadErin, deadBob} {
		if _, err := in.Deliver(ctx, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, m := range []connectors.Message{quarErin, quarBob} {
		if err := in.Quarantine(ctx, m, "honeypot"); err != nil {
			t.Fatal(err)
		}
	}
	cs, _, err := st.ListConversations(ctx, store.ConversationFilter{CustomerIDs: []string{customerID}, Limit: 10})
	if err != nil || len(cs) == 0 {
		t.Fatalf("the customer's conversations: %d, %v", len(cs), err)
	}
	out := router.NewOutbound(st, dir, store.SystemClock, nil, nil, convs)
	out.SetSender(cs[0].Channel, idleSender{}) // a channel with no Sender refuses replies
	e, err := out.Reply(ctx, cs[0].ID, "alice", "", reply)
	if err != nil {
		t.Fatal(err)
	}
	for queue, want := range map[string]int{store.QueueIngest: 2, store.QueueOutbound: 1} {
		ds, err := st.Read(ctx, queue, "worker", 10, time.Second)
		if err != nil || len(ds) != want {
			t.Fatalf("read %s: %d items, %v; want %d", queue, len(ds), err, want)
		}
		for _, d := range ds {
			d.Attempts = 1 << 20 // the last attempt, as the router's dead()
			if dead, err := st.Retry(ctx, queue, d, "provider said 500"); err != nil || !dead {
				t.Fatalf("dead-letter %s item: dead=%v, %v", queue, dead, err)
			}
		}
	}
	for queue, want := range map[string]int{store.QueueIngest: 2, store.QueueOutbound: 1} {
		if dls, err := st.DeadLetters(ctx, queue, 0); err != nil || len(dls) != want {
			t.Fatalf("dead letters of %s before the erasure: %d, %v; want %d", queue, len(dls), err, want)
		}
	}
	if qs, err := st.ListQuarantine(ctx, "", 10); err != nil || len(qs) != 2 {
		t.Fatalf("quarantine before the erasure: %d, %v; want 2", len(qs), err)
	}
	return parkedMessages{replyID: e.ID}
}

// idleSender is a Sender that is never reached here (the reply is
// dead-lettered from the queue, not sent).
type idleSender struct{}

func (idleSender) Send(context.Context, connectors.Outgoing) (connectors.SendResult, error) {
	return connectors.SendResult{}, nil
}
