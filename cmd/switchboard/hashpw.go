package main

import (
	"bufio"
	"fmt"
	"io"
	"strings"

	"golang.org/x/crypto/bcrypt"
)

// hashPassword reads a password (the first line of stdin) and prints its
// bcrypt hash (cost 12) for an agent's password_hash, so signing in needs
// no other tool. The password is never echoed.
func hashPassword(args []string, stdin io.Reader, stdout io.Writer) error {
	if len(args) != 0 {
		return usageError("password-hash takes no arguments; it reads the password from stdin")
	}
	line, err := bufio.NewReader(stdin).ReadString('\n')
	if err != nil && err != io.EOF {
		return fmt.Errorf("read the password: %w", err)
	}
	pw := strings.TrimRight(line, "\r\n")
	if len(pw) < 8 {
		return fmt.Errorf("the password must be at least 8 characters")
	}
	if len(pw) > 72 {
		return fmt.Errorf("bcrypt uses at most 72 bytes of a password; choose a shorter one")
	}
	h, err := bcrypt.GenerateFromPassword([]byte(pw), 12)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, string(h))
	return err
}
