#!/usr/bin/env bash
# Builds the state-cache image (re-using the base when present), runs it as
# UID 10001 with the config mounted at the path its CMD names, on the host
# network with free loopback ports, and checks it as a client would: PING,
# SET/GET over RESP, /readyz over HTTP, nothing written outside the volumes,
# a clean exit on SIGTERM. Cleans up after itself; exits non-zero on any failure.
#
#   scripts/image-test.sh [--no-build]
#
# With docker or podman the root filesystem is mounted read-only (--read-only).
# buildah run cannot do that, so with buildah the test asserts the same
# property instead: after start and traffic, the container's writable layer
# holds nothing but the mount points buildah itself creates.
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/image-lib.sh

build=true
[ "${1:-}" = "--no-build" ] && build=false

command -v redis-cli >/dev/null || die "redis-cli is missing: apt-get install redis-tools"
tool=$(detect_tool)
$build && bash scripts/image-build.sh
image_exists "$tool" "$STATE_CACHE_IMAGE" || die "image $STATE_CACHE_IMAGE not found: run npm run image:build"

passed=0
failed=0
check() { # name, then a command that must succeed
  local name="$1"; shift
  if "$@"; then passed=$((passed + 1)); log "ok   - $name"
  else failed=$((failed + 1)); log "FAIL - $name"; fi
}

work=$(mktemp -d /tmp/state-cache-image-test.XXXXXX)
mkdir -p "$work/config" "$work/tmp" "$work/data"
# The server runs as 10001 and writes only to its volumes.
chown 10001:10001 "$work/tmp" "$work/data"
chmod 1777 "$work/tmp"
ctr=""
run_pid=""
server_log="$work/server.log"

cleanup() {
  local rc=$?
  if [ -n "$run_pid" ] && kill -0 "$run_pid" 2>/dev/null; then
    stop_server KILL || true
  fi
  if [ -n "$ctr" ]; then
    case "$tool" in
      buildah) bah rm "$ctr" >/dev/null 2>&1 || true ;;
      *) "$tool" rm -f "$ctr" >/dev/null 2>&1 || true ;;
    esac
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# The config path is whatever the image's CMD passes to --config: the one place
# it is defined is runtime/Dockerfile.
case "$tool" in
  buildah) cmd_json=$(bah inspect --type image "$STATE_CACHE_IMAGE" \
    | node -e 'let s = ""; process.stdin.on("data", (d) => s += d).on("end", () => console.log(JSON.stringify(JSON.parse(s).OCIv1.config.Cmd)))') ;;
  *) cmd_json=$("$tool" image inspect --format '{{json .Config.Cmd}}' "$STATE_CACHE_IMAGE") ;;
esac
config_path=$(node -e '
  const cmd = JSON.parse(process.argv[1]); const i = cmd.indexOf("--config");
  if (i < 0 || !cmd[i + 1]) { console.error("the image CMD has no --config FILE: " + process.argv[1]); process.exit(1); }
  console.log(cmd[i + 1]);' "$cmd_json")
config_dir=$(dirname "$config_path")
log "image CMD $cmd_json; config mounted at $config_path"

# Two free loopback ports, chosen by the OS.
read -r resp_port http_port < <(node -e '
  const net = require("net"); const ports = [];
  const next = () => { const s = net.createServer().listen(0, "127.0.0.1", () => {
    ports.push(s.address().port); s.close(() => ports.length < 2 ? next() : console.log(ports.join(" "))); }); };
  next();')
node_modules/.bin/ts-node --project runtime/bench/tsconfig.json runtime/bench/server-config.ts "$resp_port" "$http_port" > "$work/config/$(basename "$config_path")"
chmod 0644 "$work/config/$(basename "$config_path")"
log "RESP on 127.0.0.1:$resp_port, HTTP on 127.0.0.1:$http_port"

# Starts the server in the background; run_pid is the tool's process.
case "$tool" in
  buildah)
    ctr=$(bah from --pull=false --name "state-cache-test-$$" "$STATE_CACHE_IMAGE")
    bah run --isolation chroot --network host --user 10001:10001 \
      -v "$work/config:$config_dir:ro" -v "$work/tmp:/tmp" -v "$work/data:/var/lib/state-cache" \
      "$ctr" -- "$(node -e 'console.log(JSON.parse(process.argv[1])[0])' "$cmd_json")" \
      $(node -e 'console.log(JSON.parse(process.argv[1]).slice(1).join(" "))' "$cmd_json") \
      >"$server_log" 2>&1 &
    run_pid=$!
    ;;
  *)
    ctr="state-cache-test-$$"
    "$tool" run -d --name "$ctr" --network host --read-only --user 10001:10001 \
      -v "$work/config:$config_dir:ro" --tmpfs /tmp -v "$work/data:/var/lib/state-cache" \
      "$STATE_CACHE_IMAGE" >/dev/null
    ;;
esac

