package router_test

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
)

// TestDedupeIsByTheSinksMessageID: whatever id a channel puts on a
// message, the Sink replaces it with connectors.MessageID(channel,
// provider id), and Process keeps one entry per such id. A provider's
// retry with other content (a webhook retried after an edit, a mail
// fetched again) is the same message; the same provider id on another
// channel is another.
func TestDedupeIsByTheSinksMessageID(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		ctx := context.Background()
		dir := directory.New(st, []directory.Channel{{Name: "a", Type: "api", Phase: store.PhaseLive, Trusted: true},
			{Name: "b", Type: "api", Phase: store.PhaseLive, Trusted: true}}, store.SystemClock, nil)
		in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
		rt := router.New(st, dir, router.Options{})
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		msg := func(channel, forged, text string, occurred time.Time) connectors.Message {
			return connectors.Message{ID: forged, Channel: channel, ProviderID: "prov-1", Text: text, OccurredAt: occurred,
				Identities: []connectors.Identity{{Type: connectors.Email, Value: "dup@example.com"}}}
		}
		var ids []string
		for _, m := range []connectors.Message{
			msg("a", "", "first", at),
			msg("a", "m_chosen_by_the_channel", "the provider's retry, edited", at.Add(time.Hour)),
			msg("b", "", "same provider id, another channel", at.Add(2*time.Hour)),
		} {
			id, err := in.Deliver(ctx, m)
			if err != nil {
				t.Fatal(err)
			}
			ids = append(ids, id)
		}
		if want := connectors.MessageID("a", "prov-1"); ids[0] != want || ids[1] != want {
			t.Fatalf("ids %v, want %s for both deliveries on channel a", ids[:2], want)
		}
		if ids[2] != connectors.MessageID("b", "prov-1") {
			t.Fatalf("id on channel b %s, want %s", ids[2], connectors.MessageID("b", "prov-1"))
		}
		// Process every queued delivery as a worker would.
		for {
			ds, err := st.Read(ctx, store.QueueIngest, "test", 10, 0)
			if err != nil {
				t.Fatal(err)
			}
			if len(ds) == 0 {
				break
			}
			for _, d := range ds {
				var m connectors.Message
				if err := json.Unmarshal(d.Payload, &m); err != nil {
					t.Fatal(err)
				}
				if err := rt.Process(ctx, m); err != nil {
					t.Fatal(err)
				}
				if err := st.Ack(ctx, store.QueueIngest, d.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		first, err := st.GetEntry(ctx, ids[0])
		if err != nil || first.Text != "first" {
			t.Fatalf("entry %s: %q (%v), want the first delivery's", ids[0], first.Text, err)
		}
		if _, err := st.GetEntry(ctx, "m_chosen_by_the_channel"); err == nil {
			t.Fatal("an entry was stored under the id the channel chose")
		}
		if n, err := st.CountEntries(ctx, first.CustomerID); err != nil || n != 2 {
			t.Fatalf("%d entries (%v), want 2: one per channel", n, err)
		}
	})
}

// TestOneSinkOneDedupePath checks the module's code for what keeps every
// channel's dedupe on the one path the router's doc names: the only Sink
// the hub implements is router.Ingest (channels cannot import the router,
// the store or the timeline: internal/archtest), cmd/switchboard builds
// one, and only the router (through timeline) writes inbound entries. A
// channel that deduped on its own, or a second Sink (one that skipped the
// id derivation, or a future erasure tombstone check), fails here.
func TestOneSinkOneDedupePath(t *testing.T) {
	// Sinks that are not the hub's: the adapter type and the recording
	// sinks of the conformance kits channel authors run.
	allowedSinks := []string{"router.Ingest", "connectors.SinkFunc", "connectors/connectortest.Sink", "plugins/plugintest.sink"}
	// Who may write entries: the store itself, the conversation service,
	// and the router (inbound through the service; replies and notes).
	writers := []string{"store", "timeline", "router"}

	var sinks, strayWriters, ingests []string
	fset := token.NewFileSet()
	err := filepath.WalkDir("..", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if n := d.Name(); n == "testdata" || n == "vendor" || strings.HasPrefix(n, ".") && n != ".." {
				return filepath.SkipDir
			}
			return nil
		}
		if !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, 0)
		if err != nil {
			return err
		}
		dir := filepath.ToSlash(filepath.Dir(strings.TrimPrefix(path, "../")))
		top, _, _ := strings.Cut(dir, "/")
		ast.Inspect(f, func(n ast.Node) bool {
			switch n := n.(type) {
			case *ast.FuncDecl:
				if n.Recv != nil && n.Name.Name == "Deliver" && takesMessage(n.Type, f.Name.Name) {
					sinks = append(sinks, dir+"."+recvName(n.Recv.List[0].Type))
				}
			case *ast.CallExpr:
				sel, ok := n.Fun.(*ast.SelectorExpr)
				if !ok {
					return true
				}
				switch sel.Sel.Name {
				case "AppendEntry", "AppendToConversation", "Receive":
					if !slices.Contains(writers, top) && (sel.Sel.Name != "Receive" || callsWithInbound(n)) {
						strayWriters = append(strayWriters, fset.Position(n.Pos()).String()+": "+sel.Sel.Name)
					}
				case "NewIngest":
					if x, ok := sel.X.(*ast.Ident); ok && x.Name == "router" && dir == "cmd/switchboard" {
						ingests = append(ingests, fset.Position(n.Pos()).String())
					}
				}
			}
			return true
		})
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range sinks {
		if !slices.Contains(allowedSinks, s) {
			t.Errorf("%s implements connectors.Sink: every channel must deliver through router.Ingest, whose Process is the one dedupe path", s)
		}
	}
	if !slices.Contains(sinks, "router.Ingest") {
		t.Errorf("router.Ingest not found among the Sinks %v: the scan is broken", sinks)
	}
	for _, w := range strayWriters {
		t.Errorf("%s writes timeline entries outside store, timeline and router", w)
	}
	if len(ingests) != 1 {
		t.Errorf("cmd/switchboard builds %d router.Ingest (%v), want exactly one, handed to every channel and the api channel", len(ingests), ingests)
	}
}

