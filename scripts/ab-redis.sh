#!/usr/bin/env bash
# Same-run A/B of two hub binaries on Redis through HTTP, as
# docs/PERFORMANCE.md "Search index in group commits (issue 23)" reports
# it: each run flushes the given Redis (use one of its own: the figures are
# INFO deltas and count every client), starts a fresh hub on it, sends with
# `switchboard load --redis` (64 connections, 1,000 customers) and prints
# what load prints per message on a timeline: Redis commands run (inner
# ones too), bytes written, Redis CPU, Redis memory, hub CPU. Runs alternate.
# Usage: scripts/ab-redis.sh BASE_BIN NEW_BIN REDIS_PORT [pairs, default 2] [seconds, default 8] [rate, default 1000]
set -euo pipefail
A=$1; B=$2; RPORT=$3; PAIRS=${4:-2}; DUR=${5:-8}; RATE=${6:-1000}
free_port() { local p=$1; while (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; do p=$((p+1)); done; echo "$p"; }
run() { # binary
  local bin=$1 port d hub
  port=$(free_port 18700); d=$(mktemp -d /tmp/sb-abr.XXXXXX)
  redis-cli -p "$RPORT" flushall >/dev/null
  cat > "$d/c.yaml" <<YAML
store: {redis: {addrs: ["127.0.0.1:$RPORT"]}}
http: {addr: "127.0.0.1:$port"}
log: {level: warn}
agents: [{name: bench, role: admin, token: bench-token}]
channels: [{name: api, type: api, phase: live, trusted: true}]
YAML
  "$bin" serve --config "$d/c.yaml" 2>"$d/log" & hub=$!
  for _ in $(seq 1 400); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  echo "== $(basename "$bin") (load average $(cut -d' ' -f1 /proc/loadavg))"
  "$bin" load --url "http://127.0.0.1:$port" --token bench-token --rate "$RATE" --duration "${DUR}s" --concurrency 64 --customers 1000 --redis "127.0.0.1:$RPORT" 2>&1 |
    grep -E '^(on timeline|hub CPU|redis per message)' || true
  kill "$hub"; wait "$hub" 2>/dev/null || true
  rm -rf "$d"
}
for _ in $(seq 1 "$PAIRS"); do run "$A"; run "$B"; done
