#!/usr/bin/env bash
# Chaos run: N cycles of faults while load flows, everything on 127.0.0.1.
# Each cycle: SIGKILL of a hub replica (restarted), SIGKILL of Redis
# (appendonly yes, appendfsync always; restarted on its files), SIGKILL of
# the example Telegram plugin's process (the hub restarts it) and, when a
# Dovecot is at hand (CHAOS_DOVECOT=1 and scripts/peers/email.sh works
# here), a restart of Dovecot. At the end it checks that every accepted
# message is on a timeline exactly once and prints cycles, messages, lost,
# duplicated and recovery p50/p99 per fault (docs/RELIABILITY.md).
#
# Usage: scripts/chaos.sh [CYCLES [CYCLE_DURATION [driver flags...]]]
#   CYCLES default 3, CYCLE_DURATION default 4s (a Go duration).
#   Driver flags: -rate N (api messages/s), -until HH:MM (stop early,
#   report what completed), -overlap (each cycle's Dovecot restart runs
#   alongside the other faults), -settle D; see scripts/chaos/main.go.
#   The 1,000-cycle run of docs/RELIABILITY.md:
#   CHAOS_DOVECOT=1 scripts/chaos.sh 1000 1500ms -rate 25 -overlap
# Bounded: the whole run is killed after CYCLES*(CYCLE_DURATION+30s)+10min.
# It starts its own Redis on a free port and stops what it started by PID.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CYCLES=${1:-3}
DUR=${2:-4s}
shift $(( $# < 2 ? $# : 2 ))

log() { printf '==> %s\n' "$*"; }

need_apt=()
command -v redis-server >/dev/null || need_apt+=(redis-server)
command -v redis-cli >/dev/null || need_apt+=(redis-tools)
if ((${#need_apt[@]})); then
  log "installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
command -v go >/dev/null || { echo "Go is required (https://go.dev/dl)"; exit 1; }

RUN=$(mktemp -d /tmp/switchboard-chaos.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  # Dovecot restarted by the run has a new master: stop it by its pid file.
  if [ -n "${EMAIL_DIR:-}" ] && [ -s "$EMAIL_DIR/run/master.pid" ]; then
    kill "$(cat "$EMAIL_DIR/run/master.pid")" 2>/dev/null || true
  fi
  if [ "${CHAOS_KEEP:-}" = "" ]; then rm -rf "$RUN" 2>/dev/null || { sleep 0.5; rm -rf "$RUN" || true; }; else log "kept $RUN"; fi
}
trap cleanup EXIT

free_port() { # first free port from $1
  local p=$1
  while (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; do p=$((p+1)); done
  echo "$p"
}

extra=()
if [ "${CHAOS_DOVECOT:-}" = 1 ]; then
  # shellcheck source=/dev/null
  source "$ROOT/scripts/peers/email.sh"
  if [ -n "${SWITCHBOARD_TEST_DOVECOT_CONF:-}" ]; then
    extra+=(-dovecot-conf "$SWITCHBOARD_TEST_DOVECOT_CONF" -imap "$SWITCHBOARD_TEST_IMAP" -lmtp "$SWITCHBOARD_TEST_LMTP")
  else
    log "no Dovecot: the Dovecot step is left out"
  fi
fi

secs() { # a Go duration like 4s, 1500ms, 1m -> whole seconds (rounded up)
  case $1 in
    *ms) echo $(( (${1%ms} + 999) / 1000 )) ;;
    *m) echo $(( ${1%m} * 60 )) ;;
    *s) echo "${1%s}" | awk '{ printf "%d\n", ($1 == int($1)) ? $1 : int($1) + 1 }' ;;
    *) echo 60 ;;
  esac
}
BOUND=$(( CYCLES * ($(secs "$DUR") + 30) + 600 ))
log "chaos: $CYCLES cycles of $DUR (bounded to ${BOUND}s) in $RUN"
go build -o "$RUN/chaos" ./scripts/chaos
timeout --signal=INT --kill-after=30 "$BOUND" "$RUN/chaos" -cycles "$CYCLES" -cycle "$DUR" -dir "$RUN/work" "${extra[@]}" "$@"
