package email

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	_ "github.com/emersion/go-message/charset" // every charset golang.org/x/text knows
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-message/textproto"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Flags set on parsed mail.
const (
	FlagMalformed      = "malformed-mime"  // kept raw as original.eml
	FlagTruncated      = "truncated"       // the mail was larger than max_message_bytes
	FlagTextTruncated  = "text-truncated"  // the body text was cut at maxTextBytes
	FlagUnknownCharset = "unknown-charset" // bytes shown as is
	FlagQuoteTrimmed   = "quote-trimmed"   // quoted history moved to the "Quoted" field
	FlagHTMLOnly       = "html-only"       // text derived from HTML
	FlagBounce         = "bounce"
	FlagAutoReply      = "auto-reply"
	FlagBulk           = "bulk"
	FlagDMARCFail      = "dmarc-fail"
	FlagNoSender       = "no-sender" // no parseable From: identity is a placeholder
	FlagOwnMail        = "own-mail"  // the hub's own mail, come back
)

// maxTextBytes caps the text kept for the timeline (the hub refuses more
// than 1 MiB); the whole mail stays available as original.eml when cut.
const maxTextBytes = 512 << 10

// maxDepth bounds multipart nesting (a hostile mail nests thousands deep).
const maxDepth = 32

// OriginalName is the attachment name of a mail kept raw.
const OriginalName = "original.eml"

// Part is one attachment or inline image of a parsed mail. Data is nil when
// the content was not kept (Omitted says why).
type Part struct {
	Name        string
	ContentType string
	ContentID   string
	Inline      bool
	Data        []byte
	Size        int64
	Omitted     string
}

// Bounce is what a delivery status notification says about a mail.
type Bounce struct {
	// OriginalMessageID is the reported mail's Message-ID, without brackets.
	OriginalMessageID string
	Action            string // failed, delayed, delivered, relayed, expanded
	Recipient         string
	Status            string // e.g. 5.1.1
	Diagnostic        string
}

// Parsed is a mail taken apart. Parse never fails: whatever could not be
// read is flagged, and a mail that is not valid MIME is kept whole.
type Parsed struct {
	MessageID  string // without brackets; "" when absent or unusable
	InReplyTo  []string
	References []string
	From       *mail.Address
	Subject    string
	Date       time.Time
	Text       string
	HTML       string // sanitized
	Quoted     string // reply history cut from Text
	Parts      []Part
	Fields     []connectors.Field
	Flags      []string
	NoReply    bool
	// DMARCFail: some Authentication-Results header says dmarc=fail
	// (flagged for the agent whoever added it; it never verifies).
	DMARCFail bool
	// AuthResults are the mail's Authentication-Results headers, topmost
	// (most recently added) first; Authenticated judges them.
	AuthResults []AuthResult
	Bounce      *Bounce
	// ThreadIndexRoot is the GUID of an Outlook Thread-Index header (hex),
	// ThreadTopic its Thread-Topic: Outlook keeps both when it drops
	// In-Reply-To and References.
	ThreadIndexRoot string
	ThreadTopic     string

	// fromHeader: From holds exactly one address, the one in From.
	fromHeader bool
}

func (p *Parsed) flag(f string) {
	for _, x := range p.Flags {
		if x == f {
			return
		}
	}
	p.Flags = append(p.Flags, f)
}

// Has reports whether the parsed mail carries flag f.
func (p *Parsed) Has(f string) bool {
	for _, x := range p.Flags {
		if x == f {
			return true
		}
	}
	return false
}

type parser struct {
	lim       Limits
	out       *Parsed
	texts     []string
	htmls     []string
	kept      int64 // attachment bytes kept so far
	malformed []string
	report    bool
}

