package main

import (
	"errors"
	"fmt"
	"regexp"
	"strings"
)

var typedIdentity = regexp.MustCompile(`^[a-z][a-z0-9_-]*:`)

// guessIdentity returns v as a TYPE:VALUE identity key. A v without a
// TYPE: is guessed: email when it has an @, phone when it reads as a
// number (digits with +, spaces, dashes, dots or parentheses), else a chat
// (slack) id; guessed says the type was guessed.
func guessIdentity(v string) (key string, guessed bool) {
	v = strings.TrimSpace(v)
	if typedIdentity.MatchString(v) {
		return v, false
	}
	switch {
	case strings.Contains(v, "@"):
		return "email:" + v, true
	case looksLikePhone(v):
		return "phone:" + v, true
	}
	return "slack:" + v, true
}

func looksLikePhone(v string) bool {
	digits := 0
	for i, r := range v {
		switch {
		case r >= '0' && r <= '9':
			digits++
		case r == '+' && i == 0, r == ' ', r == '-', r == '.', r == '(', r == ')':
		default:
			return false
		}
	}
	return digits >= 5 && digits <= 15
}

// unmergeError words a refused unmerge (409) for the person at the
// terminal instead of repeating the API path and the store's wording.
func unmergeError(id string, err error) error {
	var he httpError
	if errors.As(err, &he) && he.status == 409 {
		return fmt.Errorf("cannot unmerge %s: it is not an applied merge now (%s); see `switchboard customers show ID` for the customer's merges", id, he.message)
	}
	return err
}
