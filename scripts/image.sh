#!/usr/bin/env bash
# Builds the container image (Containerfile, FROM scratch) with buildah, a
# daemonless builder from Debian's packages, and checks what a deployment
# relies on: a non-root numeric user, the HEALTHCHECK, the entrypoint, and
# that the static binary starts from the image's own files as that user
# and answers its health check. Storage is a directory of this run (vfs
# driver, chroot isolation: no daemon, no overlay mount, no user
# namespace), removed at the end.
#
# Usage: scripts/image.sh [TAG]   (default localhost/switchboard:dev)
# SWITCHBOARD_IMAGE_KEEP=DIR keeps the build's storage in DIR (to push it
# from there: buildah --root DIR/storage --runroot DIR/run push TAG ...).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
TAG=${1:-localhost/switchboard:dev}
log() { printf '==> image: %s\n' "$*"; }

need_apt=()
command -v buildah >/dev/null || need_apt+=(buildah)
[ -s /etc/ssl/certs/ca-certificates.crt ] || need_apt+=(ca-certificates)
if ((${#need_apt[@]})); then
  log "installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

WORK=${SWITCHBOARD_IMAGE_KEEP:-$(mktemp -d /tmp/switchboard-image.XXXXXX)}
mkdir -p "$WORK"
SERVE_PID=
MNT_CTR=
B=(buildah --root "$WORK/storage" --runroot "$WORK/run" --storage-driver vfs)
cleanup() {
  [ -n "$SERVE_PID" ] && kill "$SERVE_PID" 2>/dev/null || true
  if [ -n "$MNT_CTR" ]; then "${B[@]}" umount "$MNT_CTR" >/dev/null 2>&1 || true; "${B[@]}" rm "$MNT_CTR" >/dev/null 2>&1 || true; fi
  if [ -z "${SWITCHBOARD_IMAGE_KEEP:-}" ]; then
    "${B[@]}" rmi --all --force >/dev/null 2>&1 || true
    rm -rf "$WORK" 2>/dev/null || { sleep 0.5; rm -rf "$WORK" || true; }
  fi
}
trap cleanup EXIT

# The build context: rootfs/ as it lands in the image, data/ the user's
# working directory.
CTX=$WORK/context
# data/blobs exists so that a volume mounted there starts owned by the user.
mkdir -p "$CTX/rootfs/usr/local/bin" "$CTX/rootfs/etc/ssl/certs" "$CTX/rootfs/etc/switchboard" "$CTX/data/blobs"
VERSION=$(git describe --always --dirty 2>/dev/null || echo dev)
log "go build (static, version $VERSION)"
CGO_ENABLED=0 go build -trimpath -ldflags "-s -w -X main.version=$VERSION" -o "$CTX/rootfs/usr/local/bin/switchboard" ./cmd/switchboard
if command -v readelf >/dev/null && readelf -l "$CTX/rootfs/usr/local/bin/switchboard" | grep -q 'program interpreter'; then
  echo "the binary is not static"; exit 1
fi
# /tmp for the plugin host's sockets (os.MkdirTemp), world-writable and sticky.
mkdir -p "$CTX/rootfs/tmp" && chmod 1777 "$CTX/rootfs/tmp"
printf 'root:x:0:0:root:/:/sbin/nologin\nswitchboard:x:65532:65532:switchboard:/var/lib/switchboard:/sbin/nologin\n' >"$CTX/rootfs/etc/passwd"
printf 'root:x:0:\nswitchboard:x:65532:\n' >"$CTX/rootfs/etc/group"
cp /etc/ssl/certs/ca-certificates.crt "$CTX/rootfs/etc/ssl/certs/"
cp Containerfile "$CTX/Containerfile"

log "buildah build $TAG"
"${B[@]}" build --quiet --isolation chroot --format docker --pull=never -f "$CTX/Containerfile" -t "$TAG" "$CTX" >/dev/null

# What the image's configuration says.
fail=0
check() { # what got want
  if [ "$2" != "$3" ]; then echo "image $1: got '$2', want '$3'"; fail=1; else printf '    ok    %-12s %s\n' "$1" "$2"; fi
}
inspect() { "${B[@]}" inspect --type image --format "$1" "$TAG"; }
check user "$(inspect '{{.Docker.Config.User}}')" "65532:65532"
check entrypoint "$(inspect '{{.Docker.Config.Entrypoint}}')" '[/usr/local/bin/switchboard]'
check cmd "$(inspect '{{.Docker.Config.Cmd}}')" '[serve]'
check healthcheck "$(inspect '{{.Docker.Config.Healthcheck.Test}}')" '[CMD /usr/local/bin/switchboard healthcheck --timeout 4s]'
check workdir "$(inspect '{{.Docker.Config.WorkingDir}}')" "/var/lib/switchboard"
# buildah commits the whole build as one layer (no --layers): the files only.
check layers "$(inspect '{{len .Docker.RootFS.DiffIDs}}')" "1"
((fail == 0)) || exit 1

# Start the image's own files: the binary in the image's root, as the
# image's user, in a chroot (what a runtime does, less the namespaces),
# serving on a free loopback port; the health check run the same way must
# answer ready.
MNT_CTR=$("${B[@]}" from --pull=never "$TAG")
MNT=$("${B[@]}" mount "$MNT_CTR")
[ "$(stat -c %u "$MNT/var/lib/switchboard")" = 65532 ] || { echo "/var/lib/switchboard is not owned by 65532"; exit 1; }
[ "$(stat -c %a "$MNT/tmp")" = 1777 ] || { echo "/tmp is not mode 1777"; exit 1; }
port=18080
while (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null; do port=$((port + 1)); done
chroot --userspec=65532:65532 "$MNT" /usr/local/bin/switchboard version
SWITCHBOARD_HTTP_ADDR=0.0.0.0:$port SWITCHBOARD_STORE_EMBEDDED_PATH=/var/lib/switchboard/switchboard-data \
  chroot --userspec=65532:65532 "$MNT" /usr/local/bin/switchboard serve >"$WORK/serve.log" 2>&1 &
SERVE_PID=$!
ready=0
for _ in $(seq 1 300); do
  if SWITCHBOARD_HTTP_ADDR=0.0.0.0:$port chroot --userspec=65532:65532 "$MNT" /usr/local/bin/switchboard healthcheck >/dev/null 2>&1; then ready=1; break; fi
  kill -0 "$SERVE_PID" 2>/dev/null || break
  sleep 0.1
done
if ((ready == 0)); then echo "the hub in the image did not become ready:"; tail -20 "$WORK/serve.log"; exit 1; fi
[ "$(stat -c %u "$MNT/var/lib/switchboard/switchboard-data")" = 65532 ] || { echo "the data directory was not written by 65532"; exit 1; }
log "ok: $TAG ($(du -sh "$MNT" | cut -f1) unpacked) starts as 65532 and answers its health check"
