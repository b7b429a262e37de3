package plugins_test

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
)

func sha256Hex(b []byte) string { s := sha256.Sum256(b); return hex.EncodeToString(s[:]) }

func errorsIs(err, target error) bool { return errors.Is(err, target) }
