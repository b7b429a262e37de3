package webform

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"net/url"
	"path"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/switchboard-hub/switchboard/connectors"
)

// Names of the fields the form sends besides the configured ones.
const (
	metaToken  = "_token"
	metaThread = "_thread"
)

// submission is a request body taken apart: the values of configured and
// meta fields (anything else is already dropped and only counted) and the
// files sent to file fields.
type submission struct {
	values  map[string][]string
	uploads []upload
	unknown int
	json    bool
}

type upload struct {
	field, filename, contentType string
	data                         []byte
}

// reqError is a refusal with its HTTP status, a stable code for scripts
// and a message for people. Fields, when set, says what is wrong with
// which field.
type reqError struct {
	status int
	code   string
	msg    string
	fields map[string]string
}

func (e *reqError) Error() string { return e.msg }

func refuse(status int, code, format string, args ...any) *reqError {
	return &reqError{status: status, code: code, msg: fmt.Sprintf(format, args...)}
}

func tooLarge(limit int64) *reqError {
	return refuse(http.StatusRequestEntityTooLarge, "too_large", "the submission is larger than %d bytes", limit)
}

// parseBody reads a submission of content type ct from body (already
// capped at the channel's max_body_bytes by the caller).
func (s *Settings) parseBody(ct string, body io.Reader) (*submission, error) {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil {
		return nil, refuse(http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/x-www-form-urlencoded, multipart/form-data or application/json")
	}
	sub := &submission{values: map[string][]string{}}
	switch mt {
	case "application/x-www-form-urlencoded":
		b, err := io.ReadAll(io.LimitReader(body, s.bodyLimit(mt)+1))
		if err != nil {
			return nil, readError(err, s.bodyLimit(mt))
		}
		if int64(len(b)) > s.bodyLimit(mt) {
			return nil, tooLarge(s.bodyLimit(mt))
		}
		vals, err := url.ParseQuery(string(b))
		if err != nil {
			return nil, refuse(http.StatusBadRequest, "bad_request", "the form body is not valid URL encoding")
		}
		for k, vs := range vals {
			sub.add(s, k, vs...)
		}
	case "multipart/form-data":
		if params["boundary"] == "" {
			return nil, refuse(http.StatusBadRequest, "bad_request", "multipart body without a boundary")
		}
		if err := s.parseMultipart(sub, multipart.NewReader(body, params["boundary"])); err != nil {
			return nil, err
		}
	case "application/json":
		sub.json = true
		if err := s.parseJSON(sub, &limitedReader{r: body, n: s.bodyLimit(mt)}); err != nil {
			return nil, err
		}
	default:
		return nil, refuse(http.StatusUnsupportedMediaType, "unsupported_media_type", "send application/x-www-form-urlencoded, multipart/form-data or application/json")
	}
	return sub, nil
}

func readError(err error, limit int64) *reqError {
	var mbe *http.MaxBytesError
	if errors.As(err, &mbe) || errors.Is(err, connectors.ErrTooLarge) {
		return tooLarge(limit)
	}
	return refuse(http.StatusBadRequest, "bad_request", "the body could not be read")
}

// known reports whether name is a configured field or a meta field.
func (s *Settings) known(name string) bool {
	if name == metaToken || name == metaThread || name == s.Honeypot {
		return true
	}
	_, ok := s.field(name)
	return ok
}

func (sub *submission) add(s *Settings, name string, vs ...string) {
	if !s.known(name) {
		sub.unknown += max(len(vs), 1)
		return
	}
	sub.values[name] = append(sub.values[name], vs...)
}

// valueCap is how many bytes of one field value are read: enough for any
// value that can pass its max_length, so longer values are refused without
// holding them whole.
func (s *Settings) valueCap(name string) int64 {
	if f, ok := s.field(name); ok {
		return int64(f.MaxLength)*utf8.UTFMax + 2
	}
	return 4096
}

func (s *Settings) parseMultipart(sub *submission, mr *multipart.Reader) error {
	var total int64
	for {
		p, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			if re := readError(err, s.MaxBodyBytes); re.status == http.StatusRequestEntityTooLarge {
				return re
			}
			return refuse(http.StatusBadRequest, "bad_request", "the multipart body is malformed")
		}
		name := p.FormName()
		f, configured := s.field(name)
		switch {
		case name == "" || !s.known(name) || (p.FileName() != "" && f.Type != TypeFile):
			// Unknown, or a file where none belongs: drop it unread.
			if _, err := io.Copy(io.Discard, p); err != nil {
				return readError(err, s.MaxBodyBytes)
			}
			sub.unknown++
		case configured && f.Type == TypeFile && p.FileName() == "":
			// An empty file input: browsers send it without a file name.
			if _, err := io.Copy(io.Discard, p); err != nil {
				return readError(err, s.MaxBodyBytes)
			}
		case configured && f.Type == TypeFile:
			data, err := io.ReadAll(io.LimitReader(p, s.Uploads.MaxFileBytes+1))
			if err != nil {
				return readError(err, s.MaxBodyBytes)
			}
			if int64(len(data)) > s.Uploads.MaxFileBytes {
				return refuse(http.StatusRequestEntityTooLarge, "too_large", "file %q is larger than %d bytes", cleanFilename(p.FileName()), s.Uploads.MaxFileBytes)
			}
			if total += int64(len(data)); total > s.Uploads.MaxTotalBytes {
				return refuse(http.StatusRequestEntityTooLarge, "too_large", "the files together are larger than %d bytes", s.Uploads.MaxTotalBytes)
			}
			ct, ok := s.uploadType(p.Header.Get("Content-Type"), data)
			if !ok {
				return &reqError{status: http.StatusUnsupportedMediaType, code: "unsupported_media_type",
					msg:    fmt.Sprintf("files of type %s are not accepted", ct),
					fields: map[string]string{name: "accepts " + strings.Join(s.Uploads.AllowedTypes, ", ")}}
			}
			sub.uploads = append(sub.uploads, upload{field: name, filename: cleanFilename(p.FileName()), contentType: ct, data: data})
		default:
			limit := s.valueCap(name)
			b, err := io.ReadAll(io.LimitReader(p, limit))
			if err != nil {
				return readError(err, s.MaxBodyBytes)
			}
			if _, err := io.Copy(io.Discard, p); err != nil { // the rest of an over-long value
				return readError(err, s.MaxBodyBytes)
			}
			sub.values[name] = append(sub.values[name], string(b))
		}
	}
}

