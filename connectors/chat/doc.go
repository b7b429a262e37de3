// Package chat is the Slack channel (type "slack"): Events API webhooks
// (POST /webhooks/slack/{channel}, v0 signatures) and Socket Mode in,
// chat.postMessage in the customer's thread (or DM) out (a reply with
// files: Slack's external upload into the same thread, upload.go), and
// auth.test for `switchboard channels test`.
//
// A Slack thread is one conversation (ThreadKey "CHANNEL:THREAD_TS"; a DM
// without threads is one conversation per DM channel). The provider id of
// an inbound message, and of a text reply, is "CHANNEL:TS", the same
// whether the event came through the Events API or Socket Mode and on
// every Slack retry, so duplicates collapse on the hub's deterministic
// message id. A reply with files has "CHANNEL:files:F1,F2" (the uploaded
// files' ids, upload.go): files.completeUploadExternal answers the
// files, not the ts of the message that shares them. Edits and deletions
// are their own timeline entries, never applied silently. The sender is
// the verified identity slack:TEAM:USER plus, when users.info shows one,
// the profile email as a verified email identity. Shared files are fetched with the
// bot token into the hub's blob store (files.go), within the webhook's
// time budget; a file not fetched is listed with the reason.
//
// In mode socket, Socket is a connectors.LeasedSource: the hub holds the
// lease "slack:CHANNEL" for it, so one replica keeps the connection.
//
// It may import the connectors contract, config, slack-go (slack,
// slackutilsx and socketmode) and the standard library; never the store,
// the router or cmd (its tests build the hub from real parts).
package chat