// Parse takes a raw mail apart. lim bounds attachments; truncated says the
// raw bytes are only the first max_message_bytes of a larger mail.
func Parse(raw []byte, lim Limits, truncated bool) (out *Parsed) {
	if lim.MaxAttachmentBytes <= 0 {
		lim.MaxAttachmentBytes = DefaultMaxAttachmentBytes
	}
	if lim.MaxMessageBytes <= 0 {
		lim.MaxMessageBytes = DefaultMaxMessageBytes
	}
	p := &parser{lim: lim, out: &Parsed{}}
	defer func() {
		// go-message and x/net/html are not expected to panic; if one ever
		// does on some hostile input, the mail is still kept raw.
		if r := recover(); r != nil {
			out = p.out
			p.malformed = append(p.malformed, fmt.Sprintf("parser panic: %v", r))
			p.finish(raw)
		}
	}()
	if truncated {
		p.out.flag(FlagTruncated)
		p.malformed = append(p.malformed, "truncated")
	}
	e, err := message.ReadWithOptions(bytes.NewReader(raw), &message.ReadOptions{MaxHeaderBytes: 1 << 20})
	if e == nil {
		p.malformed = append(p.malformed, "header: "+errString(err))
		p.lenientHeader(raw)
		p.out.Text = bodyGuess(raw)
		p.finish(raw)
		return p.out
	}
	if err != nil {
		p.charsetOrEncoding(err)
	}
	p.header(e.Header)
	p.entity(e, 0, "")
	p.finish(raw)
	return p.out
}

func errString(err error) string {
	if err == nil {
		return "unreadable"
	}
	return err.Error()
}

func (p *parser) charsetOrEncoding(err error) {
	switch {
	case message.IsUnknownCharset(err):
		p.out.flag(FlagUnknownCharset)
	case message.IsUnknownEncoding(err):
		p.malformed = append(p.malformed, err.Error())
	default:
		p.malformed = append(p.malformed, err.Error())
	}
}

var msgIDRe = regexp.MustCompile(`<([^<>\s]{1,250})>`)

// msgIDs extracts message ids leniently: every <...> token (go-message's
// strict parser rejects ids real mailers produce).
func msgIDs(v string) []string {
	var out []string
	for _, m := range msgIDRe.FindAllStringSubmatch(v, 50) {
		if id := cleanID(m[1]); id != "" {
			out = append(out, id)
		}
	}
	return out
}

func cleanID(id string) string {
	id = strings.TrimSpace(id)
	if id == "" || len(id) > 250 || !utf8.ValidString(id) {
		return ""
	}
	for _, r := range id {
		if r <= ' ' || r == '<' || r == '>' || r == 0x7f {
			return ""
		}
	}
	return id
}

func (p *parser) header(h message.Header) {
	mh := gomail.Header{Header: h}
	o := p.out
	if ids := msgIDs(h.Get("Message-Id")); len(ids) > 0 {
		o.MessageID = ids[0]
	} else if v := strings.TrimSpace(h.Get("Message-Id")); strings.Contains(v, "@") && !strings.ContainsAny(v, " \t") {
		o.MessageID = cleanID(v)
	}
	o.InReplyTo = msgIDs(h.Get("In-Reply-To"))
	o.References = msgIDs(h.Get("References"))
	if s, err := mh.Subject(); err == nil || s != "" {
		o.Subject = text1(s)
	}
	if d, err := mh.Date(); err == nil && !d.IsZero() {
		o.Date = d
	}
	o.From = firstAddress(mh, "From")
	if l, err := mh.AddressList("From"); err == nil && len(l) == 1 && o.From != nil && l[0].Address == o.From.Address {
		o.fromHeader = true
	}
	if o.From == nil {
		o.From = firstAddress(mh, "Sender")
	}
	for _, k := range []string{"To", "Cc", "Reply-To"} {
		if v := decodedHeader(h, k); v != "" {
			o.Fields = append(o.Fields, connectors.Field{Name: k, Value: v})
		}
	}
	if o.MessageID != "" {
		o.Fields = append(o.Fields, connectors.Field{Name: "Message-ID", Value: "<" + o.MessageID + ">"})
	}
	// Loop and noise protection (RFC 3834 and common practice).
	// Any value but "no" (a value that is only a comment included): the
	// safe side is not to answer.
	if v := strings.TrimSpace(h.Get("Auto-Submitted")); v != "" && headerKeyword(v) != "no" {
		o.NoReply = true
		o.flag(FlagAutoReply)
	}
	if h.Get("X-Autoreply") != "" || h.Get("X-Autorespond") != "" {
		o.NoReply = true
		o.flag(FlagAutoReply)
	}
	switch headerKeyword(h.Get("Precedence")) {
	case "bulk", "list", "junk":
		o.NoReply = true
		o.flag(FlagBulk)
	}
	if h.Get("List-Id") != "" || h.Get("List-Unsubscribe") != "" {
		o.NoReply = true
		o.flag(FlagBulk)
	}
	if strings.TrimSpace(h.Get("Return-Path")) == "<>" {
		o.NoReply = true
	}
	// Exchange and Outlook ask for no automatic answer with this header
	// (on their own automatic mail, and on mail a user sent so).
	if h.Get("X-Auto-Response-Suppress") != "" {
		o.NoReply = true
	}
	if o.From != nil && NoReplyAddress(o.From.Address) {
		o.NoReply = true
	}
	o.ThreadIndexRoot = threadIndexRoot(h.Get("Thread-Index"))
	o.ThreadTopic = decodedHeader(h, "Thread-Topic")
	fields := h.FieldsByKey("Authentication-Results")
	for fields.Next() {
		if dmarcFailRe.MatchString(fields.Value()) {
			o.DMARCFail = true
			o.flag(FlagDMARCFail)
		}
		if len(o.AuthResults) < maxAuthResults {
			if ar, ok := parseAuthResults(fields.Value()); ok {
				o.AuthResults = append(o.AuthResults, ar)
			}
		}
	}
}

