package connectors

import (
	"crypto/sha256"
	"encoding/base32"
	"encoding/hex"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// ThreadHints are what a mail-like channel knows about the thread of a
// message beyond ThreadKey. The router's threading chain (router/thread.go)
// tries them in order, each only when the one before found nothing: the
// hub's own ids, every Message-ID the hub has seen or sent, the hub's
// subject token, Outlook's Thread-Index, then the subject within Window.
type ThreadHints struct {
	// MessageID is the message's own id, without angle brackets ("" when
	// it has none): the hub indexes it so later replies naming it thread,
	// and the same mail reaching a second mailbox is recognised.
	MessageID string `json:"message_id,omitempty"`
	// HubKey: ThreadKey was decoded from one of the hub's own Message-IDs
	// named in In-Reply-To or References (the most reliable step).
	HubKey bool `json:"hub_key,omitempty"`
	// Refs are the ids the message answers, without brackets: In-Reply-To,
	// then References newest first; at most MaxThreadRefs.
	Refs []string `json:"refs,omitempty"`
	// Token is the hub's short conversation reference found in the
	// subject ("[#4F2KQX]" gives "4F2KQX"), upper-case.
	Token string `json:"token,omitempty"`
	// IndexRoot is the GUID of an Outlook Thread-Index (hex, 32 digits).
	IndexRoot string `json:"index_root,omitempty"`
	// Subject is the normalised subject (NormalizeSubject).
	Subject string `json:"subject,omitempty"`
	// Window is how long after a conversation's last activity a message
	// with the same normalised subject from the same customer still joins
	// it (email.thread_window); 0: the subject step is skipped.
	Window time.Duration `json:"window,omitempty"`
	// Mailbox names where the message was found ("support/INBOX"): one
	// mail reaching several mailboxes is one entry listing each.
	Mailbox string `json:"mailbox,omitempty"`
}

// MaxThreadRefs bounds ThreadHints.Refs (a hostile mail may name
// thousands; a real thread's newest few are enough).
const MaxThreadRefs = 20

var tokenEnc = base32.NewEncoding("0123456789ABCDEFGHJKMNPQRSTVWXYZ").WithPadding(base32.NoPadding)

// ConversationToken is the short reference of a conversation the hub puts
// in the subject of its mail ("[#4F2KQX]"): 6 characters of Crockford
// base32 (30 bits) of a hash of the conversation id. Only ever compared
// among one customer's conversations, so collisions do not matter.
func ConversationToken(conversationID string) string {
	h := sha256.Sum256([]byte("sb-token\x00" + conversationID))
	return tokenEnc.EncodeToString(h[:5])[:6]
}

// ThreadIndexGUID is the GUID (16 bytes) of the Outlook Thread-Index the
// hub writes on its mail in a conversation; Outlook keeps it in the index
// of every answer, even when it drops In-Reply-To and References.
func ThreadIndexGUID(conversationID string) []byte {
	h := sha256.Sum256([]byte("sb-thread-index\x00" + conversationID))
	return h[:16]
}

// ThreadIndexRoot is ThreadIndexGUID in hex, as ThreadHints.IndexRoot.
func ThreadIndexRoot(conversationID string) string {
	return hex.EncodeToString(ThreadIndexGUID(conversationID))
}

// replyPrefixes are the reply and forward markers of mail clients in
// several languages (lower-case, without the colon): Re (English and
// most), Aw/Antw (German, Dutch), Sv (Swedish, Danish, Norwegian), Vs
// (Finnish), Vl/Vs/Välitetty (Finnish forwards), Fw/Fwd, Wg (German
// forward), Tr (French forward), Rif/R (Italian), Ref, Odp (Polish), Ynt
// (Turkish), Enc (Portuguese forward), Rv (Spanish forward), Atb
// (Latvian), Vá (Hungarian), Továbbítás, Odg (Croatian).
var replyPrefixes = map[string]bool{
	"re": true, "aw": true, "antw": true, "antwort": true, "sv": true, "vs": true, "vl": true, "fw": true, "fwd": true,
	"wg": true, "tr": true, "rif": true, "r": true, "ref": true, "odp": true, "ynt": true, "enc": true, "rv": true,
	"atb": true, "vá": true, "odg": true, "res": true, "rép": true, "réf": true, "trs": true, "välitetty": true,
	"doorst": true, "vb": true, "απ": true, "σχετ": true, "回复": true, "转发": true, "答复": true,
}

// maxSubjectPrefixes bounds how many prefixes are removed (a subject of
// ten thousand "Re:" stays linear anyway; this keeps the work small).
const maxSubjectPrefixes = 64

// NormalizeSubject reduces a subject to what a thread keeps: reply and
// forward prefixes (Re:, RE:, AW:, VS:, SV:, Fwd:, VL:, "Re[2]:", "Re :",
// any number, in any mix), bracketed tags at the start ("[#4F2KQX]",
// "[EXTERNAL]"), the hub's token anywhere, "(fwd)" at the end, case and
// runs of white space. The result is lower-case; "" for a subject that is
// nothing but prefixes.
func NormalizeSubject(s string) string {
	s = strings.ToValidUTF8(s, "")
	s = strings.Join(strings.FieldsFunc(s, func(r rune) bool { return unicode.IsSpace(r) || unicode.IsControl(r) }), " ")
	for i := 0; i < maxSubjectPrefixes && s != ""; i++ {
		t := stripPrefix(s)
		if t == s {
			break
		}
		s = t
	}
	s = strings.TrimSpace(s)
	for i := 0; i < maxSubjectPrefixes && len(s) >= 5 && strings.EqualFold(s[len(s)-5:], "(fwd)"); i++ {
		s = strings.TrimRight(s[:len(s)-5], " ")
	}
	if tok := SubjectToken(s); tok != "" {
		s = strings.Replace(s, "[#"+tok+"]", "", 1)
		s = strings.Join(strings.Fields(s), " ")
	}
	return strings.ToLower(s)
}

// stripPrefix removes one leading reply prefix or bracketed tag from s.
func stripPrefix(s string) string {
	s = strings.TrimLeft(s, " ")
	if strings.HasPrefix(s, "[") {
		if i := strings.IndexByte(s, ']'); i > 0 && i <= 40 {
			return strings.TrimLeft(s[i+1:], " ")
		}
		return s
	}
	// A word, optionally "[N]" or "(N)" or "^N", optional spaces, then ':'
	// (or the full-width '：').
	end := 0
	for end < len(s) {
		r, n := utf8.DecodeRuneInString(s[end:])
		if !unicode.IsLetter(r) && r != '.' {
			break
		}
		end += n
		if end > 24 {
			return s
		}
	}
	if end == 0 || !replyPrefixes[strings.ToLower(s[:end])] {
		return s
	}
	rest := s[end:]
	if len(rest) > 0 && (rest[0] == '[' || rest[0] == '(') {
		close := byte(']')
		if rest[0] == '(' {
			close = ')'
		}
		i := 1
		for i < len(rest) && i < 8 && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		if i > 1 && i < len(rest) && rest[i] == close {
			rest = rest[i+1:]
		}
	} else if len(rest) > 0 && rest[0] == '^' {
		i := 1
		for i < len(rest) && i < 8 && rest[i] >= '0' && rest[i] <= '9' {
			i++
		}
		rest = rest[i:]
	}
	rest = strings.TrimLeft(rest, " ")
	switch {
	case strings.HasPrefix(rest, ":"):
		return strings.TrimLeft(rest[1:], " ")
	case strings.HasPrefix(rest, "："):
		return strings.TrimLeft(rest[len("："):], " ")
	}
	return s
}

// SubjectToken returns the hub's conversation token in s ("[#4F2KQX]"
// gives "4F2KQX", upper-cased), or "".
func SubjectToken(s string) string {
	for i := 0; i < len(s); {
		j := strings.Index(s[i:], "[#")
		if j < 0 {
			return ""
		}
		j += i
		if j+9 <= len(s) && s[j+8] == ']' {
			tok := strings.ToUpper(s[j+2 : j+8])
			ok := true
			for k := 0; k < len(tok); k++ {
				if !strings.ContainsRune("0123456789ABCDEFGHJKMNPQRSTVWXYZ", rune(tok[k])) {
					ok = false
					break
				}
			}
			if ok {
				return tok
			}
		}
		i = j + 2
	}
	return ""
}
