// Package redisnodes starts throwaway redis-server processes on free
// loopback ports for tests and the scripts/cluster driver: a Redis Cluster
// of primaries with replicas, or a primary with replicas, each node in its
// own directory under a given one, and stops them by their PIDs. It also
// does the faults a failover test needs (SIGKILL of a node, CLUSTER
// FAILOVER on a replica).
//
// It may import the standard library and go-redis only; it is not part of
// the hub (only tests and scripts/cluster import it).
package redisnodes
