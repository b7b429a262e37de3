// Package blobs keeps attachment content addressed by SHA-256, as files in
// a directory (beside the embedded store by default). It implements
// connectors.Blobs and imports only connectors and the standard library.
package blobs
