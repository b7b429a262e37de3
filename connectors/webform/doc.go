// Package webform is the web form channel (type "webform"): a public
// endpoint that turns "contact us" forms into conversations, and the
// embeddable script that renders the form on a site owner's page.
//
// Routes: POST /forms/{channel} (URL-encoded, multipart with uploads, or
// JSON), OPTIONS /forms/{channel} (CORS preflight), GET
// /forms/{channel}/token (a signed, time-stamped form token) and GET
// /forms/{channel}/embed.js. Only configured fields are stored, in
// configured order, as the message's Fields; anything else is dropped and
// counted. Email and phone fields become claimed identities, so a form can
// never put a message on someone else's timeline. The token's nonce is the
// provider id (one token, at most one entry) and, unless the form passes a
// thread key, each submission opens its own conversation.
//
// The endpoint is public, so abuse controls come first: CORS limited to
// allowed origins, per-IP and per-channel token buckets (429), a body cap
// (413 before the body is read whole), forged and expired tokens refused
// (403), and suspected bots (a filled honeypot, a token used faster than a
// person fills a form) answered exactly like people but handed to the
// sink's quarantine (connectors.Quarantiner) instead of reaching a
// timeline. Statistics go to env.Counters ("webform:CHANNEL:KIND").
//
// It may import the connectors contract, config and the standard library;
// never the store, the router or cmd (its tests build the hub from real
// parts).
package webform