// takesMessage: the function's second parameter is a connectors.Message
// (a Message, in package connectors itself).
func takesMessage(ft *ast.FuncType, pkg string) bool {
	var types []ast.Expr
	for _, f := range ft.Params.List {
		for range max(1, len(f.Names)) {
			types = append(types, f.Type)
		}
	}
	if len(types) != 2 {
		return false
	}
	switch x := types[1].(type) {
	case *ast.SelectorExpr:
		id, ok := x.X.(*ast.Ident)
		return ok && id.Name == "connectors" && x.Sel.Name == "Message"
	case *ast.Ident:
		return pkg == "connectors" && x.Name == "Message"
	}
	return false
}

func recvName(e ast.Expr) string {
	if s, ok := e.(*ast.StarExpr); ok {
		e = s.X
	}
	if id, ok := e.(*ast.Ident); ok {
		return id.Name
	}
	return "?"
}

// callsWithInbound: a Receive call given a timeline.Inbound literal (other
// Receive methods, of channels and clients, are not the service's).
func callsWithInbound(c *ast.CallExpr) bool {
	for _, a := range c.Args {
		if cl, ok := a.(*ast.CompositeLit); ok {
			if sel, ok := cl.Type.(*ast.SelectorExpr); ok && sel.Sel.Name == "Inbound" {
				return true
			}
		}
	}
	return false
}

// TestFutureOccurredAtIsNow: a message dated beyond MaxClockSkew in the
// future (year 9999, a skewed sender) is taken as arriving now, whatever
// channel it came through, so it cannot pin its conversation's activity.
func TestFutureOccurredAtIsNow(t *testing.T) {
	backends(t, func(t *testing.T, st store.Store) {
		now := time.Date(2026, 6, 1, 12, 0, 0, 0, time.UTC)
		clock := func() time.Time { return now }
		dir := directory.New(st, []directory.Channel{{Name: "a", Type: "plugin", Phase: store.PhaseLive}}, clock, nil)
		in := router.NewIngest(st, dir, "FI", clock, nil)
		for _, tc := range []struct {
			occurred, want time.Time
		}{
			{time.Date(9999, 12, 31, 0, 0, 0, 0, time.UTC), now},
			{now.Add(router.MaxClockSkew + time.Second), now},
			{now.Add(router.MaxClockSkew - time.Second), now.Add(router.MaxClockSkew - time.Second)},
			{now.Add(-time.Hour), now.Add(-time.Hour)},
		} {
			m, err := in.Prepare(connectors.Message{Channel: "a", ProviderID: "p", Text: "x", OccurredAt: tc.occurred,
				Identities: []connectors.Identity{{Type: connectors.Email, Value: "skew@example.com"}}})
			if err != nil {
				t.Fatal(err)
			}
			if !m.OccurredAt.Equal(tc.want) {
				t.Errorf("occurred_at %v became %v, want %v", tc.occurred, m.OccurredAt, tc.want)
			}
		}
	})
}
