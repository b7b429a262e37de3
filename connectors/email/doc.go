// Package email is the email channel (type "email"): IMAP in (go-imap v2:
// IDLE with a polling fallback, a per-folder UIDVALIDITY/last-UID checkpoint
// in the channel's connectors.State, optional backfill, one replica at a
// time: the channel is a connectors.LeasedSource and the hub holds its lease
// "email:CHANNEL", whose fencing token guards every checkpoint write), MIME parsing (go-message with charsets; HTML
// sanitized with bluemonday), threading by Message-ID / In-Reply-To /
// References, and SMTP replies out (go-smtp).
//
// Sender. The From address is a claimed identity unless a receiving server
// the operator trusts (email.trusted_authserv_ids) authenticated it in its
// Authentication-Results header (dmarc=pass, or an aligned dkim=pass):
// Parsed.Authenticated holds the rule.
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
// Threading. Each mail carries connectors.ThreadHints (thread.go): its
// own Message-ID, the ids it answers, the hub's [#XXXXXX] subject token,
// the Outlook Thread-Index root and the normalised subject with
// thread_window; the router's threading chain decides. Replies carry the
// token in the subject and a Thread-Index/Thread-Topic of the
// conversation, so clients that keep only those still thread back.
//
// Loops (RFC 3834, loop.go). Parse marks no-reply mail (Auto-Submitted,
// Precedence, X-Autoreply, X-Auto-Response-Suppress, List-Id, no-reply
// and mailer-daemon senders); Send marks automatic mail Auto-Submitted:
// auto-generated and refuses it to a no-reply address or past
// automatic_limit per address and day (shared by the replicas through
// connectors.Env.Budgets); the hub's own mail coming back is
// filed beside the message it names.
//
// It may import the connectors contract, config, go-imap v2, go-smtp,
// go-sasl, go-message, bluemonday, golang.org/x/net/html and the standard
// library; never the store, the router or cmd (its tests build the hub from
// real parts and may import them).
package email
