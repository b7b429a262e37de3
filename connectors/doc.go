// Package connectors defines the contract between channels and the hub: the
// Message a channel produces, the typed Identity of its sender, the Sink a
// channel delivers into, and the optional Source/Sender lifecycles.
//
// It imports only the standard library and nyaruka/phonenumbers (identity
// normalisation). Every channel package (connectors/email, connectors/sms, ...)
// and the plugin host import this package; this package imports none of them,
// nor the router or the store.
package connectors
