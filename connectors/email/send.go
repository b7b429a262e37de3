package email

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"html"
	"io"
	"mime"
	"net"
	"net/mail"
	"strings"
	"time"

	"github.com/emersion/go-message"
	gomail "github.com/emersion/go-message/mail"
	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Send implements connectors.Sender: the reply goes out from the channel's
// address as multipart/alternative (text and HTML), with In-Reply-To and
// References naming the customer's mail and a Message-ID that carries the
// conversation. A 5xx answer is permanent (ErrPermanent, with the server's
// reply); 4xx answers and network errors are retried by the hub.
func (c *Channel) Send(ctx context.Context, out connectors.Outgoing) (connectors.SendResult, error) {
	if out.To.Type != connectors.Email {
		return connectors.SendResult{}, fmt.Errorf("%w: email cannot reach a %s identity", connectors.ErrPermanent, out.To.Type)
	}
	to, err := mail.ParseAddress(out.To.Value)
	if err != nil || to.Address != strings.TrimSpace(out.To.Value) {
		return connectors.SendResult{}, fmt.Errorf("%w: recipient %q is not an address", connectors.ErrPermanent, out.To.Value)
	}
	if out.Automatic {
		// RFC 3834: never an automatic answer to a no-reply address, and
		// a bounded number to any one address (ping-pong with a
		// responder that ignores Auto-Submitted).
		if NoReplyAddress(to.Address) || strings.EqualFold(to.Address, c.set.SMTP.From) {
			return connectors.SendResult{}, fmt.Errorf("%w: not sent: %s is a no-reply address or the channel's own, and this is an automatic message (RFC 3834)", connectors.ErrPermanent, to.Address)
		}
		ok, err := c.takeAutomatic(ctx, to.Address, out.EntryID)
		if err != nil {
			return connectors.SendResult{}, err // the store: retried
		}
		if !ok {
			return connectors.SendResult{}, fmt.Errorf("%w: not sent: %s already got %d automatic messages from %s within %s (email.automatic_limit)",
				connectors.ErrPermanent, to.Address, c.set.AutomaticLimit, c.name, AutomaticLimitWindow)
		}
	}
	id := newMessageID(out.ThreadKey, c.set.Domain)
	var buf bytes.Buffer
	if err := c.compose(ctx, &buf, out, to.Address, id); err != nil {
		if errors.Is(err, errBlobRead) {
			// The blob store may be briefly unreachable: retried, and
			// dead-lettered with this reason if it stays so.
			return connectors.SendResult{}, fmt.Errorf("email: compose: %w", err)
		}
		return connectors.SendResult{}, fmt.Errorf("%w: compose: %v", connectors.ErrPermanent, err)
	}
	if err := c.submit(ctx, to.Address, buf.Bytes()); err != nil {
		return connectors.SendResult{}, err
	}
	if out.Automatic && c.env.Budgets == nil {
		c.auto.record(to.Address, c.clock())
	}
	return connectors.SendResult{ProviderID: "<" + id + ">", Status: "sent"}, nil
}