var dmarcFailRe = regexp.MustCompile(`(?i)\bdmarc\s*=\s*fail\b`)

func firstAddress(h gomail.Header, key string) *mail.Address {
	v := h.Get(key)
	if v == "" {
		return nil
	}
	if l, err := h.AddressList(key); err == nil && len(l) > 0 && l[0].Address != "" {
		return &mail.Address{Name: text1(l[0].Name), Address: l[0].Address}
	}
	// Lenient fallback: the first thing that looks like an address.
	if m := addrRe.FindString(v); m != "" {
		return &mail.Address{Address: m}
	}
	return nil
}

var addrRe = regexp.MustCompile(`[A-Za-z0-9.!#$%&'*+/=?^_{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+`)

func decodedHeader(h message.Header, k string) string {
	v, err := h.Text(k)
	if err != nil && v == "" {
		v = h.Get(k)
	}
	return text1(v)
}

// text1 makes a header value safe to show: valid UTF-8 on one line.
func text1(s string) string {
	return oneLine(strings.ToValidUTF8(s, "\uFFFD"))
}

// lenientHeader recovers what it can from a header go-message refused.
func (p *parser) lenientHeader(raw []byte) {
	head := raw
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		head = raw[:i]
	} else if i := bytes.Index(raw, []byte("\r\n\r\n")); i >= 0 {
		head = raw[:i]
	}
	if len(head) > 1<<20 {
		head = head[:1<<20]
	}
	sc := bufio.NewScanner(bytes.NewReader(head))
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	dec := new(mime.WordDecoder)
	for sc.Scan() {
		line := sc.Text()
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		switch strings.ToLower(strings.TrimSpace(k)) {
		case "from":
			if a, err := mail.ParseAddress(v); err == nil {
				p.out.From = a
			} else if m := addrRe.FindString(v); m != "" {
				p.out.From = &mail.Address{Address: m}
			}
		case "subject":
			if s, err := dec.DecodeHeader(v); err == nil {
				v = s
			}
			p.out.Subject = text1(v)
		case "message-id":
			if ids := msgIDs(v); len(ids) > 0 {
				p.out.MessageID = ids[0]
			}
		case "in-reply-to":
			p.out.InReplyTo = msgIDs(v)
		case "references":
			p.out.References = msgIDs(v)
		case "date":
			if d, err := mail.ParseDate(v); err == nil {
				p.out.Date = d
			}
		}
	}
}

