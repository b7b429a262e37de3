package storetest

import (
	"bytes"
	"fmt"
	"sort"
	"sync"
	"testing"

	"github.com/switchboard-hub/switchboard/store"
)

// ---- provider ids -------------------------------------------------------

func providerIDTests() []testCase {
	return []testCase{
		{"PutGetDelete", testProviderIDs},
		{"ErasedWithCustomer", testProviderIDsErased},
		{"LegacyCheckpoint", testProviderIDsLegacy},
	}
}

// testProviderIDsLegacy: ids recorded by earlier versions as checkpoints
// are still found; a record written since takes precedence.
func testProviderIDsLegacy(t *testing.T, f Factory) {
	e := newEnv(t, f)
	must(t, e.s.PutCheckpoint(e.ctx, store.LegacyProviderIDCheckpoint("sms", "SMold"), []byte("o_old")), "PutCheckpoint(legacy)")
	wantProviderID(t, e, "sms", "SMold", "o_old")
	wantNoProviderID(t, e, "email", "SMold", "of another channel than the legacy record's")
	must(t, e.s.PutProviderID(e.ctx, "sms", "SMold", "cu-1", "o_new"), "PutProviderID over a legacy checkpoint")
	wantProviderID(t, e, "sms", "SMold", "o_new")
}

func wantProviderID(t *testing.T, e *env, channel, providerID, want string) {
	t.Helper()
	got, err := e.s.GetProviderID(e.ctx, channel, providerID)
	if err != nil || got != want {
		t.Errorf("GetProviderID(%q, %q) = %q, %v; want %q", channel, providerID, got, err, want)
	}
}

func wantNoProviderID(t *testing.T, e *env, channel, providerID, what string) {
	t.Helper()
	got, err := e.s.GetProviderID(e.ctx, channel, providerID)
	if !wantErr(t, err, store.ErrNotFound, "GetProviderID(%q, %q) %s", channel, providerID, what) {
		t.Errorf("  it returned entry %q", got)
	}
}

func testProviderIDs(t *testing.T, f Factory) {
	e := newEnv(t, f)
	wantNoProviderID(t, e, "sms", "SM1", "never written")

	must(t, e.s.PutProviderID(e.ctx, "sms", "SM1", "cu-1", "o_1"), "PutProviderID")
	wantProviderID(t, e, "sms", "SM1", "o_1")
	// The index is per channel: another channel's provider may reuse the id.
	wantNoProviderID(t, e, "sms-eu", "SM1", "of another channel")

	// Email Message-IDs and channel names carry the characters a key
	// layout must escape.
	msgID := "<20250314.abc{x}:y|z@mail.example.com>"
	must(t, e.s.PutProviderID(e.ctx, "mail:support{eu}", msgID, "cu-1", "o_2"), "PutProviderID(email)")
	wantProviderID(t, e, "mail:support{eu}", msgID, "o_2")
	wantNoProviderID(t, e, "mail", "support{eu}:"+msgID, "of a key that only joins the same characters differently")

	// Writing the id again replaces the record.
	must(t, e.s.PutProviderID(e.ctx, "sms", "SM1", "cu-1", "o_3"), "PutProviderID again")
	wantProviderID(t, e, "sms", "SM1", "o_3")

	must(t, e.s.DeleteProviderID(e.ctx, "sms", "SM1"), "DeleteProviderID")
	wantNoProviderID(t, e, "sms", "SM1", "after DeleteProviderID")
	wantProviderID(t, e, "mail:support{eu}", msgID, "o_2")
	must(t, e.s.DeleteProviderID(e.ctx, "sms", "SM1"), "DeleteProviderID of a deleted id")
	must(t, e.s.DeleteProviderID(e.ctx, "sms", "never"), "DeleteProviderID of an unknown id")

	// Deleted, then written again: found again.
	must(t, e.s.PutProviderID(e.ctx, "sms", "SM1", "cu-2", "o_4"), "PutProviderID after delete")
	wantProviderID(t, e, "sms", "SM1", "o_4")
}

