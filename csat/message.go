package csat

import (
	"context"
	"fmt"
	"html"
	"strconv"
	"strings"
	"time"

	"github.com/switchboard-hub/switchboard/connectors"
)

// DefaultQuestion is asked when a channel configures none.
const DefaultQuestion = "How satisfied were you with our help?"

var scoreWords = map[int][]string{
	Scale5:      {"", "1 – very dissatisfied", "2 – dissatisfied", "3 – neutral", "4 – satisfied", "5 – very satisfied"},
	ScaleThumbs: {"", "👎 no", "👍 yes"},
}

// message is the survey's text (and HTML for email) on a channel of type typ.
func (s *Service) message(ctx context.Context, typ string, set Settings, surveyID string, now time.Time) (text, htm string, choices []connectors.Choice, err error) {
	q := set.Question
	if q == "" {
		q = DefaultQuestion
	}
	reply := "Reply with a number from 1 (very dissatisfied) to 5 (very satisfied); anything you write after it is passed on as your comment."
	if set.Scale == ScaleThumbs {
		reply = "Reply YES or NO; anything you write after it is passed on as your comment."
	}
	if typ == "slack" {
		// Buttons; a typed score works too.
		for score := set.Scale; score >= 1; score-- {
			choices = append(choices, connectors.Choice{Label: scoreWords[set.Scale][score], Value: strconv.Itoa(score)})
		}
		return q + " " + reply, "", choices, nil
	}
	if typ == "sms" || s.o.PublicURL == "" {
		return q + " " + reply, "", nil, nil
	}
	exp := now.Add(LinkTTL)
	if typ != "email" {
		// One link to the page that offers every score.
		tok, err := s.sign.sign(ctx, token{Survey: surveyID, Expiry: exp})
		if err != nil {
			return "", "", nil, err
		}
		return q + " " + s.o.PublicURL + "/csat/" + tok, "", nil, nil
	}
	var tb, hb strings.Builder
	fmt.Fprintf(&tb, "%s\n\n", q)
	fmt.Fprintf(&hb, "<p>%s</p>\n<p>", html.EscapeString(q))
	for score := set.Scale; score >= 1; score-- {
		tok, err := s.sign.sign(ctx, token{Survey: surveyID, Score: score, Expiry: exp})
		if err != nil {
			return "", "", nil, err
		}
		u := s.o.PublicURL + "/csat/" + tok
		w := scoreWords[set.Scale][score]
		fmt.Fprintf(&tb, "%s: %s\n", w, u)
		fmt.Fprintf(&hb, `<a href="%s">%s</a><br>`+"\n", html.EscapeString(u), html.EscapeString(w))
	}
	fmt.Fprintf(&tb, "\nOr %s\n", strings.ToLower(reply[:1])+reply[1:])
	hb.WriteString("</p>\n")
	return tb.String(), hb.String(), nil, nil
}
