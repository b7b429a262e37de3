package canned

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/switchboard-hub/switchboard/store"
)

// ErrInvalid: a reply failed validation (the API answers 400).
var ErrInvalid = errors.New("invalid canned reply")

// ErrDuplicate: another reply of the same scope has the shortcut (409).
var ErrDuplicate = errors.New("duplicate shortcut")

// The placeholders a text may hold (the keys of Vars).
const (
	CustomerName   = "customer.name"
	AgentName      = "agent.name"
	ConversationID = "conversation.id"
)

// Placeholders lists every known placeholder name.
var Placeholders = []string{CustomerName, AgentName, ConversationID}

// Limits of one reply.
const (
	MaxTitle = 100
	MaxText  = 5000
)

// Reply is one canned reply.
type Reply struct {
	ID string `json:"id"`
	// Shortcut is what the agent types after "/" to find it.
	Shortcut string `json:"shortcut"`
	Title    string `json:"title"`
	Text     string `json:"text"`
	// Shared replies are everyone's; the others are Owner's alone.
	Shared    bool      `json:"shared"`
	Owner     string    `json:"owner,omitempty"`
	UpdatedBy string    `json:"updated_by,omitempty"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Vars are the values of the placeholders, by placeholder name
// (CustomerName, AgentName, ConversationID).
type Vars map[string]string

var (
	placeholderRE = regexp.MustCompile(`\{\{\s*([^{}]*?)\s*\}\}`)
	shortcutRE    = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]{0,31}$`)
)

// Render fills the placeholders of text ({{customer.name}},
// {{agent.name}}, {{conversation.id}}, spaces inside the braces allowed)
// from vars. A placeholder without a value in vars becomes "", so a
// customer without a name reads "Hi ," rather than "Hi {{customer.name}},";
// text that is not a placeholder is kept as it is. The result is plain
// text, never markup: values are not escaped or interpreted.
func Render(text string, vars Vars) string {
	return placeholderRE.ReplaceAllStringFunc(text, func(m string) string {
		name := placeholderRE.FindStringSubmatch(m)[1]
		if !slices.Contains(Placeholders, name) {
			return m
		}
		return vars[name]
	})
}

// CheckText refuses a text with a placeholder Render does not know, or
// with "{{" not closed by "}}".
func CheckText(text string) error {
	for _, m := range placeholderRE.FindAllStringSubmatch(text, -1) {
		if !slices.Contains(Placeholders, m[1]) {
			return fmt.Errorf("%w: unknown placeholder %s; known: {{%s}}", ErrInvalid, m[0], strings.Join(Placeholders, "}}, {{"))
		}
	}
	if rest := placeholderRE.ReplaceAllString(text, ""); strings.Contains(rest, "{{") {
		return fmt.Errorf("%w: %q opens a placeholder without closing it with }}", ErrInvalid, "{{")
	}
	return nil
}

// Validate checks a reply's shortcut, title and text.
func (r Reply) Validate() error {
	if !shortcutRE.MatchString(r.Shortcut) {
		return fmt.Errorf("%w: shortcut %q: 1-32 lower-case letters, digits, '_' or '-', starting with a letter or digit", ErrInvalid, r.Shortcut)
	}
	if strings.TrimSpace(r.Title) == "" || utf8.RuneCountInString(r.Title) > MaxTitle || strings.ContainsAny(r.Title, "\r\n") {
		return fmt.Errorf("%w: title: one line of 1-%d characters", ErrInvalid, MaxTitle)
	}
	if strings.TrimSpace(r.Text) == "" || len(r.Text) > MaxText || !utf8.ValidString(r.Text) {
		return fmt.Errorf("%w: text: 1-%d bytes of UTF-8", ErrInvalid, MaxText)
	}
	return CheckText(r.Text)
}

// Visible reports whether agent sees r (shared, or their own).
func (r Reply) Visible(agent string) bool { return r.Shared || r.Owner == agent }

// MayWrite reports whether agent (an admin or not) may change or delete r:
// admins the shared ones, an owner their own.
func (r Reply) MayWrite(agent string, admin bool) bool {
	if r.Shared {
		return admin
	}
	return r.Owner == agent
}

const key = "canned/replies"

// Store keeps the canned replies in a store's checkpoints.
type Store struct {
	st    store.Checkpoints
	clock func() time.Time
	mu    sync.Mutex // serialises this process's edits of the document
}

// New keeps replies in st; clock nil is time.Now.
func New(st store.Checkpoints, clock func() time.Time) *Store {
	if clock == nil {
		clock = time.Now
	}
	return &Store{st: st, clock: clock}
}

func (s *Store) all(ctx context.Context) ([]Reply, error) {
	b, err := s.st.GetCheckpoint(ctx, key)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var rs []Reply
	if err := json.Unmarshal(b, &rs); err != nil {
		return nil, fmt.Errorf("canned replies: %w", err)
	}
	return rs, nil
}

