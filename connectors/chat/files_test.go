package chat

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/slack-go/slack/slacktest"

	"github.com/switchboard-hub/switchboard/store/blobs"
)

// TestSlackFilesFetched: a file a customer shares in Slack is fetched with
// the bot token from the Slack server into the blob store and named on the
// entry, ready for an agent's download; a file Slack refuses is listed
// without content, and the message is kept.
func TestSlackFilesFetched(t *testing.T) {
	bl, err := blobs.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	pdf := []byte("%PDF-1.7 the broken lamp, photographed")
	var auth []string
	files := func(c slacktest.Customize) {
		c.Handle("/files-pri/T0/F0REPORT1/download/lamp.pdf", func(w http.ResponseWriter, r *http.Request) {
			auth = append(auth, r.Header.Get("Authorization"))
			if r.Header.Get("Authorization") != "Bearer "+testBotToken {
				w.WriteHeader(http.StatusForbidden)
				return
			}
			w.Header().Set("Content-Type", "application/pdf")
			w.Write(pdf)
		})
		c.Handle("/files-pri/T0/F0GONE001/download/gone.png", func(w http.ResponseWriter, r *http.Request) {
			w.WriteHeader(http.StatusNotFound)
		})
	}
	h := newHub(t, func(s *hubSetup) { s.binders = append(s.binders, files); s.blobs = bl })
	h.run(t)
	h.slack.set(func(f *fakeSlack) {
		f.users["U0CUSTOM1"] = slackUser{Real: "Ann Customer", Email: "ann@customer.example"}
	})
	base := strings.TrimSuffix(h.slack.GetAPIURL(), "/")
	base = strings.TrimSuffix(base, "/api")
	h.mustSend(t, ev("Ev0FILES1", map[string]any{"subtype": "file_share", "text": "photo attached", "files": []any{
		map[string]any{"id": "F0REPORT1", "name": "lamp.pdf", "mimetype": "application/pdf", "size": len(pdf),
			"url_private_download": base + "/files-pri/T0/F0REPORT1/download/lamp.pdf"},
		map[string]any{"id": "F0GONE001", "name": "gone.png", "mimetype": "image/png", "size": 10,
			"url_private_download": base + "/files-pri/T0/F0GONE001/download/gone.png"},
	}}))
	es := h.waitEntries(t, "slack:"+testTeam+":U0CUSTOM1", 1)
	as := es[0].Attachments
	if len(as) != 2 {
		t.Fatalf("attachments %+v", as)
	}
	if as[0].Name != "lamp.pdf" || as[0].SHA256 == "" || as[0].Omitted != "" || as[0].Size != int64(len(pdf)) {
		t.Fatalf("fetched file %+v", as[0])
	}
	rc, err := bl.Get(context.Background(), as[0].SHA256)
	if err != nil {
		t.Fatal(err)
	}
	got, _ := io.ReadAll(rc)
	rc.Close()
	if !bytes.Equal(got, pdf) {
		t.Fatalf("blob %q", got)
	}
	if len(auth) == 0 || auth[0] != "Bearer "+testBotToken {
		t.Fatalf("download authorization %q", auth)
	}
	if as[1].SHA256 != "" || !strings.Contains(as[1].Omitted, "F0GONE001") {
		t.Fatalf("refused file %+v", as[1])
	}
}
