package csat

import (
	"testing"
	"unicode/utf8"
)

func TestParseScore(t *testing.T) {
	for _, c := range []struct {
		text    string
		scale   int
		score   int
		comment string
		ok      bool
	}{
		{"4", Scale5, 4, "", true},
		{" 5 ", Scale5, 5, "", true},
		{"5!", Scale5, 5, "", true},
		{"4/5", Scale5, 4, "", true},
		{"3 - slow but friendly", Scale5, 3, "slow but friendly", true},
		{"1 never again", Scale5, 1, "never again", true},
		{"2\nthe agent was rude", Scale5, 2, "the agent was rude", true},
		{"0", Scale5, 0, "", false},
		{"6", Scale5, 0, "", false},
		{"10", Scale5, 0, "", false},
		{"3.5", Scale5, 0, "", false},
		{"1-5", Scale5, 0, "", false},
		{"12 Main St", Scale5, 0, "", false},
		{"4th of July", Scale5, 0, "", false},
		{"thanks!", Scale5, 0, "", false},
		{"", Scale5, 0, "", false},
		{"STOP", Scale5, 0, "", false},
		{"👍", ScaleThumbs, 2, "", true},
		{"👎🏽 too slow", ScaleThumbs, 1, "too slow", true},
		{"yes, thanks", ScaleThumbs, 2, "thanks", true},
		{"No", ScaleThumbs, 1, "", true},
		{"nothing", ScaleThumbs, 0, "", false},
		{"2", ScaleThumbs, 2, "", true},
		{"3", ScaleThumbs, 0, "", false},
		{"5", 7, 0, "", false},
	} {
		score, comment, ok := ParseScore(c.text, c.scale)
		if score != c.score || comment != c.comment || ok != c.ok {
			t.Errorf("ParseScore(%q, %d) = %d, %q, %v; want %d, %q, %v", c.text, c.scale, score, comment, ok, c.score, c.comment, c.ok)
		}
	}
}

// FuzzParseScore: never panics; a score is always within its scale; the
// comment is valid UTF-8, bounded, and no longer than the text.
func FuzzParseScore(f *testing.F) {
	for _, s := range []string{"4", "5 great", "3.5", "👍🏿 ok", "yes", "10", "1-5", "\xff", "2 \xff\xfe"} {
		f.Add(s, 5)
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, text string, scale int) {
		score, comment, ok := ParseScore(text, scale)
		if !ok {
			if score != 0 || comment != "" {
				t.Fatalf("not a score but %d, %q", score, comment)
			}
			return
		}
		if scale != Scale5 && scale != ScaleThumbs || score < 1 || score > scale {
			t.Fatalf("score %d on scale %d", score, scale)
		}
		if !utf8.ValidString(comment) || utf8.RuneCountInString(comment) > maxComment {
			t.Fatalf("comment %q", comment)
		}
	})
}
