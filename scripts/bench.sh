#!/usr/bin/env bash
# Measures the hub's throughput and latency in one run, beside the physical
# baseline of this machine (redis-benchmark XADD), as docs/PERFORMANCE.md
# reports them. Usage: scripts/bench.sh [seconds per load run, default 10]
set -euo pipefail
cd "$(dirname "$0")/.."
DUR=${1:-10}
command -v redis-server >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server redis-tools >/dev/null; }
RUN=$(mktemp -d /tmp/switchboard-bench.XXXXXX)
PIDS=()
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$RUN"' EXIT
free_port() { local p=$1; while (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; do p=$((p+1)); done; echo "$p"; }

RPORT=$(free_port 6490)
redis-server --bind 127.0.0.1 --port "$RPORT" --daemonize yes --save '' --appendonly no --dir "$RUN" --pidfile "$RUN/redis.pid" --logfile "$RUN/redis.log"
for _ in $(seq 1 100); do redis-cli -p "$RPORT" ping >/dev/null 2>&1 && break; sleep 0.05; done
PIDS+=("$(cat "$RUN/redis.pid")")

echo "## machine"; nproc; grep -m1 'model name' /proc/cpuinfo || true
echo "## baseline: redis-benchmark XADD (50 clients)"
redis-benchmark -p "$RPORT" -n 200000 -c 50 -q xadd bench:stream '*' f v | tr '\r' '\n' | tail -1
redis-benchmark -p "$RPORT" -n 1000000 -c 50 -P 16 -q xadd bench:stream2 '*' f v | tr '\r' '\n' | tail -1
redis-cli -p "$RPORT" del bench:stream bench:stream2 >/dev/null

echo "## go benchmark: ingest → timeline below HTTP"
SWITCHBOARD_TEST_REDIS=127.0.0.1:$RPORT BENCH_WORKERS=16 go test -run '^$' -bench IngestToTimeline -benchtime 30000x -count 1 ./router/ | grep Benchmark

go build -o "$RUN/switchboard" ./cmd/switchboard
cfg() { # store section → config file
  cat > "$RUN/$1.yaml" <<YAML
$2
http: {addr: "127.0.0.1:$3"}
log: {level: warn}
agents: [{name: bench, role: admin, token: bench-token}]
channels: [{name: api, type: api, phase: live, trusted: true}]
YAML
}
loadrun() { # name port rate
  "$RUN/switchboard" load --url "http://127.0.0.1:$2" --token bench-token --rate "$3" --duration "${DUR}s" --concurrency 128 --customers 5000 || true
}
for backend in redis embedded; do
  port=$(free_port 8490)
  if [ "$backend" = redis ]; then
    redis-cli -p "$RPORT" flushall >/dev/null
    cfg redis "store: {redis: {addrs: [\"127.0.0.1:$RPORT\"]}}" "$port"
  else
    cfg embedded "store: {embedded: {path: \"$RUN/data\"}}" "$port"
  fi
  "$RUN/switchboard" serve --config "$RUN/$backend.yaml" 2>"$RUN/$backend.log" & PIDS+=($!); HUB=$!
  for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$port/readyz" >/dev/null && break; sleep 0.1; done
  for rate in 1000 2000 5000 0; do
    echo "## load through HTTP: $backend, offered ${rate}/s (0 = as fast as possible), ${DUR}s"
    loadrun "$backend" "$port" "$rate"
  done
  if [ "$backend" = redis ]; then
    echo "## redis memory per message"
    before=$(redis-cli -p "$RPORT" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
    msgs0=$(redis-cli -p "$RPORT" --scan --pattern 'sb:{e:*' | wc -l)
    "$RUN/switchboard" load --url "http://127.0.0.1:$port" --token bench-token --rate 0 --duration 5s --concurrency 64 --customers 5000 >/dev/null || true
    after=$(redis-cli -p "$RPORT" info memory | awk -F: '/^used_memory:/ {print $2}' | tr -d '\r')
    msgs1=$(redis-cli -p "$RPORT" --scan --pattern 'sb:{e:*' | wc -l)
    n=$((msgs1-msgs0))
    echo "messages: $n, used_memory delta: $((after-before)) bytes, per message: $(( (after-before)/ (n>0?n:1) )) bytes (text ~80 bytes)"
  fi
  kill "$HUB"; wait "$HUB" 2>/dev/null || true
done
