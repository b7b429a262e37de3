package inbox

import (
	"html/template"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
	"github.com/switchboard-hub/switchboard/consent"
	"github.com/switchboard-hub/switchboard/store"
	"github.com/switchboard-hub/switchboard/timeline"
)

// meText is the wording of the customer-facing pages in one language.
type meText struct {
	Lang, Title, Intro, Identities, Verified, Claimed, Consents, ConsentsHelp string
	Given, NotGiven, Withdraw, Give, Conversations, NoConversations, You, Us  string
	Export, ExportHelp, ExportButton, Erasure, ErasureHelp, ErasureButton     string
	ErasurePending, ConsentSaved, NotFound, NotFoundHelp, ValidUntil          string
	Unsubscribe, UnsubscribeHelp, UnsubscribeButton, Unsubscribed, Purposes   string
	PurposeNames                                                              map[string]string
}

var meTexts = map[string]meText{
	"en": {Lang: "en", Title: "Your data", Intro: "This page shows what we hold about you. You can change your consents, download a copy of your data, or ask us to erase it.",
		Identities: "How we know you", Verified: "verified", Claimed: "not verified",
		Consents: "Your consents", ConsentsHelp: "You can give or withdraw each consent at any time; the change applies at once.",
		Given: "Given", NotGiven: "Not given", Withdraw: "Withdraw", Give: "Give consent", Purposes: "Purpose",
		Conversations: "Your conversations with us", NoConversations: "No conversations.", You: "You", Us: "Us",
		Export: "Download your data", ExportHelp: "Everything we hold about you, in a machine-readable file.", ExportButton: "Download",
		Erasure: "Erase your data", ErasureHelp: "Ask us to erase everything we hold about you. A person checks the request (for example, whether we must keep something by law) and then erases your data.",
		ErasureButton: "Ask for erasure", ErasurePending: "We have received your request to erase your data.",
		ConsentSaved: "Your choice was saved.", NotFound: "Page not found", NotFoundHelp: "The link is wrong, expired or no longer valid. Ask us for a new one.",
		ValidUntil: "This link works until", Unsubscribe: "Unsubscribe", UnsubscribeHelp: "Stop these messages?", UnsubscribeButton: "Unsubscribe",
		Unsubscribed: "You are unsubscribed. You will not get these messages any more.",
		PurposeNames: map[string]string{"feedback": "Feedback requests", "marketing": "Marketing"}},
	"fi": {Lang: "fi", Title: "Tietosi", Intro: "Tällä sivulla näet, mitä tietoja meillä on sinusta. Voit muuttaa suostumuksiasi, ladata kopion tiedoistasi tai pyytää meitä poistamaan ne.",
		Identities: "Miten tunnemme sinut", Verified: "vahvistettu", Claimed: "vahvistamaton",
		Consents: "Suostumuksesi", ConsentsHelp: "Voit antaa tai peruuttaa suostumuksen milloin tahansa; muutos tulee voimaan heti.",
		Given: "Annettu", NotGiven: "Ei annettu", Withdraw: "Peruuta", Give: "Anna suostumus", Purposes: "Käyttötarkoitus",
		Conversations: "Keskustelusi kanssamme", NoConversations: "Ei keskusteluja.", You: "Sinä", Us: "Me",
		Export: "Lataa tietosi", ExportHelp: "Kaikki sinusta säilyttämämme tiedot koneluettavana tiedostona.", ExportButton: "Lataa",
		Erasure: "Poista tietosi", ErasureHelp: "Pyydä meitä poistamaan kaikki sinusta säilyttämämme tiedot. Ihminen tarkistaa pyynnön (esimerkiksi onko jotain säilytettävä lain vuoksi) ja poistaa sitten tietosi.",
		ErasureButton: "Pyydä poistamista", ErasurePending: "Olemme vastaanottaneet pyyntösi poistaa tietosi.",
		ConsentSaved: "Valintasi on tallennettu.", NotFound: "Sivua ei löydy", NotFoundHelp: "Linkki on väärä, vanhentunut tai ei enää voimassa. Pyydä meiltä uusi.",
		ValidUntil: "Tämä linkki toimii asti", Unsubscribe: "Peru tilaus", UnsubscribeHelp: "Lopetetaanko nämä viestit?", UnsubscribeButton: "Peru tilaus",
		Unsubscribed: "Tilaus on peruttu. Et saa enää näitä viestejä.",
		PurposeNames: map[string]string{"feedback": "Palautekyselyt", "marketing": "Markkinointi"}},
}

