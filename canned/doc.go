// Package canned owns canned replies (issue 19): short texts an agent
// inserts into a reply instead of typing them again. A reply is shared
// (every agent sees it; only admins write it) or personal (its owner alone
// sees and writes it). Texts may hold placeholders, filled in when the
// reply is used (Render):
//
//	{{customer.name}}    the customer's name
//	{{agent.name}}       the name of the agent replying
//	{{conversation.id}}  the conversation's id
//
// An unknown placeholder is refused when a reply is saved (ErrInvalid).
//
// The replies are one small JSON document in the store's checkpoints (key
// "canned/replies"), as the label catalog is (package labels): they are few,
// edited rarely and read whole. Edits in one process are serialised; two
// replicas editing at the same instant may lose one edit (as with labels).
//
// It may import store only; inbox serves it and automation renders with it.
package canned
