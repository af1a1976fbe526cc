#!/usr/bin/env bash
# Lints runtime/Dockerfile with dockerfile-utils. It exits 0 even when it
# warns, so any output at all counts as a failure here.
set -euo pipefail
cd "$(dirname "$0")/.."
out=$(npx -y dockerfile-utils@0.16.3 lint runtime/Dockerfile 2>&1) || { echo "$out" >&2; exit 1; }
if [ -n "$out" ]; then
  echo "$out" >&2
  echo "runtime/Dockerfile: dockerfile-utils reported the problems above" >&2
  exit 1
fi
echo "runtime/Dockerfile: dockerfile-utils lint clean"
