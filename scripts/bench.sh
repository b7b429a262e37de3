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
trap 'for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$RUN" || true' EXIT
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
# GOGC as the binary sets it (cmd/switchboard/main.go).
GOGC=${GOGC:-400} SWITCHBOARD_TEST_REDIS=127.0.0.1:$RPORT BENCH_WORKERS=16 go test -run '^$' -bench IngestToTimeline -benchtime 30000x -count 1 ./router/ | grep -E 'Benchmark|per message'

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
cpu_ticks() { awk '{print $14+$15}' "/proc/$1/stat"; } # user+system, in clock ticks
redis_cpu() { redis-cli -p "$RPORT" info cpu | awk -F: '/^used_cpu_(sys|user):/ {s+=$2} END {printf "%.3f", s}'; }
loadrun() { # name port rate [extra flags]: the load run, then CPU per message of hub, Redis and load generator
  local h0 r0 h1 r1 out n
  h0=$(cpu_ticks "$HUB"); r0=$(redis_cpu)
  out=$( TIMEFORMAT='loadgen-cpu %U %S'; { time "$RUN/switchboard" load --url "http://127.0.0.1:$2" --token bench-token --rate "$3" --duration "${DUR}s" --concurrency 128 --customers 5000 $4 2>&1 || true; } 2>&1 )
  h1=$(cpu_ticks "$HUB"); r1=$(redis_cpu)
  echo "$out" | grep -v '^loadgen-cpu'
  n=$(echo "$out" | awk '/^accepted:/ {print $2}')
  [ -n "$n" ] && [ "$n" -gt 0 ] || return 0
  echo "$out" | awk -v n="$n" -v h=$((h1-h0)) -v hz="$(getconf CLK_TCK)" -v r0="$r0" -v r1="$r1" -v be="$1" '/^loadgen-cpu/ {
    printf "CPU per message: hub %.0f µs", h/hz/n*1e6
    if (be == "redis") printf ", Redis %.0f µs", (r1-r0)/n*1e6
    printf ", load generator %.0f µs\n", ($2+$3)/n*1e6 }'
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
    extra=""
    [ "$backend" = redis ] && extra="--redis 127.0.0.1:$RPORT" # commands, bytes, CPU, memory per message (issue 23)
    loadrun "$backend" "$port" "$rate" "$extra"
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