// bodyGuess is the readable text of a mail whose structure is unusable.
func bodyGuess(raw []byte) string {
	body := raw
	if i := bytes.Index(raw, []byte("\n\n")); i >= 0 {
		body = raw[i+2:]
	}
	if len(body) > maxTextBytes {
		body = body[:maxTextBytes]
	}
	return cleanText(string(body))
}

func cleanText(s string) string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r\n", "\n")
	s = strings.Map(func(r rune) rune {
		if r == 0 || r == '\r' {
			return -1
		}
		return r
	}, s)
	return s
}

func (p *parser) entity(e *message.Entity, depth int, parentType string) {
	if depth > maxDepth {
		p.malformed = append(p.malformed, "multipart nested too deep")
		return
	}
	mt, params, err := e.Header.ContentType()
	if err != nil || mt == "" {
		if e.Header.Get("Content-Type") != "" {
			p.malformed = append(p.malformed, "bad content-type")
		}
		mt, params = "text/plain", map[string]string{}
		if parentType == "multipart/digest" {
			mt = "message/rfc822"
		}
	}
	disp, dparams, _ := e.Header.ContentDisposition()
	name := dparams["filename"]
	if name == "" {
		name = params["name"]
	}
	if name != "" {
		// RFC 2047-encoded names are common in the wild despite RFC 2231.
		if d, err := new(mime.WordDecoder).DecodeHeader(name); err == nil {
			name = d
		}
		name = text1(name)
	}
	attachment := strings.EqualFold(disp, "attachment") || (name != "" && !strings.HasPrefix(mt, "multipart/"))

	switch {
	case strings.HasPrefix(mt, "multipart/"):
		if mt == "multipart/report" {
			p.report = true
			p.out.NoReply = true
		}
		mr := e.MultipartReader()
		if mr == nil {
			return
		}
		for i := 0; ; i++ {
			if i > 1000 {
				p.malformed = append(p.malformed, "too many parts")
				return
			}
			part, err := mr.NextPart()
			if err == io.EOF {
				return
			}
			if part == nil {
				p.malformed = append(p.malformed, "multipart: "+errString(err))
				return
			}
			if err != nil {
				p.charsetOrEncoding(err)
			}
			p.entity(part, depth+1, mt)
		}
	case mt == "message/delivery-status" || mt == "message/global-delivery-status":
		p.deliveryStatus(e.Body)
	case (mt == "message/rfc822" || mt == "text/rfc822-headers" || mt == "message/global" || mt == "message/global-headers") && p.report:
		// The returned mail (or its header) inside a bounce.
		h, err := textproto.ReadHeader(bufio.NewReader(io.LimitReader(e.Body, 1<<20)))
		if err == nil || h.Len() > 0 {
			if ids := msgIDs(h.Get("Message-Id")); len(ids) > 0 {
				p.bounce().OriginalMessageID = ids[0]
			}
		}
		_, _ = io.Copy(io.Discard, e.Body)
	case !attachment && mt == "text/plain":
		p.texts = append(p.texts, p.readText(e.Body))
	case !attachment && mt == "text/html":
		p.htmls = append(p.htmls, p.readText(e.Body))
	default:
		if name == "" {
			name = defaultName(mt)
		}
		inline := strings.EqualFold(disp, "inline") || (disp == "" && e.Header.Get("Content-Id") != "")
		p.attachment(e.Body, Part{Name: name, ContentType: mt, ContentID: strings.Trim(e.Header.Get("Content-Id"), "<> "), Inline: inline})
	}
}

func defaultName(mt string) string {
	switch {
	case mt == "message/rfc822":
		return "attached.eml"
	case strings.HasPrefix(mt, "text/"):
		return "attachment.txt"
	}
	if exts, _ := mime.ExtensionsByType(mt); len(exts) > 0 {
		return "attachment" + exts[0]
	}
	return "attachment.bin"
}

