package csat

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// Scales as stored on answers (store.CSAT.Scale).
const (
	Scale5      = 5 // 1..5, 5 best
	ScaleThumbs = 2 // 1 = thumbs down, 2 = thumbs up
)

// maxComment bounds a comment kept with an answer (runes).
const maxComment = 2000

// thumbWords are the words a thumbs answer may be given with, by score.
var thumbWords = map[string]int{"👍": 2, "👎": 1, "yes": 2, "no": 1, "kyllä": 2, "ei": 1, "+1": 2, "-1": 1}

// ParseScore reads a survey answer from a message's text: a score at the
// start (scale 5: a digit 1 to 5; thumbs: 1 or 2, 👍/👎, yes/no, kyllä/ei),
// standing alone as a word ("4", "4/5", "4 - quick help", "5!"), and the
// rest of the text as the comment. ok is false for anything else ("10",
// "3.5", "0", "thanks", "12 Main St"): such a message stays an ordinary
// message.
func ParseScore(text string, scale int) (score int, comment string, ok bool) {
	s := strings.TrimSpace(text)
	if s == "" {
		return 0, "", false
	}
	var rest string
	switch scale {
	case Scale5:
		c := s[0]
		if c < '1' || c > '5' {
			return 0, "", false
		}
		score, rest = int(c-'0'), s[1:]
		if r, ok := strings.CutPrefix(rest, "/5"); ok {
			rest = r
		}
	case ScaleThumbs:
		for w, v := range thumbWords {
			if len(s) >= len(w) && strings.EqualFold(s[:len(w)], w) {
				r := s[len(w):]
				if w == "👍" || w == "👎" {
					r = strings.TrimLeftFunc(r, isSkinTone)
				}
				if boundary(r) {
					score, rest = v, r
					break
				}
			}
		}
		if score == 0 {
			c := s[0]
			if c != '1' && c != '2' {
				return 0, "", false
			}
			score, rest = int(c-'0'), s[1:]
		}
	default:
		return 0, "", false
	}
	if !boundary(rest) {
		return 0, "", false
	}
	comment = strings.TrimSpace(strings.TrimLeft(strings.TrimSpace(rest), "-–—:,.!;)"))
	if utf8.RuneCountInString(comment) > maxComment {
		comment = string([]rune(comment)[:maxComment])
	}
	if !utf8.ValidString(comment) {
		comment = strings.ToValidUTF8(comment, "\uFFFD")
	}
	return score, comment, true
}

// boundary reports whether rest may follow a score: nothing, a space, or
// punctuation that is not part of a longer number ("3.5", "1-5", "4,5").
func boundary(rest string) bool {
	if rest == "" {
		return true
	}
	r, n := utf8.DecodeRuneInString(rest)
	if unicode.IsSpace(r) {
		return true
	}
	if unicode.IsLetter(r) || unicode.IsDigit(r) {
		return false
	}
	if r == '.' || r == ',' || r == '-' || r == '/' || r == '–' {
		next, _ := utf8.DecodeRuneInString(rest[n:])
		return !unicode.IsDigit(next)
	}
	return unicode.IsPunct(r) || unicode.IsSymbol(r)
}

func isSkinTone(r rune) bool { return r >= 0x1F3FB && r <= 0x1F3FF }
