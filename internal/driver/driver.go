package driver

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"time"

	"github.com/emersion/go-smtp"
)

// Logf prints one line prefixed with the wall-clock time in milliseconds.
func Logf(format string, args ...any) {
	fmt.Printf("%s %s\n", time.Now().Format("15:04:05.000"), fmt.Sprintf(format, args...))
}

// FreeAddr returns a loopback address whose port was free a moment ago.
func FreeAddr() string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		panic(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// FreePort is FreeAddr's port.
func FreePort() int {
	_, p, _ := net.SplitHostPort(FreeAddr())
	var n int
	fmt.Sscan(p, &n)
	return n
}

// Build runs go build -o out pkg from the working directory (the module's root).
func Build(out, pkg string) error {
	b, err := exec.Command("go", "build", "-o", out, pkg).CombinedOutput()
	if err != nil {
		return fmt.Errorf("go build %s: %v\n%s", pkg, err, b)
	}
	return nil
}

// Workspace makes *work (a new temporary directory named prefix* when
// empty) and builds the hub into *bin and the Telegram example plugin into
// *plugin unless they name binaries already. It returns the directory and
// the plugin's absolute path.
func Workspace(prefix string, work, bin, plugin *string) (dir, pluginPath string, err error) {
	if *work == "" {
		d, err := os.MkdirTemp("", prefix)
		if err != nil {
			return "", "", err
		}
		*work = d
	}
	dir, _ = filepath.Abs(*work)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", "", err
	}
	Logf("working in %s", dir)
	if *bin == "" {
		*bin = filepath.Join(dir, "switchboard")
		if err := Build(*bin, "./cmd/switchboard"); err != nil {
			return "", "", err
		}
	}
	if *plugin == "" {
		*plugin = filepath.Join(dir, "telegram-plugin")
		if err := Build(*plugin, "./plugins/examples/telegram"); err != nil {
			return "", "", err
		}
	}
	pluginPath, _ = filepath.Abs(*plugin)
	return dir, pluginPath, nil
}

// Get GETs http://base+path with the bearer token and decodes a 200's
// JSON body into out; another status is returned with its body dropped.
func Get(client *http.Client, base, token, path string, out any) (int, error) {
	req, _ := http.NewRequest("GET", "http://"+base+path, nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		io.Copy(io.Discard, resp.Body)
		return resp.StatusCode, nil
	}
	return 200, json.NewDecoder(resp.Body).Decode(out)
}

// Entry is what the drivers read of a timeline entry.
type Entry struct {
	ID             string `json:"id"`
	Text           string `json:"text"`
	ConversationID string `json:"conversation_id"`
	Direction      string `json:"direction"`
	Status         string `json:"status"`
}

// Timeline returns every entry on the timeline of the customer with
// identity, newest first, page by page (nil when there is no such
// customer yet: a 404; any other failed lookup is an error).
func Timeline(client *http.Client, base, token, identity string) ([]Entry, error) {
	var c struct {
		ID string `json:"id"`
	}
	code, err := Get(client, base, token, "/api/v1/customers?identity="+url.QueryEscape(identity), &c)
	switch {
	case err != nil:
		return nil, err
	case code == http.StatusNotFound:
		return nil, nil
	case code != 200:
		// A 5xx while Redis restarts is not "nothing arrived yet".
		return nil, fmt.Errorf("customer %s: %d", identity, code)
	}
	var out []Entry
	cursor := ""
	for {
		var page struct {
			Entries []Entry `json:"entries"`
			Next    string  `json:"next"`
		}
		code, err := Get(client, base, token, "/api/v1/customers/"+c.ID+"/timeline?limit=200&before="+url.QueryEscape(cursor), &page)
		if err != nil {
			return nil, err
		}
		if code != 200 {
			return nil, fmt.Errorf("timeline of %s: %d", identity, code)
		}
		out = append(out, page.Entries...)
		if page.Next == "" {
			return out, nil
		}
		cursor = page.Next
	}
}

// DeliverLMTP hands one message (header and body, CRLF line ends) for
// rcpt to the LMTP server at addr and returns once it was accepted.
func DeliverLMTP(addr, rcpt, message string) error {
	conn, err := net.DialTimeout("tcp", addr, 2*time.Second)
	if err != nil {
		return err
	}
	c := smtp.NewClientLMTP(conn)
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if err := c.Mail("mta@example.net", nil); err != nil {
		return err
	}
	if err := c.Rcpt(rcpt, nil); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := io.WriteString(w, message); err != nil {
		return err
	}
	_, err = w.CloseWithLMTPResponse()
	return err
}
