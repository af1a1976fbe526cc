#!/usr/bin/env bash
# The consumer path, as a new user takes it, from the package npm would publish:
#
#   1. npx projen package:js: the jsii tarball (dist/js/cdk8s-state@<version>.jsii.tgz);
#   2. a fresh cdk8s app in a temporary directory: cdk8s-cli, cdk8s, constructs,
#      cdk8s-plus-28, ts-node and typescript from the registry, and the tarball;
#   3. its main.ts made of README.md's snippets, extracted now (scripts/readme-app.ts);
#   4. npx cdk8s synth;
#   5. the manifest checks on what it wrote, and every state-cache image it names
#      tagged with the tarball's version.
#
#   scripts/consumer-test.sh        # CONSUMER_KEEP=1 keeps the app directory
#
# Needs node and npm (and the registry); installs the repository's own
# dependencies when node_modules is missing.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
export JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION=20
t0=$(date +%s)
log() { printf '%s [consumer] %s (+%ss)\n' "$(date -u +%H:%M:%S)" "$*" "$(( $(date +%s) - t0 ))" >&2; }
die() { log "FAIL: $*"; exit 1; }

[ -d node_modules ] || { log "npm ci"; npm ci --no-audit --no-fund; }

log "jsii: compile the library"
npx jsii --silence-warnings=reserved-word
log "npx projen package:js"
rm -rf dist/js
# npm pack would run the root `prepare` script (npm ci of runtime/), which the package does not need.
npm_config_ignore_scripts=true npx projen package:js >/dev/null
tarball=$(ls dist/js/cdk8s-state@*.jsii.tgz)
version=$(tar -xzOf "$tarball" package/package.json | node -e 'let s="";process.stdin.on("data",(d)=>s+=d).on("end",()=>console.log(JSON.parse(s).version))')
log "packed $tarball (version $version)"
tar -tzf "$tarball" | grep -q '^package/runtime/' && die "the tarball contains runtime/"

work=$(mktemp -d /tmp/cdk8s-state-consumer.XXXXXX)
if [ "${CONSUMER_KEEP:-}" = 1 ]; then log "app in $work (kept)"; else trap 'rm -rf "$work"' EXIT; fi

node_modules/.bin/ts-node --project test/tsconfig.json scripts/readme-app.ts "$work/main.ts" >&2
cat > "$work/package.json" <<'EOF'
{ "name": "readme-consumer", "version": "0.0.0", "private": true }
EOF
cat > "$work/cdk8s.yaml" <<'EOF'
language: typescript
app: npx ts-node main.ts
EOF
# As cdk8s init's typescript-app template has it.
cat > "$work/tsconfig.json" <<'EOF'
{
  "compilerOptions": {
    "alwaysStrict": true,
    "declaration": true,
    "experimentalDecorators": true,
    "inlineSourceMap": true,
    "inlineSources": true,
    "lib": ["es2020"],
    "module": "CommonJS",
    "noEmitOnError": true,
    "noFallthroughCasesInSwitch": true,
    "noImplicitAny": true,
    "noImplicitReturns": true,
    "noImplicitThis": true,
    "noUnusedLocals": true,
    "noUnusedParameters": true,
    "resolveJsonModule": true,
    "strict": true,
    "strictNullChecks": true,
    "strictPropertyInitialization": true,
    "stripInternal": true,
    "target": "ES2020",
    "skipLibCheck": true
  },
  "include": ["**/*.ts"],
  "exclude": ["node_modules", "dist"]
}
EOF

cd "$work"
log "npm install: the tarball and its peers, cdk8s-cli, ts-node, typescript (from the registry)"
npm install --no-audit --no-fund --loglevel=error "$root/$tarball" 'cdk8s@^2' 'constructs@^10' 'cdk8s-plus-28@^2' >&2
npm install --no-audit --no-fund --loglevel=error -D 'cdk8s-cli@^2' 'ts-node@^10' 'typescript@~5.9.0' '@types/node@^20' >&2
log "versions: $(node -p '["cdk8s-cli","cdk8s","cdk8s-plus-28","constructs","cdk8s-state"].map((p)=>p+"@"+require("./node_modules/"+p+"/package.json").version).join(" ")')"

log "npx cdk8s synth"
CDK8S_CHECK_UPGRADE=false npx cdk8s synth >&2
shopt -s nullglob
out=(dist/*.k8s.yaml)
[ ${#out[@]} -gt 0 ] || die "cdk8s synth wrote no dist/*.k8s.yaml"

log "manifest checks on ${out[*]}"
(cd "$root" && node_modules/.bin/ts-node --project test/tsconfig.json scripts/check-manifests.ts "${out[@]/#/$work/}")

images=$(grep -ho 'image: ghcr.io/cdk8s-state/state-cache[^ ]*' "${out[@]}" | sort -u)
[ -n "$images" ] || die "no state-cache image in the output"
[ "$images" = "image: ghcr.io/cdk8s-state/state-cache:$version" ] \
  || die "the state-cache images are not tagged with the package version $version: $images"
log "ok: README snippets -> cdk8s synth from $tarball -> 0 findings; image ghcr.io/cdk8s-state/state-cache:$version"