# The server's own PID on the host (buildah: the node process under buildah run).
server_pid() {
  case "$tool" in
    buildah)
      local p c
      p="$run_pid"
      for _ in 1 2 3 4; do
        c=$(ps -o pid= --ppid "$p" | head -n1 | tr -d ' ')
        [ -z "$c" ] && break
        p="$c"
        # By argv[0] (buildah runs the CMD's "node" as /usr/local/bin/node): Node 24
        # renames its main thread "MainThread", so the process's comm is no longer "node".
        if [ "$(basename "$(tr '\0' '\n' < "/proc/$p/cmdline" 2>/dev/null | head -n1)")" = node ]; then echo "$p"; return; fi
      done
      return 1 ;;
    *) "$tool" inspect --format '{{.State.Pid}}' "$ctr" ;;
  esac
}

stop_server() { # signal
  local sig="${1:-TERM}" pid
  pid=$(server_pid) || return 1
  kill -s "$sig" "$pid"
}

server_exited() {
  case "$tool" in
    buildah) ! kill -0 "$run_pid" 2>/dev/null ;;
    *) [ "$("$tool" inspect --format '{{.State.Running}}' "$ctr")" = false ] ;;
  esac
}

http_status() { # path -> prints the status code
  node -e '
    fetch(process.argv[1]).then((r) => console.log(r.status)).catch((e) => { console.log("000"); });' \
    "http://127.0.0.1:$http_port$1"
}

# Wait up to 60 s for /readyz.
ready=false
for _ in $(seq 1 120); do
  if [ "$(http_status /readyz)" = 200 ]; then ready=true; break; fi
  if server_exited; then break; fi
  sleep 0.5
done
if ! $ready; then
  log "server did not become ready; its output:"
  case "$tool" in buildah) cat "$server_log" >&2 ;; *) "$tool" logs "$ctr" >&2 || true ;; esac
  if server_exited; then die "state-cache in $STATE_CACHE_IMAGE exited before /readyz answered 200"; fi
  die "state-cache in $STATE_CACHE_IMAGE did not answer /readyz with 200 within 60 s"
fi
log "ready ($(elapsed) since the test started)"

cli() { redis-cli -h 127.0.0.1 -p "$resp_port" "$@"; }
value=$(node -e 'console.log(require("crypto").randomBytes(50).toString("hex"))')

check "/readyz answers 200" test "$(http_status /readyz)" = 200
check "PING answers PONG" test "$(cli PING)" = PONG
check "SET answers OK" test "$(cli SET image-test:key "$value")" = OK
check "GET returns the value SET stored" test "$(cli GET image-test:key)" = "$value"
check "GET of a missing key is nil" test -z "$(cli GET image-test:missing)"

pid=$(server_pid || true)
check "the server process is found" test -n "$pid"
if [ -n "$pid" ]; then
  uid_line=$(awk '/^Uid:/{print $2, $3, $4, $5}' "/proc/$pid/status")
  gid_line=$(awk '/^Gid:/{print $2, $3, $4, $5}' "/proc/$pid/status")
  check "the server runs as UID 10001 (Uid: $uid_line)" test "$uid_line" = "10001 10001 10001 10001"
  check "the server runs as GID 10001 (Gid: $gid_line)" test "$gid_line" = "10001 10001 10001 10001"
fi

case "$tool" in
  buildah)
    # Anything the server wrote outside its volumes lands in the writable layer.
    if [ "$STATE_CACHE_STORAGE_DRIVER" = overlay ]; then
      upper="$(dirname "$(bah mount "$ctr")")/diff"
      written=$(cd "$upper" && find . -mindepth 1 \
        ! -path ./etc ! -path ./etc/hosts ! -path ./etc/hostname ! -path ./etc/resolv.conf \
        ! -path "./${config_dir#/}" ! -path ./etc/state-cache ! -path ./proc ! -path ./dev ! -path ./sys \
        ! -path ./run ! -path ./run/.containerenv ! -path ./tmp ! -path ./var ! -path ./var/lib ! -path ./var/lib/state-cache | sort)
      bah umount "$ctr" >/dev/null
      check "nothing written to the root filesystem${written:+: $written}" test -z "$written"
    else
      log "SKIP - root filesystem writes: only checked with STATE_CACHE_STORAGE_DRIVER=overlay"
    fi
    ;;
  *)
    check "the container runs with a read-only root filesystem" \
      test "$("$tool" inspect --format '{{.HostConfig.ReadonlyRootfs}}' "$ctr")" = true
    ;;
esac

# SIGTERM: the server must exit by itself, promptly and with status 0.
if stop_server TERM; then
  exited=false
  for _ in $(seq 1 40); do
    if server_exited; then exited=true; break; fi
    sleep 0.25
  done
  check "the server exits within 10 s of SIGTERM" $exited
  if $exited && [ "$tool" = buildah ]; then
    rc=0; wait "$run_pid" || rc=$?
    check "the server exits with status 0 on SIGTERM (got $rc)" test "$rc" = 0
  fi
else
  check "SIGTERM reaches the server" false
fi

log "$passed passed, $failed failed ($(elapsed))"
echo "image: $passed passed, $failed failed"
[ "$failed" = 0 ]
