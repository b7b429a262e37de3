package redisnodes

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// Available reports whether redis-server and redis-cli are on PATH.
func Available() error {
	for _, b := range []string{"redis-server", "redis-cli"} {
		if _, err := exec.LookPath(b); err != nil {
			return fmt.Errorf("%s not found (apt-get install redis-server redis-tools): %w", b, err)
		}
	}
	return nil
}

// Node is one redis-server process.
type Node struct {
	Addr string
	Dir  string
	cmd  *exec.Cmd
	done chan struct{}
}

// Alive reports whether the process is still running.
func (n *Node) Alive() bool {
	select {
	case <-n.done:
		return false
	default:
		return true
	}
}

// Kill sends SIGKILL to the node's process and waits for it to exit.
func (n *Node) Kill() {
	if n.Alive() {
		_ = n.cmd.Process.Signal(syscall.SIGKILL)
		<-n.done
	}
}

// Client is a plain client of this node alone.
func (n *Node) Client() *goredis.Client {
	return goredis.NewClient(&goredis.Options{Addr: n.Addr, MaxRetries: -1, DialTimeout: time.Second})
}

// Set is every node started by one caller.
type Set struct {
	dir   string
	mu    sync.Mutex
	Nodes []*Node
}

// New returns an empty set whose nodes live under dir.
func New(dir string) *Set { return &Set{dir: dir} }

// Stop kills every node of the set.
func (s *Set) Stop() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.Nodes {
		n.Kill()
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// Start starts one redis-server with extra arguments (e.g.
// "--cluster-enabled", "yes") on a free port and waits for its PING.
func (s *Set) Start(extra ...string) (*Node, error) {
	port, err := freePort()
	if err != nil {
		return nil, err
	}
	dir := filepath.Join(s.dir, strconv.Itoa(port))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	args := append([]string{"--bind", "127.0.0.1", "--port", strconv.Itoa(port), "--save", "", "--appendonly", "no",
		"--dir", dir, "--daemonize", "no", "--logfile", filepath.Join(dir, "redis.log")}, extra...)
	cmd := exec.Command("redis-server", args...)
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	n := &Node{Addr: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, cmd: cmd, done: make(chan struct{})}
	go func() { _ = cmd.Wait(); close(n.done) }()
	s.mu.Lock()
	s.Nodes = append(s.Nodes, n)
	s.mu.Unlock()
	c := n.Client()
	defer c.Close()
	for i := 0; i < 200; i++ {
		if c.Ping(context.Background()).Err() == nil {
			return n, nil
		}
		if !n.Alive() {
			break
		}
		time.Sleep(25 * time.Millisecond)
	}
	n.Kill()
	log, _ := os.ReadFile(filepath.Join(dir, "redis.log"))
	return nil, fmt.Errorf("redis-server on %s did not start: %s", n.Addr, tail(string(log)))
}

func tail(s string) string {
	if len(s) > 600 {
		return "..." + s[len(s)-600:]
	}
	return s
}

// Replicated starts a primary and n replicas of it (standalone, not a
// Cluster) and waits until every replica is in sync.
func (s *Set) Replicated(n int) (primary *Node, replicas []*Node, err error) {
	if primary, err = s.Start(); err != nil {
		return nil, nil, err
	}
	host, port, _ := net.SplitHostPort(primary.Addr)
	for i := 0; i < n; i++ {
		r, err := s.Start("--replicaof", host, port)
		if err != nil {
			return nil, nil, err
		}
		replicas = append(replicas, r)
	}
	return primary, replicas, waitSynced(primary, n)
}

func waitSynced(primary *Node, n int) error {
	c := primary.Client()
	defer c.Close()
	for i := 0; i < 400; i++ {
		info, _ := c.Info(context.Background(), "replication").Result()
		if strings.Count(info, "state=online") >= n {
			return nil
		}
		time.Sleep(25 * time.Millisecond)
	}
	return fmt.Errorf("replicas of %s not in sync after 10s", primary.Addr)
}

// Cluster is a Redis Cluster started by Set.Cluster.
type Cluster struct {
	*Set
	NodeTimeout time.Duration
}

// Cluster starts primaries × (1 + replicas) nodes with cluster-node-timeout
// nodeTimeout, joins them with redis-cli --cluster create and waits until
// every node reports cluster_state:ok and every replica is in sync.
func (s *Set) Cluster(primaries, replicas int, nodeTimeout time.Duration) (*Cluster, error) {
	var addrs []string
	for i := 0; i < primaries*(1+replicas); i++ {
		n, err := s.Start("--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-node-timeout", strconv.FormatInt(nodeTimeout.Milliseconds(), 10))
		if err != nil {
			return nil, err
		}
		addrs = append(addrs, n.Addr)
	}
	args := append([]string{"--cluster", "create"}, addrs...)
	args = append(args, "--cluster-replicas", strconv.Itoa(replicas), "--cluster-yes")
	if out, err := exec.Command("redis-cli", args...).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("redis-cli --cluster create: %v: %s", err, tail(string(out)))
	}
	c := &Cluster{Set: s, NodeTimeout: nodeTimeout}
	if err := c.WaitOK(30 * time.Second); err != nil {
		return nil, err
	}
	return c, c.WaitSynced(30 * time.Second)
}