// testProviderIDsErased: erasing a customer's timeline removes the provider
// ids recorded for that customer, and only those.
func testProviderIDsErased(t *testing.T, f Factory) {
	e := newEnv(t, f)
	for _, c := range []string{"cu-a", "cu-b"} {
		_, _, err := e.s.AppendEntry(e.ctx, richEntry("o_"+c, c, epoch))
		must(t, err, "AppendEntry(%s)", c)
	}
	must(t, e.s.PutProviderID(e.ctx, "sms", "SMa1", "cu-a", "o_cu-a"), "PutProviderID")
	must(t, e.s.PutProviderID(e.ctx, "email", "<a2@example.com>", "cu-a", "o_cu-a"), "PutProviderID")
	must(t, e.s.PutProviderID(e.ctx, "sms", "SMb1", "cu-b", "o_cu-b"), "PutProviderID")
	// An id first recorded for cu-a, then for cu-b, is cu-b's now.
	must(t, e.s.PutProviderID(e.ctx, "sms", "SMmoved", "cu-a", "o_cu-a"), "PutProviderID")
	must(t, e.s.PutProviderID(e.ctx, "sms", "SMmoved", "cu-b", "o_cu-b"), "PutProviderID (moved)")
	// Many ids, more than one batch of a backend's deletion.
	for i := range 1100 {
		must(t, e.s.PutProviderID(e.ctx, "sms", fmt.Sprintf("SMbulk%d", i), "cu-a", "o_cu-a"), "PutProviderID bulk")
	}

	_, err := e.s.DeleteEntries(e.ctx, "cu-a")
	must(t, err, "DeleteEntries(cu-a)")
	wantNoProviderID(t, e, "sms", "SMa1", "after the customer's timeline was erased")
	wantNoProviderID(t, e, "email", "<a2@example.com>", "after the customer's timeline was erased")
	for _, i := range []int{0, 499, 500, 1099} {
		wantNoProviderID(t, e, "sms", fmt.Sprintf("SMbulk%d", i), "after the customer's timeline was erased")
	}
	wantProviderID(t, e, "sms", "SMb1", "o_cu-b")
	wantProviderID(t, e, "sms", "SMmoved", "o_cu-b")

	// Erasing again is a no-op; the other customer's erasure takes theirs.
	_, err = e.s.DeleteEntries(e.ctx, "cu-a")
	must(t, err, "DeleteEntries(cu-a) again")
	_, err = e.s.DeleteEntries(e.ctx, "cu-b")
	must(t, err, "DeleteEntries(cu-b)")
	wantNoProviderID(t, e, "sms", "SMb1", "after cu-b was erased")
	wantNoProviderID(t, e, "sms", "SMmoved", "after cu-b was erased")

	// A customer recorded again after an erasure is indexed again.
	must(t, e.s.PutProviderID(e.ctx, "sms", "SMa1", "cu-a", "o_new"), "PutProviderID after erasure")
	wantProviderID(t, e, "sms", "SMa1", "o_new")
}

// ---- sign-in sessions ---------------------------------------------------

func sessionTests() []testCase {
	return []testCase{
		{"KeyCreatedOnce", testSessionKey},
		{"KeyConcurrent", testSessionKeyConcurrent},
		{"Epochs", testSessionEpochs},
		{"EpochsConcurrent", testSessionEpochsConcurrent},
		{"UseOnce", testUseOnce},
	}
}

