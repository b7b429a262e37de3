// Package export owns the customer's copy of their data (GDPR Art. 15 and
// 20): a zip streamed to any writer with customer.json (profile,
// identities verified or claimed, merges, conversations), timeline.json
// (every entry with its fields), consents.json (the history),
// attachments/ (the real files) and manifest.json (every file with its
// SHA-256). It streams: entries are read a page at a time and attachment
// content is copied blob by blob, so memory does not grow with the size or
// number of attachments.
//
// It imports store (the contract, never a backend), timeline (the merged
// view), connectors (identities and the blob store) and the standard
// library.
package export