func (p *parser) readText(r io.Reader) string {
	b, err := io.ReadAll(io.LimitReader(r, maxTextBytes+1))
	if err != nil {
		p.malformed = append(p.malformed, "body: "+err.Error())
	}
	if len(b) > maxTextBytes {
		b = b[:maxTextBytes]
		p.out.flag(FlagTextTruncated)
		if _, err := io.Copy(io.Discard, r); err != nil {
			p.malformed = append(p.malformed, "body: "+err.Error())
		}
	}
	return cleanText(string(b))
}

func (p *parser) attachment(r io.Reader, part Part) {
	limit := p.lim.MaxAttachmentBytes
	if left := p.lim.MaxMessageBytes - p.kept; left < limit {
		limit = left
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		p.malformed = append(p.malformed, fmt.Sprintf("attachment %q: %v", part.Name, err))
	}
	part.Size = int64(len(b))
	if int64(len(b)) > limit {
		n, _ := io.Copy(io.Discard, r)
		part.Size += n
		if limit < p.lim.MaxAttachmentBytes {
			part.Omitted = fmt.Sprintf("the mail's attachments exceed max_message_bytes (%d bytes)", p.lim.MaxMessageBytes)
		} else {
			part.Omitted = fmt.Sprintf("larger than max_attachment_bytes (%d bytes)", p.lim.MaxAttachmentBytes)
		}
		p.out.Parts = append(p.out.Parts, part)
		return
	}
	if err != nil && len(b) == 0 {
		part.Omitted = "unreadable: " + err.Error()
		p.out.Parts = append(p.out.Parts, part)
		return
	}
	part.Data = b
	p.kept += part.Size
	p.out.Parts = append(p.out.Parts, part)
}

func (p *parser) bounce() *Bounce {
	if p.out.Bounce == nil {
		p.out.Bounce = &Bounce{}
	}
	return p.out.Bounce
}

// deliveryStatus reads a message/delivery-status body (RFC 3464): one
// per-message block, then one block per recipient.
func (p *parser) deliveryStatus(r io.Reader) {
	br := bufio.NewReader(io.LimitReader(r, 1<<20))
	b := p.bounce()
	for i := 0; i < 100; i++ {
		h, err := textproto.ReadHeader(br)
		if h.Len() > 0 {
			if v := h.Get("Original-Envelope-Id"); v != "" && b.OriginalMessageID == "" {
				if ids := msgIDs(v); len(ids) > 0 && isHubID(ids[0]) {
					b.OriginalMessageID = ids[0]
				} else if isHubID(v) {
					b.OriginalMessageID = cleanID(strings.Trim(v, "<> "))
				}
			}
			if v := strings.ToLower(strings.TrimSpace(h.Get("Action"))); v != "" && (b.Action == "" || v == "failed") {
				b.Action = v
				b.Recipient = afterType(h.Get("Final-Recipient"))
				b.Status = text1(h.Get("Status"))
				b.Diagnostic = text1(afterType(h.Get("Diagnostic-Code")))
			}
		}
		if err != nil {
			break
		}
		// Skip blank lines between blocks.
		for {
			c, err := br.Peek(1)
			if err != nil || (c[0] != '\n' && c[0] != '\r') {
				break
			}
			_, _ = br.ReadByte()
		}
		if _, err := br.Peek(1); err != nil {
			break
		}
	}
	_, _ = io.Copy(io.Discard, r)
}

// afterType strips the "rfc822;" / "smtp;" type of a DSN field.
func afterType(v string) string {
	if _, rest, ok := strings.Cut(v, ";"); ok {
		return strings.TrimSpace(rest)
	}
	return strings.TrimSpace(v)
}

var hubIDInTextRe = regexp.MustCompile(`<(sb\.[a-z2-7x]+\.[a-z2-7]+@[A-Za-z0-9.-]+)>`)