func (s *Store) save(ctx context.Context, rs []Reply) error {
	b, err := json.Marshal(rs)
	if err != nil {
		return err
	}
	return s.st.PutCheckpoint(ctx, key, b)
}

// List returns the replies agent sees (shared ones and their own), sorted
// by shortcut, shared first among equal shortcuts.
func (s *Store) List(ctx context.Context, agent string) ([]Reply, error) {
	rs, err := s.all(ctx)
	if err != nil {
		return nil, err
	}
	out := slices.DeleteFunc(rs, func(r Reply) bool { return !r.Visible(agent) })
	sort.SliceStable(out, func(i, j int) bool {
		if out[i].Shortcut != out[j].Shortcut {
			return out[i].Shortcut < out[j].Shortcut
		}
		return out[i].Shared && !out[j].Shared
	})
	return out, nil
}

// SharedText returns the text of the shared reply with shortcut: what an
// automation rule's send_reply action names with "canned" (a personal
// reply is not a rule's to use).
func (s *Store) SharedText(ctx context.Context, shortcut string) (string, error) {
	rs, err := s.all(ctx)
	if err != nil {
		return "", err
	}
	for _, r := range rs {
		if r.Shared && r.Shortcut == shortcut {
			return r.Text, nil
		}
	}
	return "", fmt.Errorf("no shared canned reply with shortcut %q", shortcut)
}

// Get returns reply id (store.ErrNotFound when there is none). It does not
// check who asks: callers check Visible.
func (s *Store) Get(ctx context.Context, id string) (Reply, error) {
	rs, err := s.all(ctx)
	if err != nil {
		return Reply{}, err
	}
	if i := slices.IndexFunc(rs, func(r Reply) bool { return r.ID == id }); i >= 0 {
		return rs[i], nil
	}
	return Reply{}, fmt.Errorf("%w: no canned reply %q", store.ErrNotFound, id)
}

// clash is ErrDuplicate when another reply of r's scope has its shortcut.
func clash(rs []Reply, r Reply) error {
	for _, x := range rs {
		if x.ID != r.ID && x.Shortcut == r.Shortcut && x.Shared == r.Shared && (r.Shared || x.Owner == r.Owner) {
			scope := "a shared"
			if !r.Shared {
				scope = "one of your"
			}
			return fmt.Errorf("%w: %s canned reply already has the shortcut %q", ErrDuplicate, scope, r.Shortcut)
		}
	}
	return nil
}

// Create validates r, gives it an id and stores it. A personal reply needs
// an Owner; a shared one has none.
func (s *Store) Create(ctx context.Context, r Reply, by string) (Reply, error) {
	if err := r.Validate(); err != nil {
		return Reply{}, err
	}
	if r.Shared {
		r.Owner = ""
	} else if r.Owner == "" {
		return Reply{}, fmt.Errorf("%w: a personal reply needs an owner", ErrInvalid)
	}
	var b [8]byte
	rand.Read(b[:])
	r.ID = "cr_" + hex.EncodeToString(b[:])
	r.UpdatedBy, r.UpdatedAt = by, s.clock().UTC()
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, err := s.all(ctx)
	if err != nil {
		return Reply{}, err
	}
	if err := clash(rs, r); err != nil {
		return Reply{}, err
	}
	return r, s.save(ctx, append(rs, r))
}

// Update applies change to reply id and stores it, validated; change may
// edit the shortcut, title and text (scope and owner are kept).
func (s *Store) Update(ctx context.Context, id, by string, change func(*Reply)) (Reply, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, err := s.all(ctx)
	if err != nil {
		return Reply{}, err
	}
	i := slices.IndexFunc(rs, func(r Reply) bool { return r.ID == id })
	if i < 0 {
		return Reply{}, fmt.Errorf("%w: no canned reply %q", store.ErrNotFound, id)
	}
	r := rs[i]
	change(&r)
	r.ID, r.Shared, r.Owner = rs[i].ID, rs[i].Shared, rs[i].Owner
	if err := r.Validate(); err != nil {
		return Reply{}, err
	}
	if err := clash(rs, r); err != nil {
		return Reply{}, err
	}
	r.UpdatedBy, r.UpdatedAt = by, s.clock().UTC()
	rs[i] = r
	return r, s.save(ctx, rs)
}

// Delete removes reply id (store.ErrNotFound when there is none).
func (s *Store) Delete(ctx context.Context, id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	rs, err := s.all(ctx)
	if err != nil {
		return err
	}
	n := len(rs)
	rs = slices.DeleteFunc(rs, func(r Reply) bool { return r.ID == id })
	if len(rs) == n {
		return fmt.Errorf("%w: no canned reply %q", store.ErrNotFound, id)
	}
	return s.save(ctx, rs)
}