// WaitSynced waits until every live replica's link to its primary is up.
func (c *Cluster) WaitSynced(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for _, n := range c.Set.Nodes {
		for n.Alive() {
			nc := n.Client()
			info, err := nc.Info(context.Background(), "replication").Result()
			nc.Close()
			if err == nil && (strings.Contains(info, "role:master") || strings.Contains(info, "master_link_status:up")) {
				break
			}
			if time.Now().After(deadline) {
				return fmt.Errorf("replica %s not in sync after %v", n.Addr, limit)
			}
			time.Sleep(25 * time.Millisecond)
		}
	}
	return nil
}

// Addrs are the addresses of every node.
func (s *Set) Addrs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []string
	for _, n := range s.Nodes {
		out = append(out, n.Addr)
	}
	return out
}

// Node returns the node at addr.
func (s *Set) Node(addr string) *Node {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, n := range s.Nodes {
		if n.Addr == addr {
			return n
		}
	}
	return nil
}

// Role is a live node's role ("master" or "slave") and, for a replica, the
// address of its primary.
func Role(ctx context.Context, addr string) (role, primary string, err error) {
	c := goredis.NewClient(&goredis.Options{Addr: addr, MaxRetries: -1, DialTimeout: 500 * time.Millisecond})
	defer c.Close()
	v, err := c.Do(ctx, "role").Slice()
	if err != nil {
		return "", "", err
	}
	role, _ = v[0].(string)
	if role == "slave" && len(v) >= 3 {
		primary = fmt.Sprintf("%v:%v", v[1], v[2])
	}
	return role, primary, nil
}

// Primaries are the live nodes that are primaries now.
func (c *Cluster) Primaries(ctx context.Context) []*Node {
	var out []*Node
	for _, n := range c.Set.Nodes {
		if !n.Alive() {
			continue
		}
		if r, _, err := Role(ctx, n.Addr); err == nil && r == "master" {
			out = append(out, n)
		}
	}
	return out
}

// ReplicaOf is a live replica of the primary at addr (nil when none).
func (c *Cluster) ReplicaOf(ctx context.Context, addr string) *Node {
	for _, n := range c.Set.Nodes {
		if !n.Alive() {
			continue
		}
		if r, p, err := Role(ctx, n.Addr); err == nil && r == "slave" && p == addr {
			return n
		}
	}
	return nil
}

// MasterOfKey is the address of the live primary serving key's slot.
func (c *Cluster) MasterOfKey(ctx context.Context, key string) (string, error) {
	for _, n := range c.Set.Nodes {
		if !n.Alive() {
			continue
		}
		nc := n.Client()
		slot, err := nc.ClusterKeySlot(ctx, key).Result()
		if err != nil {
			nc.Close()
			continue
		}
		slots, err := nc.ClusterSlots(ctx).Result()
		nc.Close()
		if err != nil {
			continue
		}
		for _, s := range slots {
			if int64(s.Start) <= slot && slot <= int64(s.End) && len(s.Nodes) > 0 {
				return s.Nodes[0].Addr, nil
			}
		}
	}
	return "", errors.New("no live node knows the slot's master")
}

