// Package router turns accepted messages into timeline entries. It owns the
// ingest side of the hub: the Sink every channel delivers into (validate,
// normalise, enqueue durably), the workers that consume the ingest queue
// (dedupe, identity, consent, deciding a message's thread, audience and
// team, then handing it to the conversation service), and the outbound
// dispatcher that hands agent replies to channel Senders with retries.
//
// There is one dedupe path, for every channel (api, webform, sms, slack,
// email, plugins): each delivers through the one Ingest cmd/switchboard
// builds (channels cannot import the router, the store or the timeline;
// the inbox's api channel and quarantine release are handed the same
// Ingest). Ingest.Prepare sets the message's id to
// connectors.MessageID(channel, provider id), whatever id the channel put
// on it, and Process keeps one entry per id (a lookup first, then the
// store's create-once append). No channel dedupes on its own, and nothing
// else writes inbound entries; a check made before a message may reach a
// timeline again (an erasure tombstone) belongs in Process, beside the
// lookup. TestOneSinkOneDedupePath checks this on the code.
//
// A worker indexes its message for search without waiting
// (timeline.DeferIndexing): it frees its slot once the entry is stored and
// announced, and the item is acknowledged only after the index write has
// finished (written, or failed and logged, as a synchronous write did: a
// failing index does not hold messages back), so a crash before it
// redelivers the message; the lookup that finds a redelivered message
// stored indexes its entry again (Service.Reindex). At most 4 × the
// workers' slots of items are read and not yet acknowledged, so a slow
// index holds ingest back.
//
// A message that carries connectors.ThreadHints (email) goes through the
// threading chain (thread.go) after identity: the hub's own Message-ID,
// every Message-ID the hub has seen or sent (store.MessageIDIndex), the
// subject token, Outlook's Thread-Index, then the subject within
// email.thread_window, only ever among its own customer's conversations;
// and the same mail reaching a second mailbox adds that mailbox to the
// first copy's entry instead of making another (sameMail, in Process
// beside the dedupe lookup). The entry of a mail with a Message-ID is not
// its message id but MailEntryID(customer, Message-ID): every copy of one
// mail, processed at the same moment on any replicas, names the same
// entry, and the store's create-once append keeps one (the copy that
// finds it existing adds its mailbox, UpdateEntry, idempotent) without any
// lock; the customer in the derivation keeps a forged Message-ID on the
// forger's own entry. Its conversation id is derived from the entry id,
// its webhooks and LastMessageID name the entry id, erasure buries the
// entry id and the Message-ID (store.MessageIDTombstone, checked in
// Process before identity), so a replay of any copy stays dropped. The outbound dispatcher refuses an automatic
// message in answer to a no-reply one (RFC 3834), for every channel.
//
// Who a message belongs to is package identity's (the router calls its
// Resolver for every message); the channels and their phases are package
// directory's; erasing a person is package erasure's; every change to a
// conversation, snoozes waking up included, is timeline.Service's, and so
// are the realtime events (timeline.Event, timeline.Publish).
//
// It imports store (the contract, never a backend), connectors, timeline,
// identity, directory, internal/ids, go-json and the Prometheus client. It
// never imports a channel implementation: Senders are registered by
// cmd/switchboard. Nothing it imports imports it.
package router
