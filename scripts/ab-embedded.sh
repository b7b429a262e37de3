#!/usr/bin/env bash
# Same-run A/B of two hub binaries on the embedded store through HTTP, as
# docs/PERFORMANCE.md "Group commits and HTTP (issue 23)" reports it: each
# run starts a fresh hub, sends flat out with `switchboard load` (64
# connections, 1,000 customers) and prints the rate on timeline, hub and
# load generator CPU per message and the accept latency. Runs alternate.
# Usage: scripts/ab-embedded.sh BASE_BIN NEW_BIN [pairs, default 2] [seconds, default 8]
set -euo pipefail
A=$1; B=$2; PAIRS=${3:-2}; DUR=${4:-8}
free_port() { local p=$1; while (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; do p=$((p+1)); done; echo "$p"; }
run() { # binary
  local bin=$1 port d hub h0 h1 out n
  port=$(free_port 18600); d=$(mktemp -d /tmp/sb-ab.XXXXXX)
  cat > "$d/c.yaml" <<YAML
store: {embedded: {path: "$d/data"}}
http: {addr: "127.0.0.1:$port"}
log: {level: warn}
agents: [{name: bench, role: admin, token: bench-token}]
channels: [{name: api, type: api, phase: live, trusted: true}]
YAML
  "$bin" serve --config "$d/c.yaml" 2>"$d/log" & hub=$!
  for _ in $(seq 1 400); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  h0=$(awk '{print $14+$15}' "/proc/$hub/stat")
  out=$( TIMEFORMAT='loadgen-cpu %U %S'; { time "$bin" load --url "http://127.0.0.1:$port" --token bench-token --rate 0 --duration "${DUR}s" --concurrency 64 --customers 1000 2>&1 || true; } 2>&1 )
  h1=$(awk '{print $14+$15}' "/proc/$hub/stat")
  kill "$hub"; wait "$hub" 2>/dev/null || true
  rm -rf "$d"
  n=$(echo "$out" | awk '/^accepted:/ {print $2}')
  echo "$out" | awk -v bin="$(basename "$bin")" -v n="${n:-0}" -v h=$((h1-h0)) -v hz="$(getconf CLK_TCK)" -v la="$(cut -d' ' -f1 /proc/loadavg)" '
    /^on timeline:/ {tl=$6; gsub(/[(]/, "", tl)} /^accept latency/ {p50=$4; p99=$6} /^loadgen-cpu/ {lg=$2+$3}
    END { if (n == 0) { print bin ": nothing accepted"; exit }
      printf "%s: on timeline %s, hub CPU %.0f µs/msg, load generator %.0f µs/msg, accept p50 %s p99 %s (load average %s)\n",
        bin, tl, h/hz/n*1e6, lg/n*1e6, p50, p99, la }'
}
for _ in $(seq 1 "$PAIRS"); do run "$A"; run "$B"; done