func (p *parser) finish(raw []byte) {
	o := p.out
	text := strings.TrimSpace(strings.Join(nonEmpty(p.texts), "\n\n"))
	html := strings.Join(nonEmpty(p.htmls), "\n")
	if html != "" {
		o.HTML = sanitizeHTML(html)
		if text == "" {
			text = strings.TrimSpace(htmlToText(html))
			o.flag(FlagHTMLOnly)
		}
	}
	if text == "" && o.Text != "" {
		text = o.Text
	}
	if p.report || o.Bounce != nil {
		o.NoReply = true
		o.flag(FlagBounce)
		b := p.bounce()
		// A bounce without a usable report still names our Message-ID
		// somewhere in the returned text.
		if b.OriginalMessageID == "" {
			if m := hubIDInTextRe.FindSubmatch(raw); m != nil {
				b.OriginalMessageID = string(m[1])
			}
		}
		if b.Action == "" {
			b.Action = "failed"
		}
		desc := strings.TrimSpace(strings.Join(nonEmpty([]string{b.Action, b.Recipient, b.Status, b.Diagnostic}), " "))
		o.Fields = append(o.Fields, connectors.Field{Name: "Delivery status", Value: desc})
		if b.OriginalMessageID != "" {
			o.Fields = append(o.Fields, connectors.Field{Name: "Reported message", Value: "<" + b.OriginalMessageID + ">"})
		}
	} else if o.From != nil && isDaemon(o.From.Address) {
		// Old-style bounces: from MAILER-DAEMON, plain text, our id quoted.
		if m := hubIDInTextRe.FindSubmatch(raw); m != nil {
			o.Bounce = &Bounce{OriginalMessageID: string(m[1]), Action: "failed", Diagnostic: firstLine(text)}
			o.flag(FlagBounce)
		}
	}
	if !o.Has(FlagBounce) && !o.Has(FlagMalformed) {
		if fresh, quoted := splitQuoted(text); quoted != "" {
			text, o.Quoted = fresh, quoted
			o.flag(FlagQuoteTrimmed)
			q := quoted
			if len(q) > 64<<10 {
				q = strings.ToValidUTF8(q[:64<<10], "")
			}
			o.Fields = append(o.Fields, connectors.Field{Name: "Quoted", Value: q})
		}
	}
	o.Text = text
	if len(p.malformed) > 0 {
		o.flag(FlagMalformed)
		o.Fields = append(o.Fields, connectors.Field{Name: "MIME problem", Value: text1(strings.Join(p.malformed, "; "))})
		// The mail is kept whole, whatever its size was within max_message_bytes.
		o.Parts = append(o.Parts, Part{Name: OriginalName, ContentType: "message/rfc822", Data: raw, Size: int64(len(raw))})
		if o.Text == "" {
			o.Text = bodyGuess(raw)
		}
	}
	if len(o.Text) > maxTextBytes {
		o.Text = strings.ToValidUTF8(o.Text[:maxTextBytes], "")
		o.flag(FlagTextTruncated)
	}
}

func isDaemon(addr string) bool {
	local := strings.ToLower(addr)
	if i := strings.LastIndexByte(local, '@'); i >= 0 {
		local = local[:i]
	}
	return local == "mailer-daemon" || local == "postmaster"
}

func firstLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if t := strings.TrimSpace(l); t != "" {
			if len(t) > 300 {
				t = strings.ToValidUTF8(t[:300], "")
			}
			return t
		}
	}
	return ""
}

func nonEmpty(ss []string) []string {
	var out []string
	for _, s := range ss {
		if strings.TrimSpace(s) != "" {
			out = append(out, s)
		}
	}
	return out
}

// headerKeyword is the keyword of a structured header value such as
// Auto-Submitted or Precedence, lower-cased, without comments and
// parameters ("No (typed by hand); x=y" gives "no"): RFC 3834 §5 allows
// both around the keyword. A value that is only a comment gives "".
func headerKeyword(v string) string {
	var b strings.Builder
	depth := 0
	for _, r := range v {
		switch {
		case r == '(':
			depth++
		case r == ')' && depth > 0:
			depth--
		case depth > 0:
		case r == ';':
			return strings.ToLower(strings.TrimSpace(b.String()))
		case r == ' ' || r == '\t' || r == '\r' || r == '\n':
			if b.Len() > 0 {
				return strings.ToLower(b.String())
			}
		default:
			b.WriteRune(r)
		}
	}
	return strings.ToLower(b.String())
}
