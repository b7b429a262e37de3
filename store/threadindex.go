package store

// MessageIDIndex is the ProviderIDs "channel" under which the router
// records the Message-ID ("<id>") and Outlook thread root ("ti:HEX") of
// every inbound mail, shared by every email channel (router/thread.go).
// The records belong to the entry's customer and go with the timeline
// (DeleteEntries); retention drops an entry's Message-ID record with the
// entry.
const MessageIDIndex = "~message-id"

// MessageIDTombstone is the tombstone name erasure buries for an erased
// mail's Message-ID (with angle brackets): a copy of the mail that reached
// another mailbox was folded into the first copy's entry and has no entry
// id of its own to bury, so the router checks this name too.
func MessageIDTombstone(messageID string) string { return "mid:" + messageID }
