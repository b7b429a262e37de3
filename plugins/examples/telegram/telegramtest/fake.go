package telegramtest

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
	"unicode/utf16"
)

// User is a Telegram user (the parts the fake uses).
type User struct {
	ID        int64  `json:"id"`
	IsBot     bool   `json:"is_bot"`
	FirstName string `json:"first_name"`
	LastName  string `json:"last_name,omitempty"`
	Username  string `json:"username,omitempty"`
}

// Chat is a Telegram chat.
type Chat struct {
	ID   int64  `json:"id"`
	Type string `json:"type"`
}

// Message is a Telegram message.
type Message struct {
	MessageID int64  `json:"message_id"`
	From      *User  `json:"from,omitempty"`
	Chat      Chat   `json:"chat"`
	Date      int64  `json:"date"`
	Text      string `json:"text,omitempty"`
	Caption   string `json:"caption,omitempty"`
}

// Update is one getUpdates result.
type Update struct {
	UpdateID int64    `json:"update_id"`
	Message  *Message `json:"message,omitempty"`
}

// Sent is one sendMessage call the fake accepted.
type Sent struct {
	ChatID           int64  `json:"chat_id"`
	Text             string `json:"text"`
	ReplyToMessageID int64  `json:"reply_to_message_id,omitempty"`
	MessageID        int64  `json:"-"`
}

// Server is the fake. Token is the only bot token it accepts.
type Server struct {
	*httptest.Server
	Token string

	mu        sync.Mutex
	cond      *sync.Cond
	updates   []Update // not yet confirmed
	nextID    int64
	nextMsg   int64
	confirmed int64 // every update_id below this is confirmed
	sent      []Sent
	polls     int
	webhook   string
	blocked   map[int64]bool
	// failAfter >= 0: that many more sendMessage calls succeed, then every
	// one fails with failCode.
	failAfter int
	failCode  int
	served    map[int64]int // update_id -> times returned by getUpdates
}

// New starts a fake Bot API for token.
func New(token string) *Server {
	s := &Server{Token: token, nextID: 1000, nextMsg: 1, blocked: map[int64]bool{}, failAfter: -1, served: map[int64]int{}}
	s.cond = sync.NewCond(&s.mu)
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	return s
}

// Close wakes long polls and stops the server.
func (s *Server) Close() {
	s.mu.Lock()
	s.cond.Broadcast()
	s.mu.Unlock()
	s.Server.CloseClientConnections()
	s.Server.Close()
}

// UserSays queues a private-chat text message from user; it returns the update id.
func (s *Server) UserSays(from User, text string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := s.nextID
	s.nextID++
	msg := &Message{MessageID: s.nextMsg, From: &from, Chat: Chat{ID: from.ID, Type: "private"}, Date: time.Now().Unix(), Text: text}
	s.nextMsg++
	s.updates = append(s.updates, Update{UpdateID: id, Message: msg})
	s.cond.Broadcast()
	return id
}

// Block makes sendMessage to chat fail as when the user blocked the bot.
func (s *Server) Block(chat int64) {
	s.mu.Lock()
	s.blocked[chat] = true
	s.mu.Unlock()
}

// FailSendsAfter lets n more sendMessage calls succeed, then fails every
// one with code (429 or 5xx are retryable for a client); n < 0 stops failing.
func (s *Server) FailSendsAfter(n, code int) {
	s.mu.Lock()
	s.failAfter, s.failCode = n, code
	s.mu.Unlock()
}

// Sent returns the messages the bot sent.
func (s *Server) Sent() []Sent {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Sent(nil), s.sent...)
}

// Pending is how many updates are not yet confirmed.
func (s *Server) Pending() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.updates)
}

// Confirmed reports whether the bot confirmed update id (a later
// getUpdates offset passed it): the bot, and whatever it hands the update
// to, took it.
func (s *Server) Confirmed(id int64) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return id < s.confirmed
}

// Polls is how many getUpdates calls were answered.
func (s *Server) Polls() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.polls
}

// Reserved is how many updates getUpdates returned more than once (taken
// by the bot, not confirmed, served again: a redelivery after a crash).
func (s *Server) Reserved() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.served {
		if c > 1 {
			n++
		}
	}
	return n
}

// Webhook is the URL set by setWebhook ("" when none).
func (s *Server) Webhook() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.webhook
}

type answer struct {
	OK          bool   `json:"ok"`
	Result      any    `json:"result,omitempty"`
	ErrorCode   int    `json:"error_code,omitempty"`
	Description string `json:"description,omitempty"`
}

