#!/usr/bin/env bash
# Same-run A/B of hub binaries on Redis through HTTP as
# docs/PERFORMANCE.md "The search index's cost per message (h23idx)"
# reports it: each run flushes the given Redis (use one of its own: the
# figures are INFO deltas), starts a fresh hub on it, sends with
# `switchboard load --concurrency 128 --customers 5000 --redis` (as
# scripts/bench.sh) and prints the rate on timelines, end-to-end latency,
# hub CPU and Redis's figures per message. The binaries alternate.
# Usage: scripts/ab-load.sh REDIS_PORT RATE SECONDS ROUNDS BIN...   (RATE 0 = flat out)
set -uo pipefail
RPORT=$1; RATE=$2; DUR=$3; ROUNDS=$4; shift 4
free_port() { local p=$1; while (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; do p=$((p+1)); done; echo "$p"; }
for r in $(seq 1 "$ROUNDS"); do for bin in "$@"; do
  port=$(free_port 18950); d=$(mktemp -d /tmp/sb-abl.XXXXXX)
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
  echo "== round $r $(basename "$bin") rate $RATE (load average $(cut -d' ' -f1 /proc/loadavg))"
  "$bin" load --url "http://127.0.0.1:$port" --token bench-token --rate "$RATE" --duration "${DUR}s" --concurrency 128 --customers 5000 --redis "127.0.0.1:$RPORT" 2>&1 |
    grep -E '^(on timeline|end-to-end|hub CPU|redis per message)' || true
  kill "$hub"; wait "$hub" 2>/dev/null
  rm -rf "$d"
done; done
