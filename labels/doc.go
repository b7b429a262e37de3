// Package labels owns the hub's label catalog and custom attribute
// definitions (issue 24): one shared list of labels (name, colour,
// description) put on conversations and customers, and admin-defined
// attributes (text, number, date, list, checkbox) on either.
//
// The catalog is kept as two small JSON documents in the store's
// checkpoints (keys "labels/catalog" and "labels/attributes"): admins edit
// it rarely and the whole list is read at once. Labels and attribute
// values on a conversation live in the conversation record (written only
// through timeline.Service.Update, in its compare-and-swap); on a customer
// in the customer record (Catalog.UpdateCustomer, audit first). So export
// carries them with the records and erasure removes them with them.
//
// It may import store and timeline; nothing in the hub's core imports it
// but inbox and cmd.
package labels
