package config

import "strings"

// FieldError is one problem with one key. Path is the key path
// (channels[2].phase), an environment variable name (SWITCHBOARD_FOO) or
// FILE:LINE for a decode error. Msg never contains a secret value.
type FieldError struct {
	Path string
	Msg  string
}

func (e FieldError) Error() string {
	if e.Path == "" {
		return e.Msg
	}
	return e.Path + ": " + e.Msg
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