// compose writes the reply. Every header value goes through go-message's
// encoder after oneLine, so CR/LF in a subject or a name can never start
// a header of its own.
func (c *Channel) compose(ctx context.Context, w io.Writer, out connectors.Outgoing, to, id string) error {
	var h gomail.Header
	h.SetDate(c.clock())
	h.SetAddressList("From", []*gomail.Address{{Name: oneLine(c.set.SMTP.FromName), Address: c.set.SMTP.From}})
	h.SetAddressList("To", []*gomail.Address{{Address: to}})
	h.SetSubject(withToken(replySubject(out.Subject), out.ConversationID))
	h.SetMessageID(id)
	if out.ConversationID != "" {
		// Outlook threads by these and keeps them when it drops
		// In-Reply-To and References (threading chain step 4).
		h.Set("Thread-Index", threadIndex(out.ConversationID, c.clock()))
		if topic := oneLine(out.Subject); topic != "" {
			h.SetText("Thread-Topic", topic)
		}
	}
	if out.Automatic {
		h.Set("Auto-Submitted", "auto-generated")
		h.Set("X-Auto-Response-Suppress", "All")
		h.Set("Precedence", "auto_reply")
	}
	var refs []string
	if k := cleanID(out.ThreadKey); k != "" && strings.Contains(k, "@") {
		refs = append(refs, k)
	}
	if irt := MessageIDOf(out.InReplyTo); irt != "" {
		irt = strings.Trim(irt, "<>")
		h.SetMsgIDList("In-Reply-To", []string{irt})
		if len(refs) == 0 || refs[len(refs)-1] != irt {
			refs = append(refs, irt)
		}
	}
	if len(refs) > 0 {
		h.SetMsgIDList("References", refs)
	}
	if out.Agent != "" {
		h.Set("X-Switchboard-Agent", oneLine(out.Agent))
	}
	if out.Unsubscribe != "" {
		// RFC 8058 one-click: a mail client POSTs the body
		// "List-Unsubscribe=One-Click" to the URL.
		h.Set("List-Unsubscribe", "<"+oneLine(out.Unsubscribe)+">")
		h.Set("List-Unsubscribe-Post", "List-Unsubscribe=One-Click")
	}
	text := strings.ReplaceAll(out.Text, "\r\n", "\n")
	htmlBody := out.HTML
	if htmlBody == "" {
		htmlBody = textToHTML(text)
	} else {
		htmlBody = sanitizeHTML(htmlBody)
	}
	if len(out.Attachments) == 0 {
		h.SetContentType("multipart/alternative", nil)
		mw, err := message.CreateWriter(w, h.Header)
		if err != nil {
			return err
		}
		if err := writeAlternative(mw, text, htmlBody); err != nil {
			return err
		}
		return mw.Close()
	}
	// With attachments: multipart/mixed of the text+HTML alternative and
	// one base64 part per attachment, read from the blob store.
	h.SetContentType("multipart/mixed", nil)
	mw, err := message.CreateWriter(w, h.Header)
	if err != nil {
		return err
	}
	var ah message.Header
	ah.SetContentType("multipart/alternative", nil)
	aw, err := mw.CreatePart(ah)
	if err != nil {
		return err
	}
	if err := writeAlternative(aw, text, htmlBody); err != nil {
		return err
	}
	if err := aw.Close(); err != nil {
		return err
	}
	for _, a := range out.Attachments {
		if err := c.writeAttachment(ctx, mw, a); err != nil {
			return err
		}
	}
	return mw.Close()
}

// writeAlternative writes the text and HTML parts into a
// multipart/alternative writer.
func writeAlternative(mw *message.Writer, text, htmlBody string) error {
	for _, part := range []struct{ typ, body string }{{"text/plain", text}, {"text/html", htmlBody}} {
		var ph message.Header
		ph.SetContentType(part.typ, map[string]string{"charset": "utf-8"})
		ph.Set("Content-Transfer-Encoding", "quoted-printable")
		pw, err := mw.CreatePart(ph)
		if err != nil {
			return err
		}
		if _, err := io.WriteString(pw, part.body); err != nil {
			return err
		}
		if err := pw.Close(); err != nil {
			return err
		}
	}
	return nil
}

// errAttachment names an attachment in compose errors; errBlobRead marks
// a failure to read its content, which is retried (a store outage), unlike
// the other compose errors.
var (
	errAttachment = errors.New("attachment")
	errBlobRead   = errors.New("reading from the attachment store failed")
)

// writeAttachment writes one attachment part. The file name goes through
// go-message's parameter encoding (RFC 2231 for non-ASCII) after oneLine.
func (c *Channel) writeAttachment(ctx context.Context, mw *message.Writer, a connectors.Attachment) error {
	if a.SHA256 == "" || a.Omitted != "" {
		return fmt.Errorf("%w %q has no stored content", errAttachment, a.Name)
	}
	if c.env.Blobs == nil {
		return fmt.Errorf("%w %q: no attachment store configured", errAttachment, a.Name)
	}
	rc, err := c.env.Blobs.Get(ctx, a.SHA256)
	if errors.Is(err, connectors.ErrBlobNotFound) {
		return fmt.Errorf("%w %q has no stored content", errAttachment, a.Name)
	}
	if err != nil {
		return fmt.Errorf("%w %q: %w: %v", errAttachment, a.Name, errBlobRead, err)
	}
	defer rc.Close()
	ct := a.ContentType
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || strings.HasPrefix(mt, "multipart/") || strings.ContainsAny(ct, "\r\n") {
		mt, params = "application/octet-stream", nil
	}
	delete(params, "name")
	name := oneLine(a.Name)
	if name == "" {
		name = "attachment"
	}
	var ph message.Header
	ph.SetContentType(mt, params)
	ph.SetContentDisposition("attachment", map[string]string{"filename": name})
	ph.Set("Content-Transfer-Encoding", "base64")
	pw, err := mw.CreatePart(ph)
	if err != nil {
		return err
	}
	if _, err := io.Copy(pw, rc); err != nil {
		return fmt.Errorf("%w %q: %w: %v", errAttachment, a.Name, errBlobRead, err)
	}
	return pw.Close()
}

