# shellcheck shell=bash
# Peer of the sms channel: Prism serving Twilio's own OpenAPI description of
# its 2010 REST API, so every request twilio-go makes is validated against
# Twilio's contract (PEERS.md). Sourced by scripts/test.sh, which provides
# $ROOT, $RUN, PIDS, free_port and log. Exports SWITCHBOARD_TEST_TWILIO_MOCK.
PRISM_VERSION=5.14.2
PRISM_DIR=$ROOT/.cache/prism
# Twilio's description is shared test data beside the checkout (../shared);
# a clone elsewhere finds it through $SWITCHBOARD_TEST_SHARED or the workplace's
# /work/shared.
TWILIO_SPEC=
for shared in ${SWITCHBOARD_TEST_SHARED:+"$SWITCHBOARD_TEST_SHARED"} "$ROOT/../shared" /work/shared; do
  if [ -f "$shared/testdata/twilio/twilio_api_v2010.json" ]; then
    TWILIO_SPEC=$shared/testdata/twilio/twilio_api_v2010.json
    break
  fi
done
TWILIO_SPEC=${TWILIO_SPEC:-$ROOT/../shared/testdata/twilio/twilio_api_v2010.json}
if [ ! -f "$TWILIO_SPEC" ]; then
  log "sms peer: $TWILIO_SPEC is missing; Twilio tests will fail"
else
  if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    log "installing nodejs npm"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq nodejs npm >/dev/null
  fi
  if [ "$(cat "$PRISM_DIR/.version" 2>/dev/null)" != "$PRISM_VERSION" ] || [ ! -x "$PRISM_DIR/node_modules/.bin/prism" ]; then
    log "installing @stoplight/prism-cli@$PRISM_VERSION into $PRISM_DIR"
    mkdir -p "$PRISM_DIR"
    (cd "$PRISM_DIR" && npm install --no-audit --no-fund --loglevel=error --prefix "$PRISM_DIR" \
      "@stoplight/prism-cli@$PRISM_VERSION" >/dev/null)
    echo "$PRISM_VERSION" >"$PRISM_DIR/.version"
  fi
  PRISM_PORT=$(free_port 4010)
  # The binary itself (not npx), so one PID stops it.
  "$PRISM_DIR/node_modules/.bin/prism" mock -h 127.0.0.1 -p "$PRISM_PORT" "$TWILIO_SPEC" \
    >"$RUN/prism.log" 2>&1 &
  PIDS+=($!)
  # Prism listens once it has loaded the spec (about 3 s for Twilio's).
  prism_up() { (echo >"/dev/tcp/127.0.0.1/$PRISM_PORT") 2>/dev/null; }
  for _ in $(seq 1 600); do
    prism_up && break
    sleep 0.1
  done
  if prism_up; then
    export SWITCHBOARD_TEST_TWILIO_MOCK=http://127.0.0.1:$PRISM_PORT
    log "twilio mock (prism $PRISM_VERSION) on 127.0.0.1:$PRISM_PORT"
  else
    log "prism did not start; see below"
    tail -20 "$RUN/prism.log" || true
  fi
fi
