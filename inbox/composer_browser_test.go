package inbox_test

import (
	"bytes"
	"context"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/internal/testenv"
	"github.com/switchboard-hub/switchboard/router"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/blobs"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

// fileSender is the email channel's outbound side: it keeps what it
// was asked to send, with each attachment's content read from the blobs.
type fileSender struct {
	blobs *blobs.Dir
	mu    sync.Mutex
	sent  []connectors.Outgoing
	files map[string][]byte // name -> content
}

func (r *fileSender) Send(ctx context.Context, out connectors.Outgoing) (connectors.SendResult, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range out.Attachments {
		rc, err := r.blobs.Get(ctx, a.SHA256)
		if err != nil {
			return connectors.SendResult{}, err
		}
		b, _ := io.ReadAll(rc)
		rc.Close()
		r.files[a.Name] = b
	}
	r.sent = append(r.sent, out)
	return connectors.SendResult{ProviderID: "smtp-" + out.EntryID, Status: "sent"}, nil
}

type composerResult struct {
	CannedOptions  []string `json:"canned_options"`
	CannedRole     string   `json:"canned_role"`
	CannedActive   string   `json:"canned_active"`
	CannedAfterKey string   `json:"canned_after_arrows"`
	CannedText     string   `json:"canned_text"`
	EscapeClosed   bool     `json:"escape_closed"`
	EscapeFocus    string   `json:"escape_focus"`
	ChipsAfter     []string `json:"chips"`
	ChipSizes      []string `json:"chip_sizes"`
	TooLarge       string   `json:"too_large"`
	ChipsRemoved   []string `json:"chips_after_remove"`
	SentStatus     string   `json:"sent_status"`
	SentAtts       []string `json:"sent_attachments"`
	ChipsAfterSend int      `json:"chips_after_send"`
	Download       struct {
		Name        string `json:"name"`
		Content     string `json:"content"`
		Disposition string `json:"disposition"`
		NoSniff     string `json:"nosniff"`
		CSP         string `json:"csp"`
		Type        string `json:"type"`
	} `json:"download"`
	Thumbs        []string            `json:"thumbs"`
	ThumbWidth    int                 `json:"thumb_width"`
	SVGInline     string              `json:"svg_inline_disposition"`
	Pwned         bool                `json:"pwned"`
	SMSButton     bool                `json:"sms_button_visible"`
	SMSDropNote   string              `json:"sms_drop_note"`
	ManageShared  bool                `json:"manage_shared_box"`
	ManageCreated []string            `json:"manage_created"`
	Axe           map[string][]string `json:"axe"`
	Error         string              `json:"error"`
}

// TestComposerCannedRepliesAndFilesInChromium (issue 19): in a real
// Chromium an agent types "/" in the composer and inserts a canned reply
// (placeholders filled) with the keyboard; attaches files with the file
// button and by dropping them on the composer (chips with name and size,
// one removed, one past the size limit refused); sends, and the email
// channel's sender gets the files' bytes. The customer's files download
// with the safe headers; the picture is previewed inline, the SVG is not;
// an SMS conversation offers no files. The agent also creates a personal
// canned reply in the management dialog.
func TestComposerCannedRepliesAndFilesInChromium(t *testing.T) {
	chromium, pw, node := os.Getenv("SWITCHBOARD_TEST_CHROMIUM"), os.Getenv("SWITCHBOARD_TEST_PLAYWRIGHT"), os.Getenv("SWITCHBOARD_TEST_NODE")
	if node == "" {
		node = "node"
	}
	if chromium == "" || pw == "" {
		testenv.Absent(t, "a browser (SWITCHBOARD_TEST_CHROMIUM, SWITCHBOARD_TEST_PLAYWRIGHT)", nil)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	bl, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir := directory.New(st, []directory.Channel{{Name: "mail", Type: "email", Phase: store.PhaseLive},
		{Name: "text", Type: "sms", Phase: store.PhaseLive}}, store.SystemClock, nil)
	rt := router.New(st, dir, router.Options{Routing: router.Routing{Teams: []string{"support"}, Agents: []router.Agent{{Name: "alice", Teams: []string{"support"}}}}})
	in := router.NewIngest(st, dir, "FI", store.SystemClock, nil)
	out := router.NewOutbound(st, dir, store.SystemClock, slog.New(slog.DiscardHandler), nil, rt.Conversations())
	sender := &fileSender{blobs: bl, files: map[string][]byte{}}
	out.SetSender("mail", sender)
	go out.Run(ctx, 1, "browser-test")
	srv := inbox.New(inbox.Options{Store: st, Directory: dir, Ingest: in, Outbound: out, Blobs: bl, Logger: slog.New(slog.DiscardHandler),
		Teams: []string{"support"},
		Credentials: []inbox.Credential{
			{Principal: inbox.Principal{Name: "alice", Role: "agent", Teams: []string{"support"}}, PasswordHash: bcryptHash(t, alicePW)},
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("root-token")}}})

	// Mia writes by email with three files, and by SMS.
	conv := func(channel string, id connectors.Identity, atts []connectors.Attachment) (string, string) {
		m, err := in.Prepare(connectors.Message{Channel: channel, ProviderID: "p-" + channel, Text: "Photo of the broken part attached.",
			Identities: []connectors.Identity{id}, OccurredAt: time.Now().UTC(), Attachments: atts})
		if err != nil {
			t.Fatal(err)
		}
		if err := rt.Process(ctx, m); err != nil {
			t.Fatal(err)
		}
		e, err := st.GetEntry(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		return e.ConversationID, e.CustomerID
	}
	put := func(name, ct string, b []byte) connectors.Attachment {
		sum, n, err := bl.Put(ctx, bytes.NewReader(b), 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		return connectors.Attachment{Name: name, ContentType: ct, Size: n, SHA256: sum}
	}
	png := tinyPNG(t)
	mailConv, cust := conv("mail", connectors.Identity{Type: connectors.Email, Value: "mia@example.com", Verified: true}, []connectors.Attachment{
		put("broken-part.png", "image/png", png),
		put("receipt.html", "text/html", []byte(`<script>parent.__pwned=1</script><p>receipt</p>`)),
		put("sketch.svg", "image/svg+xml", []byte(`<svg xmlns="http://www.w3.org/2000/svg"><script>parent.__pwned=1</script></svg>`)),
	})
	if _, err := st.UpdateCustomer(ctx, cust, func(c *store.Customer) error { c.Name = "Mia Virtanen"; return nil }); err != nil {
		t.Fatal(err)
	}
	smsConv, _ := conv("text", connectors.Identity{Type: connectors.Phone, Value: "+358401234567", Verified: true}, nil)

	// Canned replies: a shared one (admin) and one of alice's own, both
	// matching "/gre".
	for _, body := range []string{`{"shortcut":"greeting","title":"Greeting","text":"Hi {{customer.name}}, {{agent.name}} here.","shared":true}`,
		`{"shortcut":"great","title":"Great news","text":"Great news about case {{conversation.id}}!","shared":true}`} {
		req := httptest.NewRequest("POST", "/api/v1/canned_replies", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer root-token")
		rec := httptest.NewRecorder()
		srv.ServeHTTP(rec, req)
		if rec.Code != 201 {
			t.Fatalf("canned reply: %d %s", rec.Code, rec.Body)
		}
	}

	web := httptest.NewServer(srv)
	defer web.Close()
	art := os.Getenv("SWITCHBOARD_TEST_ARTIFACTS")
	if art == "" {
		art = filepath.Join("..", ".cache", "artifacts")
	}
	art, _ = filepath.Abs(filepath.Join(art, "composer"))
	if err := os.MkdirAll(art, 0o755); err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	invoice := filepath.Join(tmp, "invoice.pdf")
	os.WriteFile(invoice, []byte("%PDF-1.4 invoice 1234"), 0o600)
	plan := map[string]any{"chromium": chromium, "url": web.URL, "name": "alice", "password": alicePW,
		"mail_conv": mailConv, "sms_conv": smsConv, "button_file": invoice, "art": art,
		"axe": os.Getenv("SWITCHBOARD_TEST_AXE")}
	planPath := filepath.Join(tmp, "plan.json")
	b, _ := json.Marshal(plan)
	os.WriteFile(planPath, b, 0o600)
	script, _ := filepath.Abs(filepath.Join("testdata", "composer", "browser.js"))
	cmd := exec.CommandContext(ctx, node, script, planPath)
	cmd.Env = append(os.Environ(), "SWITCHBOARD_TEST_PLAYWRIGHT="+pw)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	raw, err := cmd.Output()
	if err != nil {
		t.Fatalf("browser: %v\n%s\n%s", err, raw, stderr.String())
	}
	var r composerResult
	if err := json.Unmarshal(bytes.TrimSpace(raw), &r); err != nil {
		t.Fatalf("browser output %q: %v", raw, err)
	}
	t.Logf("browser: %s\nscreenshots in %s", raw, art)
	if r.Error != "" {
		t.Fatalf("browser: %s (%+v)", r.Error, r)
	}

	// Canned replies with "/".
	if strings.Join(r.CannedOptions, ",") != "great,greeting" || r.CannedRole != "listbox" || r.CannedActive != "great" || r.CannedAfterKey != "greeting" {
		t.Errorf("the / list: options %v role %q active %q, after ArrowDown %q", r.CannedOptions, r.CannedRole, r.CannedActive, r.CannedAfterKey)
	}
	if r.CannedText != "Hello! Hi Mia Virtanen, alice here." {
		t.Errorf("inserted text = %q", r.CannedText)
	}
	if !r.EscapeClosed || r.EscapeFocus != "reply-text" {
		t.Errorf("Escape: closed %v, focus on %q", r.EscapeClosed, r.EscapeFocus)
	}
	if r.ManageShared || strings.Join(r.ManageCreated, ",") != "great,greeting,thanks" {
		t.Errorf("management dialog: shared box shown to an agent %v, list after create %v", r.ManageShared, r.ManageCreated)
	}

	// Files.
	if strings.Join(r.ChipsAfter, ",") != "invoice.pdf,notes.txt,extra.csv" || len(r.ChipSizes) != 3 || r.ChipSizes[0] != "1 KB" {
		t.Errorf("chips = %v sizes %v", r.ChipsAfter, r.ChipSizes)
	}
	if !strings.Contains(r.TooLarge, "too-big.bin") || !strings.Contains(r.TooLarge, "10 MB") {
		t.Errorf("a file past the limit: %q", r.TooLarge)
	}
	if strings.Join(r.ChipsRemoved, ",") != "invoice.pdf,notes.txt" || r.ChipsAfterSend != 0 {
		t.Errorf("after remove %v, after send %d chips", r.ChipsRemoved, r.ChipsAfterSend)
	}
	if strings.Join(r.SentAtts, ",") != "invoice.pdf,notes.txt" {
		t.Errorf("the sent entry shows %v", r.SentAtts)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		sender.mu.Lock()
		n := len(sender.sent)
		var got connectors.Outgoing
		if n > 0 {
			got = sender.sent[0]
		}
		files := sender.files
		sender.mu.Unlock()
		if n > 0 {
			if got.Text != "Hello! Hi Mia Virtanen, alice here." || got.To.Value != "mia@example.com" || len(got.Attachments) != 2 ||
				string(files["invoice.pdf"]) != "%PDF-1.4 invoice 1234" || string(files["notes.txt"]) != "dropped on the composer" {
				t.Errorf("sent: %+v files %q", got, files)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the email sender never got the reply")
		}
		time.Sleep(50 * time.Millisecond)
	}

	// The customer's files.
	d := r.Download
	if d.Name != "receipt.html" || d.Content != `<script>parent.__pwned=1</script><p>receipt</p>` || !strings.HasPrefix(d.Disposition, "attachment") ||
		d.NoSniff != "nosniff" || !strings.Contains(d.CSP, "sandbox") || !strings.Contains(d.CSP, "default-src 'none'") {
		t.Errorf("download = %+v", d)
	}
	if strings.Join(r.Thumbs, ",") != "broken-part.png" || r.ThumbWidth != 2 {
		t.Errorf("previews %v (width %d); want the PNG alone", r.Thumbs, r.ThumbWidth)
	}
	if r.Pwned {
		t.Error("a customer's file ran script in the inbox")
	}
	if !strings.HasPrefix(r.SVGInline, "attachment") {
		t.Errorf("an SVG asked inline is served %q", r.SVGInline)
	}
	// axe-core over the composer with the / list open, with files, and
	// over the dialog: no serious or critical violation.
	t.Run("accessibility", func(t *testing.T) {
		if os.Getenv("SWITCHBOARD_TEST_AXE") == "" {
			testenv.Absent(t, "axe-core (SWITCHBOARD_TEST_AXE; scripts/peers/webform.sh)", nil)
		}
		if len(r.Axe) != 3 {
			t.Fatalf("axe ran at %d points, want 3: %v", len(r.Axe), r.Axe)
		}
		for at, v := range r.Axe {
			if len(v) > 0 {
				t.Errorf("%s: %d serious violations: %q", at, len(v), v)
			}
		}
	})
	// SMS cannot send files.
	if r.SMSButton || !strings.Contains(r.SMSDropNote, "cannot send files") {
		t.Errorf("SMS conversation: button visible %v, drop note %q", r.SMSButton, r.SMSDropNote)
	}
}

// tinyPNG is a real 2x1 PNG.
func tinyPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 2, 1))
	img.Set(0, 0, color.RGBA{200, 30, 30, 255})
	img.Set(1, 0, color.RGBA{30, 30, 200, 255})
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}
