// Package check validates the example deployments in deploy/ where no
// cluster or container engine runs: the Kubernetes manifests are decoded
// strictly into the API's own Go types (k8s.io/api: an unknown or
// misspelt field is an error) and cross-checked (selectors, probes, the
// image's user, every ConfigMap and Secret key a file path names); the
// compose file is loaded by compose-go, which validates it against the
// Compose Specification's JSON schema and checks its references.
//
// It is a module of its own so that the hub's module does not carry the
// Kubernetes and Compose libraries; scripts/test.sh runs its tests. The
// hub's configuration inside both is checked by the hub itself
// (cmd/switchboard TestDeployConfigsPassConfigCheck).
package check
