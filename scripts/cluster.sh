#!/usr/bin/env bash
# End to end on a Redis Cluster, by hand: 3 primaries with one replica each
# (own ports, own temp dir), three hub replicas (the built binary), load
# through every channel that runs here (api, web form, Twilio-signed SMS,
# Slack-signed events, Slack Socket Mode against a loopback fake of Slack's
# side, the example Telegram plugin, and email through a
# throwaway Dovecot when scripts/peers/email.sh works here), then the checks
# and faults of scripts/cluster/doc.go: live events and phases across
# replicas, lease take-over, replies sent once, CLUSTER FAILOVER, SIGKILL of
# a primary, a rolling SIGTERM restart. Everything it started is stopped by
# PID at the end. docs/RELIABILITY.md has the figures.
#
# Usage: scripts/cluster.sh [driver flags...]
#   -steps e2e,planned,unplanned,rolling   -step 4s   -rate 100
#   -min-replicas-ack 1 (store.redis.min_replicas_ack of the hubs)
#   -throughput 15s (only measure messages/s; no faults)   -hubs 3
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD

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

RUN=$(mktemp -d /tmp/switchboard-cluster.XXXXXX)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  if [ "${CLUSTER_KEEP:-}" = "" ]; then rm -rf "$RUN" 2>/dev/null || { sleep 0.5; rm -rf "$RUN" || true; }; else log "kept $RUN"; fi
}
trap cleanup EXIT

free_port() { # first free port from $1
  local p=$1
  while (echo >/dev/tcp/127.0.0.1/$p) 2>/dev/null; do p=$((p+1)); done
  echo "$p"
}

extra=()
if [ "${CLUSTER_DOVECOT:-1}" = 1 ]; then
  # shellcheck source=/dev/null
  source "$ROOT/scripts/peers/email.sh"
  if [ -n "${SWITCHBOARD_TEST_IMAP:-}" ]; then
    extra+=(-imap "$SWITCHBOARD_TEST_IMAP" -lmtp "$SWITCHBOARD_TEST_LMTP")
  else
    log "no Dovecot: the email channel is left out"
  fi
fi

log "cluster run in $RUN"
go build -o "$RUN/cluster" ./scripts/cluster
# Bounded: the driver stops its hubs and Redis nodes on SIGINT.
timeout --signal=INT --kill-after=30 1800 "$RUN/cluster" -dir "$RUN/work" "${extra[@]}" "$@"