// uploadType decides a file's media type: the declared one, or sniffed
// when none (or a generic one) is declared. Content that sniffs as HTML is
// refused unless HTML is explicitly allowed, whatever was declared.
func (s *Settings) uploadType(declared string, data []byte) (string, bool) {
	sniffed, _, _ := mime.ParseMediaType(http.DetectContentType(data))
	mt, _, err := mime.ParseMediaType(declared)
	if err != nil || mt == "" || mt == "application/octet-stream" {
		mt = sniffed
	}
	mt = strings.ToLower(mt)
	if sniffed == "text/html" && !typeAllowed("text/html", s.Uploads.AllowedTypes) {
		return "text/html", false
	}
	return mt, typeAllowed(mt, s.Uploads.AllowedTypes)
}

func typeAllowed(mt string, allowed []string) bool {
	for _, a := range allowed {
		if a == mt || (strings.HasSuffix(a, "/*") && strings.HasPrefix(mt, strings.TrimSuffix(a, "*"))) {
			return true
		}
	}
	return false
}

// cleanFilename keeps the base name of a client's file name, without
// control characters, at most 255 bytes of valid UTF-8.
func cleanFilename(name string) string {
	name = strings.ReplaceAll(name, "\\", "/")
	name = path.Base(strings.ToValidUTF8(name, "_"))
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, name)
	for len(name) > 255 {
		_, size := utf8.DecodeLastRuneInString(name)
		name = name[:len(name)-size]
	}
	if name == "" || name == "." || name == "/" {
		return "file"
	}
	return name
}

// limitedReader fails with ErrTooLarge once more than n bytes were read
// (the caller's MaxBytesReader does the same for a request; this keeps
// parseBody's own limit when it is called without one).
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n < 0 {
		return 0, connectors.ErrTooLarge
	}
	if int64(len(p)) > l.n+1 {
		p = p[:l.n+1]
	}
	k, err := l.r.Read(p)
	l.n -= int64(k)
	if l.n < 0 {
		return k, connectors.ErrTooLarge
	}
	return k, err
}

func (s *Settings) parseJSON(sub *submission, body io.Reader) error {
	dec := json.NewDecoder(body)
	dec.UseNumber()
	var obj map[string]json.RawMessage
	if err := dec.Decode(&obj); err != nil {
		if re := readError(err, s.bodyLimit("application/json")); re.status == http.StatusRequestEntityTooLarge {
			return re
		}
		return refuse(http.StatusBadRequest, "bad_request", "the body is not a JSON object")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		if re := readError(err, s.bodyLimit("application/json")); re.status == http.StatusRequestEntityTooLarge {
			return re
		}
		return refuse(http.StatusBadRequest, "bad_request", "the body holds more than one JSON value")
	}
	bad := map[string]string{}
	for k, raw := range obj {
		if !s.known(k) {
			sub.unknown++
			continue
		}
		v, ok := jsonScalar(raw)
		if !ok {
			bad[k] = "must be a string, number or boolean"
			continue
		}
		sub.values[k] = append(sub.values[k], v)
	}
	if len(bad) > 0 {
		return &reqError{status: http.StatusUnprocessableEntity, code: "invalid", msg: "some fields are not valid", fields: bad}
	}
	return nil
}

// jsonScalar turns a JSON string, number, boolean or null into the text a
// form field would carry.
func jsonScalar(raw json.RawMessage) (string, bool) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return "", false
	}
	switch raw[0] {
	case '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", false
		}
		return s, true
	case 't', 'f':
		b, err := strconv.ParseBool(string(raw))
		return strconv.FormatBool(b), err == nil
	case 'n':
		return "", string(raw) == "null"
	case '{', '[':
		return "", false
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err != nil {
		return "", false
	}
	return n.String(), true
}
