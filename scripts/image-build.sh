#!/usr/bin/env bash
# Builds the state-cache image from runtime/ with docker, podman or buildah,
# whichever works here (see scripts/image-lib.sh).
#
#   scripts/image-build.sh [--tag IMAGE] [--base IMAGE]
#
# Without --base: docker and podman use the Dockerfile's default (the official
# node image); buildah, which here cannot pull, makes the local base first
# (scripts/image-base.sh) and builds on it. STATE_CACHE_BASE=IMAGE does the same
# as --base.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/image-lib.sh

tag="$STATE_CACHE_IMAGE"
base="${STATE_CACHE_BASE:-}"
while [ $# -gt 0 ]; do
  case "$1" in
    --tag) tag="$2"; shift 2 ;;
    --base) base="$2"; shift 2 ;;
    *) die "unknown argument '$1' (expected --tag IMAGE or --base IMAGE)" ;;
  esac
done

tool=$(detect_tool)
if [ -z "$base" ] && [ "$tool" = buildah ]; then
  bash scripts/image-base.sh
  base="$STATE_CACHE_BASE_IMAGE"
fi
build_args=()
[ -n "$base" ] && build_args+=(--build-arg "BASE=$base")

log "building $tag with $tool on ${base:-the default base of the Dockerfile}"
case "$tool" in
  docker|podman)
    "$tool" build "${build_args[@]}" -t "$tag" -f runtime/Dockerfile runtime ;;
  buildah)
    # --pull=false: the base is local; --layers: reuse unchanged steps on rebuilds;
    # --force-rm: no build container left behind when a step fails.
    bah build --pull=false --layers --force-rm "${build_args[@]}" -t "$tag" -f runtime/Dockerfile runtime ;;
esac
log "built $tag ($(elapsed))"
