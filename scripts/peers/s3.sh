# shellcheck shell=bash
# Peer of the S3 attachment store (store.blobs.s3): Versity Gateway
# (versitygw, Apache-2.0, Go) serving S3 from a POSIX directory, on a free
# port bound to 127.0.0.1. It verifies every request's SigV4 signature and
# the signed payload hash, so the hub's signing is tested against a server
# nobody here wrote. Installed with `go install` from the Go module proxy
# (pinned; the build takes a few minutes once, then the binary is reused
# from $(go env GOPATH)/bin). Why this one: docs/DEPLOY.md, "The test S3
# server". Sourced by scripts/test.sh, which provides $ROOT, $RUN, PIDS,
# free_port and log.
#
# Exports SWITCHBOARD_TEST_S3 (http://127.0.0.1:PORT), and the root
# account's SWITCHBOARD_TEST_S3_ACCESS_KEY and SWITCHBOARD_TEST_S3_SECRET_KEY.
# Tests create a bucket of their own (store/blobs/blobtest).

S3_VERSITYGW_VERSION=v1.8.0
S3_BIN=$(go env GOPATH)/bin/versitygw
if ! go version -m "$S3_BIN" 2>/dev/null | grep -E "mod[[:space:]]+github.com/versity/versitygw[[:space:]]+$S3_VERSITYGW_VERSION[[:space:]]" >/dev/null; then
  log "installing versitygw $S3_VERSITYGW_VERSION (go install; a few minutes the first time)"
  GOBIN=$(dirname "$S3_BIN") go install "github.com/versity/versitygw/cmd/versitygw@$S3_VERSITYGW_VERSION" ||
    log "versitygw did not install: S3 tests will fail (SWITCHBOARD_REQUIRE_SERVERS=1)"
fi
if [ -x "$S3_BIN" ]; then
  S3_DIR=$RUN/s3
  mkdir -p "$S3_DIR/data"
  S3_PORT=$(free_port 17070)
  S3_ACCESS=sbtest-access
  S3_SECRET=$(head -c 18 /dev/urandom | od -An -tx1 | tr -d ' \n')
  ROOT_ACCESS_KEY=$S3_ACCESS ROOT_SECRET_KEY=$S3_SECRET \
    "$S3_BIN" --port "127.0.0.1:$S3_PORT" --quiet posix "$S3_DIR/data" >"$S3_DIR/versitygw.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 1 200); do
    (echo >/dev/tcp/127.0.0.1/$S3_PORT) 2>/dev/null && break
    sleep 0.05
  done
  if (echo >/dev/tcp/127.0.0.1/$S3_PORT) 2>/dev/null; then
    export SWITCHBOARD_TEST_S3=http://127.0.0.1:$S3_PORT
    export SWITCHBOARD_TEST_S3_ACCESS_KEY=$S3_ACCESS SWITCHBOARD_TEST_S3_SECRET_KEY=$S3_SECRET
    log "versitygw $S3_VERSITYGW_VERSION (posix) on 127.0.0.1:$S3_PORT"
  else
    log "versitygw did not open 127.0.0.1:$S3_PORT; see $S3_DIR/versitygw.log"
    tail -20 "$S3_DIR/versitygw.log" 2>/dev/null || true
  fi
fi