func textToHTML(text string) string {
	var b strings.Builder
	b.WriteString("<!DOCTYPE html><html><body>")
	for _, para := range strings.Split(strings.TrimSpace(text), "\n\n") {
		b.WriteString("<p>")
		b.WriteString(strings.ReplaceAll(html.EscapeString(para), "\n", "<br>\n"))
		b.WriteString("</p>\n")
	}
	b.WriteString("</body></html>")
	return b.String()
}

// smtpConnect connects to the SMTP server (with the configured TLS), says
// EHLO and authenticates when a username is set. The caller closes conn
// (and the client) when done.
func (c *Channel) smtpConnect(ctx context.Context) (*smtp.Client, net.Conn, error) {
	s := c.set.SMTP
	host, _, _ := net.SplitHostPort(s.Addr)
	d := net.Dialer{Timeout: 15 * time.Second}
	conn, err := d.DialContext(ctx, "tcp", s.Addr)
	if err != nil {
		return nil, nil, fmt.Errorf("smtp: connect %s: %w", s.Addr, err)
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	if s.InsecureSkipVerify && s.TLS != TLSNone {
		c.log.Warn("email: smtp server certificate not verified (insecure_skip_verify)", "addr", s.Addr)
	}
	var cl *smtp.Client
	switch s.TLS {
	case TLSImplicit:
		tc := tls.Client(conn, s.tlsConfig(host))
		if err := tc.HandshakeContext(ctx); err != nil {
			conn.Close()
			return nil, nil, fmt.Errorf("smtp: tls handshake with %s: %w", s.Addr, err)
		}
		cl = smtp.NewClient(tc)
	case TLSStart:
		// NewClientStartTLS fails when the server offers no STARTTLS: the
		// password is never sent in plaintext.
		cl, err = smtp.NewClientStartTLS(conn, s.tlsConfig(host))
		if err != nil {
			conn.Close()
			return nil, nil, smtpErr("starttls", err)
		}
	default:
		cl = smtp.NewClient(conn)
	}
	if err := cl.Hello(s.Hostname); err != nil {
		cl.Close()
		return nil, nil, smtpErr("ehlo", err)
	}
	if s.Username != "" {
		var sc sasl.Client = sasl.NewPlainClient("", s.Username, s.Password)
		step := "auth as " + s.Username
		if s.OAuth2TokenFile != "" {
			step = s.OAuth2Mechanism + " auth as " + s.Username
			if sc, err = oauth2Client(s.Conn, s.Username, s.Addr); err != nil {
				cl.Close()
				return nil, nil, fmt.Errorf("smtp %s: %w", step, err)
			}
		}
		if err := cl.Auth(sc); err != nil {
			cl.Close()
			return nil, nil, authDetail(sc, smtpErr(step, err))
		}
	}
	return cl, conn, nil
}

// submit hands the message to the configured SMTP server.
func (c *Channel) submit(ctx context.Context, rcpt string, msg []byte) error {
	s := c.set.SMTP
	ctx, cancel := context.WithTimeout(ctx, s.Timeout.D())
	defer cancel()
	cl, conn, err := c.smtpConnect(ctx)
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	defer cl.Close()
	if err := cl.Mail(s.From, nil); err != nil {
		return smtpErr("mail from", err)
	}
	if err := cl.Rcpt(rcpt, nil); err != nil {
		return smtpErr("rcpt to", err)
	}
	wc, err := cl.Data()
	if err != nil {
		return smtpErr("data", err)
	}
	if _, err := wc.Write(msg); err != nil {
		return smtpErr("data", err)
	}
	if err := wc.Close(); err != nil {
		return smtpErr("data", err)
	}
	_ = cl.Quit()
	return nil
}

// smtpErr classifies a failure: a 5xx reply is permanent, everything else
// (4xx, timeouts, refused connections) is worth another attempt.
func smtpErr(step string, err error) error {
	var se *smtp.SMTPError
	if errors.As(err, &se) {
		reply := fmt.Sprintf("%d %d.%d.%d %s", se.Code, se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], oneLine(se.Message))
		if se.EnhancedCode == smtp.NoEnhancedCode || se.EnhancedCode[0] <= 0 {
			reply = fmt.Sprintf("%d %s", se.Code, oneLine(se.Message))
		}
		if se.Code >= 500 && se.Code < 600 {
			return fmt.Errorf("%w: smtp %s: %s", connectors.ErrPermanent, step, reply)
		}
		return fmt.Errorf("smtp %s: %s", step, reply)
	}
	return fmt.Errorf("smtp %s: %w", step, err)
}

