#!/usr/bin/env bash
# Signed Twilio webhooks against the api channel through HTTP, in the same
# minutes, as docs/PERFORMANCE.md "Signed webhooks through the load tool
# (issue 23, h23sms)" reports them: for each rate (0: flat out) and
# repetition, a fresh hub takes `switchboard load` on its api channel, then
# another fresh hub takes `switchboard load --sms-channel` (signed inbound
# SMS webhooks), 64 connections, 1,000 senders. With BASE_LOAD the api run
# is also made with that (older) load generator first, to show the api
# mode's figures did not move. One line per run: accepted/s, on timeline/s,
# ack p50/p99, hub and load generator CPU per accepted request.
# Usage: scripts/ab-sms.sh BIN STORE [reps, default 3] [seconds, default 8] [rates, default "0 5000"]
#   STORE: embedded, or a Redis port of your own (flushed before each run)
#   BASE_LOAD=/path/to/old/switchboard (optional)
set -euo pipefail
BIN=$1; STORE=$2; REPS=${3:-3}; DUR=${4:-8}; RATES=${5:-0 5000}
TOKEN=sbloadtwiliotoken0123456789abcd
TOKFILE=$(mktemp /tmp/sb-sms-token.XXXXXX); echo "$TOKEN" > "$TOKFILE"; trap 'rm -f "$TOKFILE"' EXIT
free_port() { local p=$1; while (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; do p=$((p+1)); done; echo "$p"; }
run() { # label load-binary rate [load flags...]
  local label=$1 lbin=$2 rate=$3; shift 3
  local port d hub h0 h1 out n store
  port=$(free_port 18800); d=$(mktemp -d /tmp/sb-sms.XXXXXX)
  if [ "$STORE" = embedded ]; then store="store: {embedded: {path: \"$d/data\"}}"
  else redis-cli -p "$STORE" flushall >/dev/null; store="store: {redis: {addrs: [\"127.0.0.1:$STORE\"]}, blobs_path: \"$d/blobs\"}"; fi
  cat > "$d/c.yaml" <<YAML
$store
http: {addr: "127.0.0.1:$port"}
log: {level: warn}
agents: [{name: bench, role: admin, token: bench-token}]
channels:
  - {name: api, type: api, phase: live, trusted: true}
  - name: sms
    type: sms
    phase: live
    sms: {account_sid: AC0123456789abcdef0123456789abcdef, auth_token_file: "$TOKFILE", from: "+14155550100", public_url: "http://127.0.0.1:$port", api_base_url: "http://127.0.0.1:9"}
YAML
  "$BIN" serve --config "$d/c.yaml" 2>"$d/log" & hub=$!
  for _ in $(seq 1 400); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  h0=$(awk '{print $14+$15}' "/proc/$hub/stat")
  out=$( TIMEFORMAT='loadgen-cpu %U %S'; { time "$lbin" load --url "http://127.0.0.1:$port" --token bench-token --rate "$rate" --duration "${DUR}s" --concurrency 64 --customers 1000 --settle 30s "$@" 2>&1 || true; } 2>&1 )
  h1=$(awk '{print $14+$15}' "/proc/$hub/stat")
  kill "$hub"; wait "$hub" 2>/dev/null || true
  rm -rf "$d"
  n=$(echo "$out" | awk '/^accepted:/ {print $2}')
  echo "$out" | awk -v label="$label" -v rate="$rate" -v n="${n:-0}" -v h=$((h1-h0)) -v hz="$(getconf CLK_TCK)" -v la="$(cut -d' ' -f1 /proc/loadavg)" '
    /^accepted:/ {acc=$3; gsub(/[()\/s,]/, "", acc); fail=$0; sub(/.*failed: /, "", fail)}
    /^on timeline:/ {tl=$6; gsub(/[(\/s]/, "", tl)} /^accept latency/ {p50=$4; p99=$6} /^loadgen-cpu/ {lg=$2+$3}
    END { if (n == 0) { print label " rate " rate ": nothing accepted"; exit }
      printf "%-10s rate %5s: accepted %6s/s, on timeline %6s/s, ack p50 %9s p99 %9s, hub CPU %4.0f µs/req, loadgen %3.0f µs/req, failed %s (load %s)\n",
        label, rate, acc, tl, p50, p99, h/hz/n*1e6, lg/n*1e6, fail, la }'
}
for r in $(seq 1 "$REPS"); do
  for rate in $RATES; do
    if [ -n "${BASE_LOAD:-}" ]; then run api-base "$BASE_LOAD" "$rate"; fi
    run api "$BIN" "$rate"
    run sms "$BIN" "$rate" --sms-channel sms --twilio-auth-token-file "$TOKFILE"
  done
done
