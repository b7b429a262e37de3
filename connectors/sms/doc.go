// Package sms is the SMS channel (type "sms") on Twilio: signed message
// webhooks in (POST /webhooks/twilio/{channel}, X-Twilio-Signature checked
// with twilio-go's RequestValidator against the channel's public URL),
// replies out with twilio-go's Api.CreateMessage, delivery status callbacks
// (POST /webhooks/twilio/{channel}/status, signature-checked the same way)
// reported to the hub's StatusSink, STOP/START/HELP keywords turned into
// consent changes, MMS media fetched with the account's credentials into
// the blob store, and Api.FetchAccount for `switchboard channels test`.
//
// The sender number (From, E.164) is a verified phone identity; MessageSid
// is the provider id, so Twilio re-posting a webhook never creates a second
// entry; ThreadKey is empty (one running conversation per number). A webhook
// is answered with empty TwiML only after the sink made the message durable.
//
// It may import the connectors contract, config, twilio-go (client and
// rest/api/v2010) and the standard library; never the store, the router,
// nor cmd (its tests build the hub from real parts).
package sms