// Failover runs CLUSTER FAILOVER (planned: the replica and its primary
// agree, no write is lost) on the replica at addr and waits until it is a
// primary.
func (c *Cluster) Failover(ctx context.Context, addr string) error {
	n := c.Node(addr)
	if n == nil {
		return fmt.Errorf("no node %s", addr)
	}
	nc := n.Client()
	defer nc.Close()
	if err := nc.Do(ctx, "cluster", "failover").Err(); err != nil {
		return fmt.Errorf("CLUSTER FAILOVER on %s: %w", addr, err)
	}
	for ctx.Err() == nil {
		if r, _, err := Role(ctx, addr); err == nil && r == "master" {
			return nil
		}
		time.Sleep(20 * time.Millisecond)
	}
	return ctx.Err()
}

// WaitOK waits until every live node reports cluster_state:ok and agrees
// on the slots' primaries being live.
func (c *Cluster) WaitOK(limit time.Duration) error {
	deadline := time.Now().Add(limit)
	var last string
	for time.Now().Before(deadline) {
		ok := true
		for _, n := range c.Set.Nodes {
			if !n.Alive() {
				continue
			}
			nc := n.Client()
			info, err := nc.ClusterInfo(context.Background()).Result()
			nc.Close()
			if err != nil || !strings.Contains(info, "cluster_state:ok") {
				ok, last = false, n.Addr+": "+firstLine(info, err)
				break
			}
		}
		if ok {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("cluster not ok after %v: %s", limit, last)
}

func firstLine(s string, err error) string {
	if err != nil {
		return err.Error()
	}
	l, _, _ := strings.Cut(s, "\n")
	return strings.TrimSpace(l)
}

// Sentinels starts n Sentinels monitoring primary as name (quorum n/2+1,
// down-after downAfter) and waits until each knows the primary's replicas.
func (s *Set) Sentinels(n int, name string, primary *Node, downAfter time.Duration, replicas int) ([]*Node, error) {
	host, port, _ := net.SplitHostPort(primary.Addr)
	var out []*Node
	for i := 0; i < n; i++ {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		dir := filepath.Join(s.dir, "sentinel-"+strconv.Itoa(p))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, err
		}
		conf := filepath.Join(dir, "sentinel.conf")
		body := fmt.Sprintf("bind 127.0.0.1\nport %d\ndir %s\nlogfile %s\nsentinel monitor %s %s %s %d\nsentinel down-after-milliseconds %s %d\nsentinel failover-timeout %s 10000\n",
			p, dir, filepath.Join(dir, "sentinel.log"), name, host, port, n/2+1, name, downAfter.Milliseconds(), name)
		if err := os.WriteFile(conf, []byte(body), 0o644); err != nil {
			return nil, err
		}
		cmd := exec.Command("redis-server", conf, "--sentinel")
		if err := cmd.Start(); err != nil {
			return nil, err
		}
		node := &Node{Addr: fmt.Sprintf("127.0.0.1:%d", p), Dir: dir, cmd: cmd, done: make(chan struct{})}
		go func() { _ = cmd.Wait(); close(node.done) }()
		s.mu.Lock()
		s.Nodes = append(s.Nodes, node)
		s.mu.Unlock()
		out = append(out, node)
	}
	for _, sn := range out {
		c := sn.Client()
		ok := false
		for i := 0; i < 400 && !ok; i++ {
			v, err := c.Do(context.Background(), "sentinel", "replicas", name).Slice()
			ok = err == nil && len(v) >= replicas
			if !ok {
				time.Sleep(25 * time.Millisecond)
			}
		}
		c.Close()
		if !ok {
			return nil, fmt.Errorf("sentinel %s does not see %d replicas of %s", sn.Addr, replicas, name)
		}
	}
	return out, nil
}
