package email

import (
	"net/url"
	"strings"

	"github.com/microcosm-cc/bluemonday"
	"golang.org/x/net/html"
)

// htmlPolicy is bluemonday's UGC policy (no scripts, styles, forms or event
// handlers) plus cid: URLs for inline images. Remote images are never
// loaded by an agent's browser: they would tell the sender when, where and
// that the mail was read. Their src is rewritten to an empty data: URL.
var htmlPolicy = func() *bluemonday.Policy {
	p := bluemonday.UGCPolicy()
	p.AllowURLSchemes("cid")
	p.RequireNoReferrerOnLinks(true)
	p.AddTargetBlankToFullyQualifiedLinks(true)
	p.RewriteSrc(func(u *url.URL) {
		if u.Scheme != "cid" {
			*u = url.URL{Scheme: "data", Opaque: ","}
		}
	})
	return p
}()

func sanitizeHTML(s string) string { return htmlPolicy.Sanitize(s) }

// htmlToText renders HTML as plain text for the timeline: block elements
// and <br> become line breaks, list items get a dash, links keep their
// target, and scripts, styles and the head are dropped.
func htmlToText(s string) string {
	z := html.NewTokenizer(strings.NewReader(s))
	var b []byte // a byte slice, so trimming trailing spaces is O(1)
	skip := 0
	var href []string
	trim := func() {
		for len(b) > 0 && b[len(b)-1] == ' ' {
			b = b[:len(b)-1]
		}
	}
	space := func() {
		if len(b) > 0 && b[len(b)-1] != ' ' && b[len(b)-1] != '\n' {
			b = append(b, ' ')
		}
	}
	newline := func(n int) {
		trim()
		if len(b) == 0 {
			return
		}
		have := 0
		for i := len(b) - 1; i >= 0 && b[i] == '\n'; i-- {
			have++
		}
		for ; have < n; have++ {
			b = append(b, '\n')
		}
	}
	for {
		tt := z.Next()
		switch tt {
		case html.ErrorToken:
			return tidyLines(string(b))
		case html.TextToken:
			if skip > 0 {
				continue
			}
			raw := string(z.Text())
			t := strings.Join(strings.Fields(raw), " ")
			if t == "" {
				space()
				continue
			}
			if strings.ContainsAny(raw[:1], " \n\t\r") {
				space()
			}
			b = append(b, t...)
			if strings.ContainsAny(raw[len(raw)-1:], " \n\t\r") {
				b = append(b, ' ')
			}
		case html.StartTagToken, html.SelfClosingTagToken, html.EndTagToken:
			name, hasAttr := z.TagName()
			tag := string(name)
			switch tag {
			case "script", "style", "head", "title", "noscript":
				if tt == html.StartTagToken {
					skip++
				} else if tt == html.EndTagToken && skip > 0 {
					skip--
				}
				continue
			}
			if skip > 0 {
				continue
			}
			switch tag {
			case "br":
				trim()
				b = append(b, '\n')
			case "p", "div", "table", "blockquote", "h1", "h2", "h3", "h4", "h5", "h6", "ul", "ol", "pre", "hr":
				newline(2)
			case "tr", "li":
				newline(1)
				if tag == "li" && tt == html.StartTagToken {
					b = append(b, "- "...)
				}
			case "td", "th":
				if tt == html.EndTagToken {
					space()
				}
			case "a":
				if tt == html.StartTagToken {
					h := ""
					for hasAttr {
						var k, v []byte
						k, v, hasAttr = z.TagAttr()
						if string(k) == "href" {
							h = string(v)
						}
					}
					if len(href) < 100 {
						href = append(href, h)
					}
				} else if tt == html.EndTagToken && len(href) > 0 {
					h := href[len(href)-1]
					href = href[:len(href)-1]
					tail := string(b[max(0, len(b)-len(h)-4):])
					if (strings.HasPrefix(h, "http://") || strings.HasPrefix(h, "https://")) && !strings.Contains(tail, h) {
						trim()
						b = append(b, " ("+h+")"...)
					}
				}
			case "img":
				for hasAttr {
					var k, v []byte
					k, v, hasAttr = z.TagAttr()
					if string(k) == "alt" && strings.TrimSpace(string(v)) != "" {
						b = append(b, "["+strings.TrimSpace(string(v))+"]"...)
					}
				}
			}
		}
	}
}

func tidyLines(s string) string {
	lines := strings.Split(s, "\n")
	var out []string
	blank := 0
	for _, l := range lines {
		l = strings.TrimSpace(l)
		if l == "" {
			blank++
			if blank > 1 {
				continue
			}
		} else {
			blank = 0
		}
		out = append(out, l)
	}
	return strings.TrimSpace(strings.Join(out, "\n"))
}
