package store

// MessageIDIndex is the ProviderIDs "channel" under which the router
// records the Message-ID ("<id>") and Outlook thread root ("ti:HEX") of
// every inbound mail, shared by every email channel (router/thread.go).
// The records belong to the entry's customer and go with the timeline
// (DeleteEntries); retention drops an entry's Message-ID record with the
// entry.
const MessageIDIndex = "~message-id"
