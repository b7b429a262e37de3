// Package jsonstr writes JSON strings by hand, escaped as encoding/json
// escapes them where that changes what is read back: the compact record
// encoders of store/redis (entries) and search/redis (documents) share
// it, so the two cannot drift. It imports only the standard library.
package jsonstr

import "unicode/utf8"

// Append appends s as a JSON string, escaped as encoding/json
// escapes it where that changes what is read back: invalid UTF-8 becomes
// U+FFFD (so a record reads back as json.Marshal's encoding of it read), quotes,
// backslashes and control characters are escaped, U+2028 and U+2029 too.
// HTML characters are left as they are (encoding/json's \u003c reads back
// the same).
func Append(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
