package email

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
)

// appendMail stores raw in folder over IMAP, as a mail client or a
// server-side filter would.
func (d dovecot) appendMail(t *testing.T, user, folder string, raw []byte) {
	t.Helper()
	cl := d.client(t, user)
	cmd := cl.Append(folder, int64(len(raw)), nil)
	if _, err := cmd.Write(raw); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := cmd.Wait(); err != nil {
		t.Fatalf("append to %s: %v", folder, err)
	}
	cl.Close()
}

// TestTwoFoldersOwnCheckpoints: mail in INBOX and in Support both reach
// the timeline, each folder keeps its own checkpoint, and a restarted
// channel resumes every folder from its own checkpoint: it fetches only
// the mail that arrived while it was down, and nothing is doubled.
func TestTwoFoldersOwnCheckpoints(t *testing.T) {
	d := testDovecot(t)
	h := newHub(t)
	user := newUser()
	admin := d.client(t, user)
	if err := admin.Create("Support", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	admin.Close()
	const cust = "fay@customer.example"
	mail := func(folder string, i int) []byte {
		return newMail(cust, fmt.Sprintf("%s %d", folder, i), fmt.Sprintf("%s-%d-%s@customer.example", strings.ToLower(folder), i, randomHex(3)), fmt.Sprintf("%s mail %d", folder, i))
	}
	d.deliver(t, user, mail("INBOX", 1), mail("INBOX", 2), mail("INBOX", 3))
	d.appendMail(t, user, "Support", mail("Support", 1))
	d.appendMail(t, user, "Support", mail("Support", 2))

	settings := d.settings(user, map[string]any{"folders": []any{"INBOX", "Support"}, "backfill_since": "2000-01-01"})
	first := &countingSink{next: h.in}
	stop := run(t, h.channel(t, "r1", settings), first)
	waitFor(t, "both folders on the timeline", 10*time.Second, func() bool { return len(h.entries(t, cust)) == 5 })
	waitFor(t, "both checkpoints", 5*time.Second, func() bool {
		return readCheckpoint(t, h, "INBOX").LastUID == 3 && readCheckpoint(t, h, "Support").LastUID == 2
	})
	for _, e := range h.entries(t, cust) {
		folder := strings.Fields(e.Subject)[0]
		if !strings.HasPrefix(e.ProviderID, folder+"/<") {
			t.Errorf("%q has provider id %q", e.Subject, e.ProviderID)
		}
		hasField := false
		for _, f := range e.Fields {
			hasField = hasField || f == connectors.Field{Name: "Folder", Value: "Support"}
		}
		if hasField != (folder == "Support") {
			t.Errorf("%q: fields %v", e.Subject, e.Fields)
		}
	}
	stop()
	if n := first.n.Load(); n != 5 {
		t.Fatalf("first run delivered %d mails, want 5", n)
	}
	inboxCP, supportCP := readCheckpoint(t, h, "INBOX"), readCheckpoint(t, h, "Support")
	if CheckpointKey(testChannel, "INBOX") == CheckpointKey(testChannel, "Support") {
		t.Fatal("the folders share a checkpoint key")
	}

	// Mail arrives in both folders while the hub is down.
	d.deliver(t, user, mail("INBOX", 4))
	d.appendMail(t, user, "Support", mail("Support", 3))
	d.appendMail(t, user, "Support", mail("Support", 4))

	second := &countingSink{next: h.in}
	run(t, h.channel(t, "r1", settings), second)
	waitFor(t, "the mail that arrived meanwhile", 10*time.Second, func() bool { return len(h.entries(t, cust)) == 8 })
	waitFor(t, "both checkpoints advanced", 5*time.Second, func() bool {
		return readCheckpoint(t, h, "INBOX").LastUID == inboxCP.LastUID+1 && readCheckpoint(t, h, "Support").LastUID == supportCP.LastUID+2
	})
	time.Sleep(300 * time.Millisecond)
	if n := second.n.Load(); n != 3 {
		t.Fatalf("the restarted channel delivered %d mails, want only the 3 new ones", n)
	}
	seen := map[string]int{}
	for _, e := range h.entries(t, cust) {
		seen[e.Text]++
	}
	for _, f := range []string{"INBOX", "Support"} {
		for i := 1; i <= 4; i++ {
			if seen[fmt.Sprintf("%s mail %d", f, i)] != 1 {
				t.Fatalf("timeline texts = %v", seen)
			}
		}
	}
	if got := readCheckpoint(t, h, "Support").UIDValidity; got != supportCP.UIDValidity {
		t.Fatalf("Support UIDVALIDITY changed: %d -> %d", supportCP.UIDValidity, got)
	}
}
