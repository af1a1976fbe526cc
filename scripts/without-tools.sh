#!/usr/bin/env bash
# Runs a command as on a fresh machine: with redis-server, redis-cli,
# redis-benchmark and buildah hidden from PATH (every other program stays),
# so the tests that need them must skip. Usage: scripts/without-tools.sh CMD...
# A PATH directory that holds one of them is replaced by a directory of
# symlinks to everything else in it.
set -euo pipefail
hidden=(redis-server redis-cli redis-benchmark redis-check-aof redis-check-rdb redis-sentinel buildah)
farms=$(mktemp -d)
trap 'rm -rf "$farms"' EXIT
path=''
i=0
IFS=: read -ra dirs <<<"$PATH"
for dir in "${dirs[@]}"; do
  [ -d "$dir" ] || continue
  has=''
  for tool in "${hidden[@]}"; do [ -e "$dir/$tool" ] && has=1; done
  if [ -n "$has" ]; then
    i=$((i + 1))
    mkdir "$farms/$i"
    ln -s "$dir"/* "$farms/$i/" 2>/dev/null || true
    for tool in "${hidden[@]}"; do rm -f "$farms/$i/$tool"; done
    dir="$farms/$i"
  fi
  path="${path:+$path:}$dir"
done
PATH="$path" "$@"