// pageText picks English or Finnish by Accept-Language (English unless
// Finnish is preferred).
func pageText(r *http.Request) meText {
	best, bestQ := "en", -1.0
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		lang, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if _, ok := meTexts[lang]; !ok {
			continue
		}
		q := 1.0
		if v, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		if q > bestQ {
			best, bestQ = lang, q
		}
	}
	return meTexts[best]
}

type mePurpose struct {
	Name, Label, Text string
	Given             bool
}

type meMessage struct {
	At       time.Time
	FromUs   bool
	Subject  string
	Text     string
	Channel  string
	Attached []string
}

type meConversation struct {
	Channel  string
	Subject  string
	Started  time.Time
	Messages []meMessage
}

type mePageView struct {
	T             meText
	Token         string
	CSRF          string
	Name          string
	Identities    []connectors.Identity
	Purposes      []mePurpose
	Conversations []meConversation
	ExpiresAt     time.Time
	Done          string
	Pending       bool
}

// mePageData gathers what the page shows: identities, consents, and every
// message in every conversation (notes are internal and left to the export).
func (s *Server) mePageData(r *http.Request, l store.AccessLink, v timeline.View) (mePageView, error) {
	ctx := r.Context()
	t := pageText(r)
	page := mePageView{T: t, Token: r.PathValue("token"), CSRF: s.meCSRF(ctx, l.ID), Name: v.Root.Name, ExpiresAt: l.ExpiresAt, Done: r.URL.Query().Get("done")}
	for _, m := range v.Members {
		if page.Name == "" {
			page.Name = m.Name
		}
		page.Identities = append(page.Identities, m.Identities...)
	}
	cur, err := s.o.Consent.Current(ctx, v.Root.ID)
	if err != nil {
		return page, err
	}
	for _, p := range s.o.Consent.Purposes() {
		if p.Basis == consent.None {
			continue
		}
		label := t.PurposeNames[p.Name]
		if label == "" {
			label = p.Name
		}
		page.Purposes = append(page.Purposes, mePurpose{Name: p.Name, Label: label, Text: p.Text, Given: consent.Decide(p, cur, consent.AnyChannel) == nil})
	}
	convs := map[string]*meConversation{}
	var order []string
	for cursor := ""; ; {
		es, next, err := timeline.Page(ctx, s.o.Store, v, cursor, 500)
		if err != nil {
			return page, err
		}
		for _, e := range es {
			if e.Kind != store.KindMessage {
				continue
			}
			c := convs[e.ConversationID]
			if c == nil {
				c = &meConversation{Channel: e.Channel, Subject: e.Subject}
				convs[e.ConversationID] = c
				order = append(order, e.ConversationID)
			}
			msg := meMessage{At: e.OccurredAt, FromUs: e.Direction == connectors.Outbound, Subject: e.Subject, Text: e.Text, Channel: e.Channel}
			for _, a := range e.Attachments {
				msg.Attached = append(msg.Attached, a.Name)
			}
			c.Messages = append(c.Messages, msg)
		}
		if next == "" || len(es) == 0 {
			break
		}
		cursor = next
	}
	for _, id := range order {
		c := convs[id]
		sort.Slice(c.Messages, func(i, j int) bool { return c.Messages[i].At.Before(c.Messages[j].At) })
		c.Started = c.Messages[0].At
		if c.Subject == "" {
			c.Subject = c.Messages[0].Subject
		}
		page.Conversations = append(page.Conversations, *c)
	}
	sort.SliceStable(page.Conversations, func(i, j int) bool { return page.Conversations[i].Started.After(page.Conversations[j].Started) })
	pending, err := s.pendingErasure(ctx, v.Root.ID)
	if err != nil {
		return page, err
	}
	page.Pending = pending != nil
	return page, nil
}

const meStyle = `<style>
body{font:16px/1.5 system-ui,sans-serif;max-width:46rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}
h1{font-size:1.6rem}h2{font-size:1.25rem;margin-top:2rem;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem;border-bottom:1px solid #e4e4e4;vertical-align:top}
button{font:inherit;padding:.35rem .9rem;cursor:pointer}
.note{background:#eef6ee;border:1px solid #9c9;padding:.5rem}
.msg{margin:.5rem 0;padding:.5rem;border-left:4px solid #88a}.us{border-color:#4a4}
.meta{color:#555;font-size:.9rem}
</style>`

