// Package email is the email channel (type "email"): IMAP in (go-imap v2:
// IDLE with a polling fallback, a per-folder UIDVALIDITY/last-UID checkpoint
// in the store, optional backfill, one replica at a time under a store lease
// with a fencing token), MIME parsing (go-message with charsets; HTML
// sanitized with bluemonday), threading by Message-ID / In-Reply-To /
// References, and SMTP replies out (go-smtp).
//
// Ids. The provider id of an inbound mail is "FOLDER/<Message-ID>" (or
// "FOLDER/sha256:HEX" of the raw bytes when the mail has no usable
// Message-ID), never the IMAP UID: UIDs are renumbered when UIDVALIDITY
// changes, and the same mail fetched again after a resync must map to the
// same hub message id. The provider id of an outbound reply is its own
// Message-ID "<sb.THREAD.RANDOM@DOMAIN>", where THREAD is the base32 of the
// conversation's thread key, so a customer's answer threads back through
// In-Reply-To even when the customer's client dropped References, and a
// bounce naming that Message-ID marks the reply failed and is filed beside it
// (connectors.Message.Regarding).
//
// It may import the connectors contract, config, the store contract (lease
// and checkpoints), go-imap v2, go-smtp, go-sasl, go-message, bluemonday,
// golang.org/x/net/html and the standard library; never the router, a store
// backend or cmd.
package email
