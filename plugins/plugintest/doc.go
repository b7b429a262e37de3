// Package plugintest is the conformance kit for channel plugin binaries:
// it launches a plugin the way the hub does and checks the handshake,
// health, delivery and acknowledgement, redelivery after the process is
// killed mid-delivery, retry after the hub refused to store, Send, error
// reporting and shutdown, with a clear pass, fail or skip per check.
//
// `switchboard plugins test PATH` runs Check and prints the results; a
// plugin's own Go tests call Run. Delivery checks need a way to make the
// provider produce a message: Options.Inject, or the plugin's own
// sdk.Injector ability; without either they are skipped.
//
// It imports plugins (the host) and connectors; only tools and tests
// import it.
package plugintest
