package config

import "strings"

// FieldError is one problem with one key. Path is the key path
// (channels[2].phase) or an environment variable name (SWITCHBOARD_FOO);
// it may be empty when Msg says where (an unknown key). Where, set for
// configurations read by Load or Check, is the problem's source: FILE:LINE
// for a key of the file, or the SWITCHBOARD_* variable that set the value.
// Msg never contains a secret value.
type FieldError struct {
	Where string
	Path  string
	Msg   string

	// at is the precise key path to locate when Path is coarser (an
	// unknown key inside a channel section); line is Where's line.
	at   string
	line int
	// A decode error (decode) makes others redundant: skip is a key path
	// left undecoded (a wrong type), meant the key an unknown key was
	// probably meant to be (its "is required" would only repeat the
	// suggestion).
	decode      bool
	skip, meant string
}

// Error is "WHERE: PATH: MSG", leaving out what is empty.
func (e FieldError) Error() string {
	parts := make([]string, 0, 3)
	for _, s := range []string{e.Where, e.Path, e.Msg} {
		if s != "" {
			parts = append(parts, s)
		}
	}
	return strings.Join(parts, ": ")
}

// ValidationErrors is every problem found, in a stable order. Its Error
// lists one problem per line.
type ValidationErrors []FieldError

func (v ValidationErrors) Error() string {
	lines := make([]string, len(v))
	for i, e := range v {
		lines[i] = e.Error()
	}
	return strings.Join(lines, "\n")
}

// Unwrap exposes each FieldError to errors.Is / errors.As.
func (v ValidationErrors) Unwrap() []error {
	out := make([]error, len(v))
	for i, e := range v {
		out[i] = e
	}
	return out
}
