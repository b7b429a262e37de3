package sms

import (
	"context"
	"errors"
	"fmt"
	"mime"
	"net/http"
	"net/url"
	"path"
	"strings"
	"sync"

	"github.com/switchboard-hub/switchboard/connectors"
)

// fetchMedia downloads the media of one message with the account's
// credentials into the blob store. It never fails: an item that cannot be
// kept (not a Twilio URL, a type outside the allow-list, over the size
// limit, or still failing after Media.Attempts tries within Media.Timeout)
// is an Attachment with Omitted saying why, and the text goes on without
// it. Items are fetched concurrently; the webhook answers after this, so
// the whole budget stays below Twilio's 15 s webhook timeout.
func (c *Channel) fetchMedia(ctx context.Context, sid string, refs []mediaRef) []connectors.Attachment {
	ctx, cancel := context.WithTimeout(ctx, c.s.Media.Timeout.D())
	defer cancel()
	out := make([]connectors.Attachment, len(refs))
	var wg sync.WaitGroup
	for i, ref := range refs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i] = c.fetchOne(ctx, sid, i, ref)
		}()
	}
	wg.Wait()
	return out
}

// errFinal marks a media failure that retrying cannot fix.
var errFinal = errors.New("final")

func (c *Channel) fetchOne(ctx context.Context, sid string, i int, ref mediaRef) connectors.Attachment {
	a := connectors.Attachment{Name: mediaName(ref, i), ContentType: baseType(ref.contentType)}
	u, err := url.Parse(ref.url)
	switch {
	case err != nil || u.Scheme != "https" || !isTwilioHost(u.Hostname()):
		// The credentials go to Twilio only, and nothing else is fetched.
		a.Omitted = "not fetched: the media URL is not a Twilio https URL"
		return a
	case c.env.Blobs == nil:
		a.Omitted = "not fetched: no attachment store"
		return a
	case a.ContentType != "" && !c.allowed(a.ContentType):
		a.Omitted = fmt.Sprintf("not fetched: content type %s is not allowed", a.ContentType)
		return a
	}
	wait := c.backoff
	for attempt := 1; ; attempt++ {
		err = c.fetchAttempt(ctx, u.String(), &a)
		if err == nil {
			return a
		}
		if errors.Is(err, errFinal) {
			a.Omitted = strings.TrimPrefix(err.Error(), "final: ")
			return a
		}
		if attempt >= c.s.Media.Attempts || ctx.Err() != nil {
			a.Omitted = fmt.Sprintf("fetch failed after %d attempts: %v", attempt, err)
			c.log.Warn("mms media not kept", "sid", sid, "media", i, "err", err)
			return a
		}
		_ = connectors.Sleep(ctx, wait)
		wait *= 2
	}
}

// fetchAttempt downloads one media item into the blob store.
func (c *Channel) fetchAttempt(ctx context.Context, u string, a *connectors.Attachment) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("%w: bad media URL", errFinal)
	}
	req.SetBasicAuth(c.s.AccountSID, c.s.AuthToken)
	// Twilio answers with a redirect to its CDN; net/http drops the
	// Authorization header when the redirect leaves twilio.com.
	resp, err := (&http.Client{Transport: c.rt}).Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is on the entry already
		}
		return err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode >= 500 || resp.StatusCode == http.StatusNotFound:
		// Media can trail the webhook by a moment: 404 is retried too.
		return fmt.Errorf("HTTP %d", resp.StatusCode)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("%w: fetch failed: HTTP %d", errFinal, resp.StatusCode)
	}
	if ct := baseType(resp.Header.Get("Content-Type")); ct != "" {
		if !c.allowed(ct) {
			return fmt.Errorf("%w: not kept: content type %s is not allowed", errFinal, ct)
		}
		a.ContentType = ct
	}
	if a.ContentType == "" {
		return fmt.Errorf("%w: not kept: no content type", errFinal)
	}
	if resp.ContentLength > c.s.Media.MaxBytes {
		a.Size = resp.ContentLength
		return fmt.Errorf("%w: not kept: %d bytes is over the limit of %d", errFinal, resp.ContentLength, c.s.Media.MaxBytes)
	}
	sum, size, err := c.env.Blobs.Put(ctx, resp.Body, c.s.Media.MaxBytes)
	if errors.Is(err, connectors.ErrTooLarge) {
		return fmt.Errorf("%w: not kept: over the limit of %d bytes", errFinal, c.s.Media.MaxBytes)
	}
	if err != nil {
		return err
	}
	a.SHA256, a.Size = sum, size
	a.Name = strings.TrimSuffix(a.Name, path.Ext(a.Name)) + extFor(a.ContentType)
	return nil
}

// allowed reports whether content type t is in the allow-list.
func (c *Channel) allowed(t string) bool {
	for _, a := range c.s.Media.AllowedTypes {
		if a == t || strings.HasSuffix(a, "/*") && strings.HasPrefix(t, strings.TrimSuffix(a, "*")) {
			return true
		}
	}
	return false
}

// baseType is a content type without parameters, lower-cased.
func baseType(ct string) string {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return ""
	}
	return mt
}

// mediaName names an item after its media SID (the URL's last segment).
func mediaName(ref mediaRef, i int) string {
	name := fmt.Sprintf("media-%d", i)
	if u, err := url.Parse(ref.url); err == nil {
		if b := path.Base(u.Path); strings.HasPrefix(b, "ME") && len(b) <= 40 {
			name = b
		}
	}
	return name + extFor(baseType(ref.contentType))
}

func extFor(ct string) string {
	switch ct {
	case "image/jpeg":
		return ".jpg"
	case "":
		return ""
	}
	if exts, _ := mime.ExtensionsByType(ct); len(exts) > 0 {
		return exts[0]
	}
	return ""
}
