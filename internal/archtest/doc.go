// Package archtest holds tests of the import graph: the one-way arrows
// between the hub's parts that the compiler alone does not enforce. Its
// tests run `go list -deps` on the module's packages (non-test code only).
//
// It has no code of its own and imports nothing; only its tests run.
package archtest