// Test implements connectors.Tester: log in to IMAP (folders, UIDVALIDITY,
// message counts, IDLE) and to SMTP (EHLO, AUTH), and report.
func (c *Channel) Test(ctx context.Context) (string, error) {
	var b strings.Builder
	var errs []error
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	done := make(chan struct{})
	go func() {
		defer close(done)
		cl, err := c.dial(nil)
		if err != nil {
			errs = append(errs, err)
			fmt.Fprintf(&b, "IMAP %s: FAILED: %v\n", c.set.IMAP.Addr, err)
			return
		}
		defer cl.Close()
		idle := cl.Caps().Has("IDLE") || cl.Caps().Has("IMAP4rev2")
		fmt.Fprintf(&b, "IMAP %s: logged in as %s (IDLE: %v)\n", c.set.IMAP.Addr, c.set.IMAP.Username, idle)
		if list, err := cl.List("", "*", nil).Collect(); err == nil {
			names := make([]string, 0, len(list))
			for _, l := range list {
				names = append(names, l.Mailbox)
			}
			fmt.Fprintf(&b, "  folders on the server: %s\n", strings.Join(names, ", "))
		}
		for _, f := range c.set.IMAP.Folders {
			st, err := cl.Select(f, &imapSelectReadOnly).Wait()
			if err != nil {
				errs = append(errs, fmt.Errorf("imap: folder %q: %w", f, err))
				fmt.Fprintf(&b, "  folder %s: FAILED: %v\n", f, err)
				continue
			}
			fmt.Fprintf(&b, "  folder %s: %d messages, UIDVALIDITY %d, next UID %d\n", f, st.NumMessages, st.UIDValidity, st.UIDNext)
		}
		_ = cl.Logout().Wait()
	}()
	select {
	case <-done:
	case <-ctx.Done():
		// The goroutine may still be writing to b: report without it.
		return fmt.Sprintf("IMAP %s: no answer\n", c.set.IMAP.Addr), fmt.Errorf("imap: %w", ctx.Err())
	}
	if err := c.testSMTP(ctx, &b); err != nil {
		errs = append(errs, err)
	}
	return b.String(), errors.Join(errs...)
}

func (c *Channel) testSMTP(ctx context.Context, b *strings.Builder) error {
	s := c.set.SMTP
	ctx, cancel := context.WithTimeout(ctx, 20*time.Second)
	defer cancel()
	cl, _, err := c.smtpConnect(ctx)
	if err != nil {
		if s.Username != "" && strings.Contains(err.Error(), "auth as") {
			fmt.Fprintf(b, "SMTP %s: EHLO ok (%s)\n  AUTH as %s: FAILED: %v\n", s.Addr, s.TLS, s.Username, err)
		} else {
			fmt.Fprintf(b, "SMTP %s: FAILED: %v\n", s.Addr, err)
		}
		return err
	}
	defer cl.Close()
	fmt.Fprintf(b, "SMTP %s: EHLO ok (%s)", s.Addr, s.TLS)
	if n, ok := cl.MaxMessageSize(); ok {
		fmt.Fprintf(b, " (max message size %d)", n)
	}
	b.WriteString("\n")
	if s.Username != "" {
		fmt.Fprintf(b, "  AUTH as %s: ok\n", s.Username)
	}
	_ = cl.Quit()
	return nil
}