var mePageTemplate = template.Must(template.New("me").Parse(`<!doctype html>
<html lang="{{.T.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T.Title}}</title>` + meStyle + `</head><body>
<main>
<h1>{{.T.Title}}{{with .Name}}: {{.}}{{end}}</h1>
<p>{{.T.Intro}}</p>
<p class="meta">{{.T.ValidUntil}} {{.ExpiresAt.Format "2006-01-02 15:04 MST"}}</p>

<section aria-labelledby="h-ids"><h2 id="h-ids">{{.T.Identities}}</h2>
<ul>{{range .Identities}}<li>{{.Type}}: {{.Value}} ({{if .Verified}}{{$.T.Verified}}{{else}}{{$.T.Claimed}}{{end}})</li>{{end}}</ul>
</section>

<section aria-labelledby="consents"><h2 id="consents">{{.T.Consents}}</h2>
{{if eq .Done "consent"}}<p class="note" role="status">{{.T.ConsentSaved}}</p>{{end}}
<p>{{.T.ConsentsHelp}}</p>
<table><thead><tr><th scope="col">{{.T.Purposes}}</th><th scope="col"></th><th scope="col"></th></tr></thead><tbody>
{{range .Purposes}}<tr id="purpose-{{.Name}}"><td><strong>{{.Label}}</strong><br><span class="meta">{{.Text}}</span></td>
<td class="state">{{if .Given}}{{$.T.Given}}{{else}}{{$.T.NotGiven}}{{end}}</td>
<td><form method="post" action="/me/{{$.Token}}/consents"><input type="hidden" name="csrf" value="{{$.CSRF}}"><input type="hidden" name="purpose" value="{{.Name}}">
{{if .Given}}<input type="hidden" name="granted" value="false"><button type="submit" name="action" value="withdraw-{{.Name}}">{{$.T.Withdraw}}</button>
{{else}}<input type="hidden" name="granted" value="true"><button type="submit" name="action" value="give-{{.Name}}">{{$.T.Give}}</button>{{end}}
</form></td></tr>
{{end}}</tbody></table>
</section>

<section aria-labelledby="h-convs"><h2 id="h-convs">{{.T.Conversations}}</h2>
{{range .Conversations}}<article><h3>{{.Channel}}{{with .Subject}}: {{.}}{{end}} <span class="meta">{{.Started.Format "2006-01-02"}}</span></h3>
{{range .Messages}}<div class="msg{{if .FromUs}} us{{end}}"><div class="meta">{{if .FromUs}}{{$.T.Us}}{{else}}{{$.T.You}}{{end}}, {{.At.Format "2006-01-02 15:04"}}</div>
<div>{{.Text}}</div>{{range .Attached}}<div class="meta">📎 {{.}}</div>{{end}}</div>
{{end}}</article>
{{else}}<p>{{.T.NoConversations}}</p>{{end}}
</section>

<section aria-labelledby="h-export"><h2 id="h-export">{{.T.Export}}</h2>
<p>{{.T.ExportHelp}}</p>
<p><a href="/me/{{.Token}}/export" download>{{.T.ExportButton}}</a></p>
</section>

<section aria-labelledby="erasure"><h2 id="erasure">{{.T.Erasure}}</h2>
{{if .Pending}}<p class="note" role="status">{{.T.ErasurePending}}</p>
{{else}}<p>{{.T.ErasureHelp}}</p>
<form method="post" action="/me/{{.Token}}/erasure"><input type="hidden" name="csrf" value="{{.CSRF}}"><button type="submit">{{.T.ErasureButton}}</button></form>{{end}}
</section>
</main></body></html>
`))

var unsubscribeTemplate = template.Must(template.New("unsubscribe").Parse(`<!doctype html>
<html lang="{{.T.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T.Unsubscribe}}</title>` + meStyle + `</head><body><main>
<h1>{{.T.Unsubscribe}}</h1>
{{if .Done}}<p class="note" role="status">{{.T.Unsubscribed}}</p>
{{else}}<p>{{.T.UnsubscribeHelp}}</p>
<form method="post"><input type="hidden" name="List-Unsubscribe" value="One-Click"><button type="submit">{{.T.UnsubscribeButton}}</button></form>{{end}}
</main></body></html>
`))