func reply(w http.ResponseWriter, code int, a answer) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	json.NewEncoder(w).Encode(a)
}

func fail(w http.ResponseWriter, code int, desc string) {
	reply(w, code, answer{OK: false, ErrorCode: code, Description: desc})
}

// params reads a method's parameters: JSON body, form or query, as the
// Bot API accepts all three.
func params(r *http.Request) map[string]any {
	out := map[string]any{}
	if strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		json.NewDecoder(r.Body).Decode(&out)
		return out
	}
	r.ParseForm()
	for k, v := range r.Form {
		out[k] = v[0]
	}
	return out
}

func num(v any) int64 {
	switch v := v.(type) {
	case float64:
		return int64(v)
	case string:
		var n int64
		json.Unmarshal([]byte(v), &n)
		return n
	}
	return 0
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot"+s.Token+"/")
	if !ok {
		fail(w, http.StatusUnauthorized, "Unauthorized")
		return
	}
	p := params(r)
	switch rest {
	case "getMe":
		reply(w, 200, answer{OK: true, Result: User{ID: 4242, IsBot: true, FirstName: "Switchboard", Username: "switchboard_test_bot"}})
	case "getUpdates":
		s.getUpdates(w, r, p)
	case "sendMessage":
		s.sendMessage(w, p)
	case "setWebhook":
		s.mu.Lock()
		s.webhook, _ = p["url"].(string)
		s.mu.Unlock()
		reply(w, 200, answer{OK: true, Result: true})
	case "deleteWebhook":
		s.mu.Lock()
		s.webhook = ""
		s.mu.Unlock()
		reply(w, 200, answer{OK: true, Result: true})
	default:
		fail(w, http.StatusNotFound, "Not Found: method not found")
	}
}

func (s *Server) getUpdates(w http.ResponseWriter, r *http.Request, p map[string]any) {
	offset, limit, timeout := num(p["offset"]), num(p["limit"]), num(p["timeout"])
	if limit <= 0 || limit > 100 {
		limit = 100
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.webhook != "" {
		fail(w, http.StatusConflict, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first")
		return
	}
	if offset > s.confirmed {
		s.confirmed = offset
		kept := s.updates[:0]
		for _, u := range s.updates {
			if u.UpdateID >= offset {
				kept = append(kept, u)
			}
		}
		s.updates = kept
	}
	deadline := time.Now().Add(time.Duration(timeout) * time.Second)
	for len(s.updates) == 0 && time.Now().Before(deadline) && r.Context().Err() == nil {
		// Wake up at least every 50ms to notice the deadline and the caller leaving.
		t := time.AfterFunc(50*time.Millisecond, func() { s.mu.Lock(); s.cond.Broadcast(); s.mu.Unlock() })
		s.cond.Wait()
		t.Stop()
	}
	n := min(int(limit), len(s.updates))
	out := append([]Update{}, s.updates[:n]...)
	for _, u := range out {
		s.served[u.UpdateID]++
	}
	s.polls++
	reply(w, 200, answer{OK: true, Result: out})
}

func (s *Server) sendMessage(w http.ResponseWriter, p map[string]any) {
	chat := num(p["chat_id"])
	text, _ := p["text"].(string)
	if chat == 0 || text == "" {
		fail(w, http.StatusBadRequest, "Bad Request: chat_id and text are required")
		return
	}
	if len(utf16.Encode([]rune(text))) > 4096 { // Telegram counts UTF-16 code units
		fail(w, http.StatusBadRequest, "Bad Request: message is too long")
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failAfter == 0 {
		fail(w, s.failCode, http.StatusText(s.failCode))
		return
	}
	if s.failAfter > 0 {
		s.failAfter--
	}
	if s.blocked[chat] {
		fail(w, http.StatusForbidden, "Forbidden: bot was blocked by the user")
		return
	}
	var replyTo int64
	if rp, ok := p["reply_parameters"].(map[string]any); ok {
		replyTo = num(rp["message_id"])
	}
	id := s.nextMsg
	s.nextMsg++
	s.sent = append(s.sent, Sent{ChatID: chat, Text: text, ReplyToMessageID: replyTo, MessageID: id})
	reply(w, 200, answer{OK: true, Result: Message{MessageID: id, Chat: Chat{ID: chat, Type: "private"}, Date: time.Now().Unix(), Text: text,
		From: &User{ID: 4242, IsBot: true, FirstName: "Switchboard"}}})
}
