package main_test

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/internal/testenv"
)

// TestServeThroughRedisSentinel: pointed at a Sentinel with a master name
// (store.redis.master_name), the hub finds the master through it and works
// as on a direct address: a message is accepted, lands on a timeline, and
// its records are in the master Sentinel named.
func TestServeThroughRedisSentinel(t *testing.T) {
	sentinel, master := testenv.RedisSentinel(t)
	rc, prefix := testenv.Redis(t) // the master the test Sentinel watches; cleans the prefix
	sc := fmt.Sprintf("store:\n  blobs_path: %s\n  redis:\n    addrs: [%s]\n    master_name: %s\n    prefix: %s\n",
		filepath.Join(t.TempDir(), "blobs"), sentinel, master, prefix)
	p := start(t, writeConfig(t, sc, ""), freeAddr(t))
	if code, id := p.post(t, "crm", map[string]any{"external_id": "s1", "sender": map[string]string{"email": "sam@example.com"}, "text": "via sentinel"}); code != 202 || id == "" {
		t.Fatalf("post: %d %q", code, id)
	}
	var c customer
	waitFor(t, "the message on a timeline", 10*time.Second, func() bool {
		var code int
		c, code = p.find(t, "email:sam@example.com")
		return code == 200 && len(p.timeline(t, c.ID)) == 1
	})
	keys, err := rc.Keys(context.Background(), prefix+":*").Result()
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) == 0 {
		t.Fatalf("no %s:* keys in the master at %s: the hub did not store through Sentinel's master", prefix, testenv.RedisAddr())
	}
}