func testSessionKey(t *testing.T, f Factory) {
	e := newEnv(t, f)
	k1 := bytes.Repeat([]byte{0x00, 0xff, 0x7f, '{'}, 8) // binary, 32 bytes
	buf := append([]byte(nil), k1...)
	got, err := e.s.GetOrCreateSessionKey(e.ctx, buf)
	must(t, err, "GetOrCreateSessionKey")
	if !bytes.Equal(got, k1) {
		t.Fatalf("GetOrCreateSessionKey on an empty store = %x, want the key passed %x", got, k1)
	}
	buf[0], got[1] = 'X', 'Y' // the store keeps neither the caller's slice nor hands out its own
	k2 := bytes.Repeat([]byte("b"), 32)
	got, err = e.s.GetOrCreateSessionKey(e.ctx, k2)
	must(t, err, "GetOrCreateSessionKey again")
	if !bytes.Equal(got, k1) {
		t.Errorf("GetOrCreateSessionKey with a key stored = %x, want the stored %x", got, k1)
	}
}

func testSessionKeyConcurrent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	const n = 16
	got := make([][]byte, n)
	errs := make([]error, n)
	concurrently(t, n, func(i int) {
		got[i], errs[i] = e.s.GetOrCreateSessionKey(e.ctx, bytes.Repeat([]byte{byte('a' + i)}, 32))
	})
	for i := range n {
		must(t, errs[i], "GetOrCreateSessionKey #%d", i)
		if !bytes.Equal(got[i], got[0]) {
			t.Errorf("concurrent creators got different keys: #0 %q, #%d %q", got[0], i, got[i])
		}
	}
	if len(got[0]) != 32 || bytes.Count(got[0], got[0][:1]) != 32 || got[0][0] < 'a' || got[0][0] >= 'a'+n {
		t.Errorf("key %q is none of the keys passed", got[0])
	}
	again, err := e.s.GetOrCreateSessionKey(e.ctx, bytes.Repeat([]byte("z"), 32))
	must(t, err, "GetOrCreateSessionKey after the race")
	if !bytes.Equal(again, got[0]) {
		t.Errorf("key after the race = %q, want %q", again, got[0])
	}
}

func testSessionEpochs(t *testing.T, f Factory) {
	e := newEnv(t, f)
	n, err := e.s.SessionEpoch(e.ctx, "alice")
	if err != nil || n != 0 {
		t.Errorf("SessionEpoch never bumped = %d, %v; want 0, nil", n, err)
	}
	for want := int64(1); want <= 3; want++ {
		n, err := e.s.BumpSessionEpoch(e.ctx, "alice")
		if err != nil || n != want {
			t.Errorf("BumpSessionEpoch #%d = %d, %v; want %d", want, n, err, want)
		}
	}
	n, err = e.s.SessionEpoch(e.ctx, "alice")
	if err != nil || n != 3 {
		t.Errorf("SessionEpoch after 3 bumps = %d, %v; want 3", n, err)
	}
	// Per agent; names with the characters of a key layout stay apart.
	for _, other := range []string{"bob", "alice ", "Alice", "al:ice{x}"} {
		if n, err := e.s.SessionEpoch(e.ctx, other); err != nil || n != 0 {
			t.Errorf("SessionEpoch(%q) = %d, %v; want 0 (only alice logged out)", other, n, err)
		}
	}
}

func testSessionEpochsConcurrent(t *testing.T, f Factory) {
	e := newEnv(t, f)
	const n = 20
	var mu sync.Mutex
	var got []int
	concurrently(t, n, func(i int) {
		v, err := e.s.BumpSessionEpoch(e.ctx, "alice")
		if err != nil {
			t.Errorf("BumpSessionEpoch: %v", err)
			return
		}
		mu.Lock()
		got = append(got, int(v))
		mu.Unlock()
	})
	sort.Ints(got)
	for i, v := range got {
		if v != i+1 {
			t.Fatalf("concurrent bumps returned %v, want each of 1..%d once", got, n)
		}
	}
	if v, err := e.s.SessionEpoch(e.ctx, "alice"); err != nil || v != n {
		t.Errorf("SessionEpoch after %d concurrent bumps = %d, %v; want %d", n, v, err, n)
	}
}
