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
// customer's last message, split at Telegram's 4096-character limit.
//
// Settings: bot_token (required; bot_token_file in the hub's config),
// api_base_url (default https://api.telegram.org), mode (polling|webhook),
// poll_timeout (seconds, default 25), webhook_secret (required in webhook
// mode).
package main
