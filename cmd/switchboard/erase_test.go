package main_test

import (
	"bytes"
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	goredis "github.com/redis/go-redis/v9"
	bolt "go.etcd.io/bbolt"

	"github.com/switchboard-hub/switchboard/internal/testenv"
)

// TestErasure is DESIGN invariant 7: after `customers erase`, no key or
// record of the backend holds the person's identities or messages — also
// not through a merge, a suggestion or the audit log.
func TestErasure(t *testing.T) {
	secrets := []string{"erin@example.com", "+358409998877", "my secret order 4711", "another private note", "claimed by someone"}
	scenario := func(t *testing.T, p *proc) {
		p.post(t, "crm", map[string]any{"external_id": "x1", "sender": map[string]string{"email": "erin@example.com", "name": "Erin"}, "text": "my secret order 4711"})
		waitFor(t, "first message", 10*time.Second, func() bool { _, c := p.find(t, "email:erin@example.com"); return c == 200 })
		p.post(t, "crm", map[string]any{"external_id": "x2", "sender": map[string]string{"phone": "+358409998877"}, "text": "another private note"})
		waitFor(t, "second message", 10*time.Second, func() bool { _, c := p.find(t, "phone:+358409998877"); return c == 200 })
		p.post(t, "crm", map[string]any{"external_id": "x3", "sender": map[string]string{"email": "erin@example.com", "phone": "+358409998877"}, "text": "link"})
		p.post(t, "partner", map[string]any{"external_id": "x4", "sender": map[string]string{"email": "erin@example.com"}, "text": "claimed by someone"})
		var c customer
		waitFor(t, "merged timeline", 10*time.Second, func() bool {
			var code int
			c, code = p.find(t, "phone:+358409998877")
			return code == 200 && len(c.MergedFrom) == 1 && len(p.timeline(t, c.ID)) == 3
		})
		var sugg struct{ Suggestions []struct{ Loser string } }
		waitFor(t, "suggestion", 10*time.Second, func() bool {
			call(t, "GET", p.base+"/api/v1/suggestions", adminToken, nil, &sugg)
			return len(sugg.Suggestions) == 1
		})
		// A reply and a note, so outbound entries exist too.
		var convs struct{ Conversations []struct{ ID string } }
		call(t, "GET", p.base+"/api/v1/conversations?status=open", adminToken, nil, &convs)
		if len(convs.Conversations) > 0 {
			call(t, "POST", p.base+"/api/v1/conversations/"+convs.Conversations[0].ID+"/notes", adminToken, map[string]string{"text": "note about erin@example.com"}, nil)
		}
		if code := call(t, "DELETE", p.base+"/api/v1/customers/"+c.ID, agentToken, nil, nil); code != 403 {
			t.Fatalf("agent erasing: %d, want 403", code)
		}
		for _, id := range []string{c.ID, sugg.Suggestions[0].Loser} {
			out, err := exec.Command(binary(t), "customers", "erase", id, "--url", p.base, "--token", adminToken).CombinedOutput()
			if err != nil {
				t.Fatalf("customers erase %s: %v\n%s", id, err, out)
			}
		}
		for _, key := range []string{"email:erin@example.com", "phone:+358409998877"} {
			if _, code := p.find(t, key); code != 404 {
				t.Fatalf("%s still found after erasure (%d)", key, code)
			}
		}
		if code := call(t, "GET", p.base+"/api/v1/customers/"+c.ID+"/timeline", adminToken, nil, nil); code != 404 {
			t.Fatalf("timeline after erasure: %d", code)
		}
	}
	check := func(t *testing.T, where string, blob []byte) {
		t.Helper()
		for _, s := range secrets {
			if bytes.Contains(bytes.ToLower(blob), []byte(strings.ToLower(s))) {
				t.Errorf("%s still holds %q after erasure", where, s)
			}
		}
	}

	t.Run("redis", func(t *testing.T) {
		c, prefix := testenv.Redis(t)
		sc := fmt.Sprintf("store:\n  blobs_path: %s\n  redis:\n    addrs: [%s]\n    prefix: %s\n", filepath.Join(t.TempDir(), "blobs"), testenv.RedisAddr(), prefix)
		p := start(t, writeConfig(t, sc, ""), freeAddr(t))
		scenario(t, p)
		p.kill() // nothing in flight may write afterwards
		ctx := context.Background()
		iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
		n := 0
		for iter.Next(ctx) {
			k := iter.Val()
			n++
			check(t, "key "+k, []byte(k))
			check(t, "key "+k, dumpRedis(ctx, c, k))
		}
		if n == 0 {
			t.Fatal("scanned no keys: the check would prove nothing")
		}
	})
	t.Run("embedded", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "data")
		p := start(t, writeConfig(t, fmt.Sprintf("store:\n  embedded:\n    path: %s\n", dir), ""), freeAddr(t))
		scenario(t, p)
		p.kill() // releases the file lock
		db, err := bolt.Open(filepath.Join(dir, "switchboard.db"), 0o600, &bolt.Options{ReadOnly: true, Timeout: 5 * time.Second})
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		n := 0
		err = db.View(func(tx *bolt.Tx) error {
			var walk func(name string, b *bolt.Bucket) error
			walk = func(name string, b *bolt.Bucket) error {
				return b.ForEach(func(k, v []byte) error {
					n++
					if v == nil {
						return walk(name+"/"+string(k), b.Bucket(k))
					}
					check(t, "record "+name+"/"+string(k), append(append([]byte{}, k...), v...))
					return nil
				})
			}
			return tx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(string(name), b) })
		})
		if err != nil {
			t.Fatal(err)
		}
		if n == 0 {
			t.Fatal("walked no records: the check would prove nothing")
		}
	})
}

// dumpRedis returns every value stored under key, whatever its type.
func dumpRedis(ctx context.Context, c goredis.UniversalClient, k string) []byte {
	var b bytes.Buffer
	switch c.Type(ctx, k).Val() {
	case "string":
		b.WriteString(c.Get(ctx, k).Val())
	case "hash":
		for f, v := range c.HGetAll(ctx, k).Val() {
			b.WriteString(f + "=" + v + "\n")
		}
	case "zset":
		for _, m := range c.ZRange(ctx, k, 0, -1).Val() {
			b.WriteString(m + "\n")
		}
	case "set":
		for _, m := range c.SMembers(ctx, k).Val() {
			b.WriteString(m + "\n")
		}
	case "list":
		for _, m := range c.LRange(ctx, k, 0, -1).Val() {
			b.WriteString(m + "\n")
		}
	case "stream":
		for _, m := range c.XRange(ctx, k, "-", "+").Val() {
			fmt.Fprint(&b, m.Values, "\n")
		}
	}
	return b.Bytes()
}
