// Package consent owns the consent purposes (configured as
// consent.purposes: a name, a legal basis and the text shown to
// customers) and the decision whether the hub may message a customer on a
// channel for a purpose, derived from the consent history the store keeps.
//
// It may import store, timeline (a customer's merged view: a decision made
// by any record of the person counts) and connectors; it writes consent
// decisions through the store and nothing else. router asks it before every
// outbound message; inbox records decisions through it.
package consent
