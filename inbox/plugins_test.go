package inbox_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/switchboard-hub/switchboard/directory"
	"github.com/switchboard-hub/switchboard/inbox"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/store/embedded"
)

type plugins []inbox.PluginStatus

func (p plugins) PluginStatuses() []inbox.PluginStatus { return p }

func TestPluginsListIsForAdmins(t *testing.T) {
	st, err := embedded.Open(t.TempDir(), embedded.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	srv := inbox.New(inbox.Options{Store: st, Directory: directory.New(st, nil, store.SystemClock, nil),
		Credentials: []inbox.Credential{
			{Principal: inbox.Principal{Name: "root", Role: "admin"}, TokenSHA256: inbox.HashToken("admin-tok")},
			{Principal: inbox.Principal{Name: "ann", Role: "agent"}, TokenSHA256: inbox.HashToken("agent-tok")}},
		Plugins: plugins{{Plugin: "telegram-bot", Channel: "tg", State: "failed", LastError: "checksum mismatch", Restarts: 2}}})
	get := func(tok string) (int, map[string][]inbox.PluginStatus) {
		r := httptest.NewRequest("GET", "/api/v1/plugins", nil)
		r.Header.Set("Authorization", "Bearer "+tok)
		w := httptest.NewRecorder()
		srv.ServeHTTP(w, r)
		var out map[string][]inbox.PluginStatus
		json.Unmarshal(w.Body.Bytes(), &out)
		return w.Code, out
	}
	if code, _ := get("agent-tok"); code != http.StatusForbidden {
		t.Fatalf("agent: %d", code)
	}
	code, out := get("admin-tok")
	if code != 200 || len(out["plugins"]) != 1 || out["plugins"][0].LastError != "checksum mismatch" || out["plugins"][0].Restarts != 2 {
		t.Fatalf("admin: %d %+v", code, out)
	}
}
