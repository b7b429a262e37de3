package csat

import (
	"errors"
	"html/template"
	"net/http"
	"strconv"
	"strings"

	"github.com/switchboard-hub/switchboard/internal/ids"
	"github.com/switchboard-hub/switchboard/store"
)

// The survey page: GET /csat/{token} shows the scores (the one the link
// named already chosen) and a comment box; POST records the answer. The
// score is recorded by the POST, not by opening the link: mail scanners
// and link previews open links a customer never clicked.

type pageText struct {
	Lang, Title, Question, Comment, Send, Thanks, ThanksHelp string
	Answered, AnsweredHelp, NotFound, NotFoundHelp, BadScore string
	// Scores names each score by scale (index = score).
	Scores map[int][]string
}

var pageTexts = map[string]pageText{
	"en": {Lang: "en", Title: "Your feedback", Question: "How satisfied were you with our help?", Comment: "Anything you want to add? (optional)",
		Send: "Send", Thanks: "Thank you!", ThanksHelp: "Your answer was recorded.", Answered: "Already answered",
		AnsweredHelp: "This survey has already been answered. Thank you!", NotFound: "Link not valid",
		NotFoundHelp: "The link is wrong, damaged or expired.", BadScore: "Choose a score on the scale.", Scores: scoreWords},
	"fi": {Lang: "fi", Title: "Palautteesi", Question: "Kuinka tyytyväinen olit saamaasi apuun?", Comment: "Haluatko lisätä jotain? (vapaaehtoinen)",
		Send: "Lähetä", Thanks: "Kiitos!", ThanksHelp: "Vastauksesi on tallennettu.", Answered: "Jo vastattu",
		AnsweredHelp: "Tähän kyselyyn on jo vastattu. Kiitos!", NotFound: "Linkki ei kelpaa",
		NotFoundHelp: "Linkki on väärä, vioittunut tai vanhentunut.", BadScore: "Valitse arvosana asteikolta.",
		Scores: map[int][]string{
			Scale5:      {"", "1 – erittäin tyytymätön", "2 – tyytymätön", "3 – neutraali", "4 – tyytyväinen", "5 – erittäin tyytyväinen"},
			ScaleThumbs: {"", "👎 ei", "👍 kyllä"},
		}},
}

func textFor(r *http.Request) pageText {
	for _, part := range strings.Split(r.Header.Get("Accept-Language"), ",") {
		tag, _, _ := strings.Cut(strings.TrimSpace(part), ";")
		lang, _, _ := strings.Cut(strings.ToLower(strings.TrimSpace(tag)), "-")
		if t, ok := pageTexts[lang]; ok {
			return t
		}
	}
	return pageTexts["en"]
}

var page = template.Must(template.New("csat").Parse(`<!doctype html>
<html lang="{{.T.Lang}}"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.T.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem}fieldset{border:0;padding:0}
label.score{display:block;margin:.3rem 0;font-size:1.2rem}textarea{width:100%;min-height:6rem}
button{font-size:1rem;padding:.4rem 1.2rem;margin-top:.6rem}.err{color:#a00}</style></head><body>
{{if .Heading}}<h1 id="result">{{.Heading}}</h1><p>{{.Help}}</p>{{else}}
<h1>{{.T.Question}}</h1>
{{if .Err}}<p class="err" id="error">{{.Err}}</p>{{end}}
<form method="post" id="survey"><fieldset>
{{range .Options}}<label class="score"><input type="radio" name="score" value="{{.Score}}"{{if .Checked}} checked{{end}}> {{.Label}}</label>
{{end}}</fieldset>
<p><label for="comment">{{.T.Comment}}</label><br><textarea id="comment" name="comment" maxlength="2000"></textarea></p>
<button type="submit">{{.T.Send}}</button></form>{{end}}
</body></html>`))

type option struct {
	Score   int
	Label   string
	Checked bool
}

