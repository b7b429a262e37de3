package email

import (
	"regexp"
	"strings"
)

// Attribution lines that start quoted reply history, in the languages
// customers most often write in. A line must match whole (after trimming).
var attributionRe = []*regexp.Regexp{
	regexp.MustCompile(`(?i)^on .{4,200} wrote:?$`),              // Gmail, Apple Mail, Thunderbird (en)
	regexp.MustCompile(`(?i)^am .{4,200} schrieb .{0,200}:?$`),   // de
	regexp.MustCompile(`(?i)^le .{4,200} a écrit ?:?$`),          // fr
	regexp.MustCompile(`(?i)^el .{4,200} escribió:?$`),           // es
	regexp.MustCompile(`(?i)^.{4,200} kirjoitti:?$`),             // fi
	regexp.MustCompile(`(?i)^den .{4,200} skrev .{0,200}:?$`),    // sv, da, no
	regexp.MustCompile(`(?i)^op .{4,200} schreef .{0,200}:?$`),   // nl
	regexp.MustCompile(`(?i)^-{2,}\s*original message\s*-{2,}$`), // Outlook
	regexp.MustCompile(`(?i)^-{2,}\s*ursprüngliche nachricht\s*-{2,}$`),
	regexp.MustCompile(`(?i)^-{2,}\s*forwarded message\s*-{2,}$`), // a forward's quoted part
	regexp.MustCompile(`^_{20,}$`),                                // Outlook web: a rule, then From:/Sent:
}

// splitQuoted separates quoted reply history from the new text of a
// plain-text body. It cuts at the first attribution line ("On ... wrote:",
// "-----Original Message-----", ...), or at a trailing block in which every
// non-blank line starts with ">". Inline answers (new text between quoted
// lines) are left whole. When nothing new would remain, nothing is cut.
func splitQuoted(text string) (fresh, quoted string) {
	lines := strings.Split(text, "\n")
	cut := -1
	for i, l := range lines {
		t := strings.TrimSpace(l)
		if t == "" || strings.HasPrefix(t, ">") {
			continue
		}
		matched := false
		for _, re := range attributionRe {
			if re.MatchString(t) {
				matched = true
				break
			}
		}
		// Gmail wraps long attributions over two lines: "On ..., X <a@b>" / "wrote:".
		if !matched && i+1 < len(lines) && strings.HasPrefix(strings.ToLower(t), "on ") &&
			strings.EqualFold(strings.TrimSpace(lines[i+1]), "wrote:") {
			matched = true
		}
		if matched {
			cut = i
			break
		}
	}
	if cut < 0 {
		// A trailing quote block: from the last line backwards, every
		// non-blank line is quoted.
		start := -1
		for i := len(lines) - 1; i >= 0; i-- {
			t := strings.TrimSpace(lines[i])
			if t == "" {
				continue
			}
			if !strings.HasPrefix(t, ">") {
				break
			}
			start = i
		}
		cut = start
	}
	if cut <= 0 {
		return text, ""
	}
	fresh = strings.TrimRight(strings.Join(lines[:cut], "\n"), " \t\r\n")
	if strings.TrimSpace(fresh) == "" {
		return text, ""
	}
	return fresh, strings.TrimSpace(strings.Join(lines[cut:], "\n"))
}
