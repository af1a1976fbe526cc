# Shared helpers for the state-cache image scripts (sourced, not run).
#
# Which tool builds: docker (only when `docker info` reaches a daemon), then
# buildah (needs no daemon and no OCI runtime: its chroot isolation works in
# sandboxes where podman's crun cannot set rlimits), then podman.
# Override with STATE_CACHE_IMAGE_TOOL=docker|podman|buildah.

STATE_CACHE_IMAGE="${STATE_CACHE_IMAGE:-localhost/state-cache:dev}"
# The local base carries the Node version of the Dockerfile's official base (ARG BASE=node:<version>-...).
STATE_CACHE_NODE_VERSION="$(sed -n 's/^ARG BASE=node:\([0-9][0-9.]*\)-.*$/\1/p' runtime/Dockerfile)"
STATE_CACHE_BASE_IMAGE="${STATE_CACHE_BASE_IMAGE:-localhost/state-cache-base:node${STATE_CACHE_NODE_VERSION:-unknown}}"

log() { printf '%s [image] %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

# Seconds since the script started, for the timing lines.
_t0=$(date +%s)
elapsed() { echo "$(( $(date +%s) - _t0 ))s"; }

detect_tool() {
  if [ -n "${STATE_CACHE_IMAGE_TOOL:-}" ]; then
    command -v "$STATE_CACHE_IMAGE_TOOL" >/dev/null || die "STATE_CACHE_IMAGE_TOOL=$STATE_CACHE_IMAGE_TOOL is not installed"
    echo "$STATE_CACHE_IMAGE_TOOL"; return
  fi
  if command -v docker >/dev/null && docker info >/dev/null 2>&1; then echo docker; return; fi
  if command -v buildah >/dev/null; then echo buildah; return; fi
  if command -v podman >/dev/null && podman info >/dev/null 2>&1; then echo podman; return; fi
  die "no container tool: install one, e.g. 'apt-get install buildah' (builds as root without a daemon), or start a Docker daemon"
}

# buildah as root without a daemon: chroot isolation (no runc, no user
# namespaces), host network. Storage: overlay where the kernel allows it (fast,
# and the test inspects a container's writable layer), else
# STATE_CACHE_STORAGE_DRIVER=vfs. Every buildah call goes through bah so that
# they all use the same store.
STATE_CACHE_STORAGE_DRIVER="${STATE_CACHE_STORAGE_DRIVER:-overlay}"
export BUILDAH_ISOLATION="${BUILDAH_ISOLATION:-chroot}"
bah() { buildah --storage-driver "$STATE_CACHE_STORAGE_DRIVER" "$@"; }

image_exists() { # tool image
  case "$1" in
    docker) docker image inspect "$2" >/dev/null 2>&1 ;;
    podman) podman image exists "$2" ;;
    buildah) bah inspect --type image "$2" >/dev/null 2>&1 ;;
  esac
}