type pageData struct {
	T             pageText
	Heading, Help string
	Err           string
	Options       []option
}

// ServeHTTP serves GET and POST /csat/{token}.
func (s *Service) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	t := textFor(r)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Referrer-Policy", "no-referrer")
	w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
	show := func(code int, d pageData) {
		d.T = t
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(code)
		_ = page.Execute(w, d)
	}
	ctx := r.Context()
	tok, err := s.sign.verify(ctx, r.PathValue("token"), s.o.Clock())
	if err != nil {
		show(http.StatusNotFound, pageData{Heading: t.NotFound, Help: t.NotFoundHelp})
		return
	}
	conv, err := s.surveyConversation(r, tok.Survey)
	if errors.Is(err, ErrNoSurvey) {
		show(http.StatusNotFound, pageData{Heading: t.NotFound, Help: t.NotFoundHelp})
		return
	} else if err != nil {
		http.Error(w, "the survey could not be loaded; try again later", http.StatusServiceUnavailable)
		return
	}
	if conv.Survey.AnswerID != "" {
		show(http.StatusGone, pageData{Heading: t.Answered, Help: t.AnsweredHelp})
		return
	}
	options := func(chosen int) []option {
		var out []option
		for sc := conv.Survey.Scale; sc >= 1; sc-- {
			out = append(out, option{Score: sc, Label: t.Scores[conv.Survey.Scale][sc], Checked: sc == chosen})
		}
		return out
	}
	if r.Method != http.MethodPost {
		show(http.StatusOK, pageData{Options: options(tok.Score)})
		return
	}
	r.Body = http.MaxBytesReader(w, r.Body, 16<<10)
	if err := r.ParseForm(); err != nil {
		show(http.StatusBadRequest, pageData{Err: t.BadScore, Options: options(tok.Score)})
		return
	}
	score := tok.Score
	if v := r.PostForm.Get("score"); v != "" {
		if score, err = strconv.Atoi(v); err != nil {
			score = -1
		}
	}
	comment := strings.TrimSpace(r.PostForm.Get("comment"))
	if len([]rune(comment)) > maxComment {
		comment = string([]rune(comment)[:maxComment])
	}
	err = s.record(ctx, conv, score, strings.ToValidUTF8(comment, "\uFFFD"), ids.Derived("a_", tok.Survey), nil, s.o.Clock())
	switch {
	case err == nil:
		show(http.StatusOK, pageData{Heading: t.Thanks, Help: t.ThanksHelp})
	case errors.Is(err, ErrOutOfRange):
		show(http.StatusBadRequest, pageData{Err: t.BadScore, Options: options(0)})
	case errors.Is(err, ErrAnswered):
		show(http.StatusGone, pageData{Heading: t.Answered, Help: t.AnsweredHelp})
	case errors.Is(err, ErrNoSurvey):
		show(http.StatusNotFound, pageData{Heading: t.NotFound, Help: t.NotFoundHelp})
	default:
		s.o.Logger.Error("survey answer not recorded", "err", err)
		http.Error(w, "the answer could not be recorded; try again later", http.StatusServiceUnavailable)
	}
}

// surveyConversation finds the conversation whose survey is entry id.
func (s *Service) surveyConversation(r *http.Request, id string) (store.Conversation, error) {
	e, err := s.o.Store.GetEntry(r.Context(), id)
	if errors.Is(err, store.ErrNotFound) {
		return store.Conversation{}, ErrNoSurvey // erased
	} else if err != nil {
		return store.Conversation{}, err
	}
	c, err := s.o.Store.GetConversation(r.Context(), e.ConversationID)
	if errors.Is(err, store.ErrNotFound) {
		return store.Conversation{}, ErrNoSurvey
	} else if err != nil {
		return store.Conversation{}, err
	}
	if c.Survey == nil || c.Survey.EntryID != id {
		return store.Conversation{}, ErrNoSurvey
	}
	return c, nil
}
