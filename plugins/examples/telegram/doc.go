// Command telegram is a Switchboard channel plugin for the Telegram Bot
// API, and the worked example of plugins/sdk.
//
// Inbound: getUpdates long polling (mode polling, the default) or a
// webhook (mode webhook: the hub forwards POST
// /webhooks/plugin/{channel}/update, checked against webhook_secret). In
// polling mode the offset that confirms updates to Telegram advances only
// past updates the hub acknowledged, so a crash at any point redelivers
// instead of losing; the hub dedupes by provider id "chat_id:message_id".
// The sender is a verified identity of kind "telegram" (the user id).
//
// Outbound: sendMessage to the conversation's chat, as a reply to the
// customer's last message, split at Telegram's 4096-character limit
// (counted in UTF-16 code units, as Telegram does). When a later part of a
// split reply fails, the send fails permanently saying how many parts went
// out: a retry by the hub would repeat them.
//
// Settings: bot_token (required; bot_token_file in the hub's config),
// api_base_url (default https://api.telegram.org), mode (polling|webhook),
// poll_timeout (1..50 seconds, default 25), webhook_secret (required in
// webhook mode; 16-256 of A-Z a-z 0-9 _ -, as Telegram allows).
package main
