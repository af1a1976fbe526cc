/*
 * The shell scripts of a Valkey cluster, as they go into its ConfigMap. They
 * are POSIX sh with awk, sed, od, tr, getent and timeout: what the Debian and
 * Alpine variants of the valkey/valkey image have. They call valkey-cli (or
 * redis-cli, in a Redis image) with the password in REDISCLI_AUTH, never on a
 * command line.
 *
 * Shell `${...}` is written `\${...}` here (TypeScript template strings).
 */

/** Where the ConfigMap (config and scripts) is mounted. */
export const VALKEY_CONF_DIR = '/etc/valkey';
/** The claim: nodes.conf and the append-only file. */
export const VALKEY_DATA_DIR = '/data';
/** A memory-backed emptyDir: the config with the password, the readiness latch. */
export const VALKEY_RUN_DIR = '/run/valkey';
/** Where the certificate is mounted (tls.crt, tls.key, ca.crt), with TLS. */
const VALKEY_TLS_DIR = '/etc/valkey-tls';

const LIB = `# Shared by the scripts: valkey-cli (or redis-cli in a Redis image) with the
# password from the environment and a time limit on every call, DNS lookups,
# and INFO fields.
VALKEY_PORT=\${VALKEY_PORT:-6379}
export REDISCLI_AUTH="\${VALKEY_PASSWORD:-}" VALKEYCLI_AUTH="\${VALKEY_PASSWORD:-}"
cli_bin=$(command -v valkey-cli || command -v redis-cli)
# With TLS: --tls --cacert ... --cert ... --key ... (word-split on purpose).
tls_args=\${VALKEY_TLS_ARGS:-}

# cli HOST ARGS...: one command to the server at HOST, at most 5 seconds.
cli() {
  cli_host=$1
  shift
  # shellcheck disable=SC2086
  timeout 5 "$cli_bin" $tls_args -h "$cli_host" -p "$VALKEY_PORT" "$@"
}

# resolve NAME: the first address DNS gives for NAME (a pod's name from the
# headless Service, which publishes pods before they are ready).
resolve() {
  getent hosts "$1" | awk '{ print $1; exit }'
}

# field NAME < INFO: the value of one INFO field.
field() {
  tr -d '\\r' | awk -F: -v k="$1" '$1 == k { print $2; exit }'
}

log() {
  echo "$(date -u +%H:%M:%S) \${0##*/}: $*"
}
`;

const START = `#!/bin/sh
# The server's entrypoint. The password from the Secret goes into a config
# file in the memory-backed run directory (never on a command line), the
# re-MEET loop starts in the background, then the server replaces this shell
# with the per-pod arguments the kubelet expanded (announced hostname and IP).
set -eu
. ${VALKEY_CONF_DIR}/lib.sh
server=$(command -v valkey-server || command -v redis-server)
: "\${VALKEY_PASSWORD:?is empty: the password Secret has no value}"
umask 077
# Every byte as \\xHH inside double quotes: any password is a valid config value.
hex=$(printf '%s' "$VALKEY_PASSWORD" | od -An -v -tx1 | tr -d ' \\n' | sed 's/../\\\\x&/g')
printf 'include %s\\nrequirepass "%s"\\nmasterauth "%s"\\n' ${VALKEY_CONF_DIR}/valkey.conf "$hex" "$hex" > ${VALKEY_RUN_DIR}/valkey.conf
sh ${VALKEY_CONF_DIR}/remeet.sh &
if [ -n "\${VALKEY_TLS_ARGS:-}" ]; then
  # TLS only (valkey.conf has port 0 and tls-port). A renewed certificate: the kubelet swaps the
  # mounted files; the server reads them again on CONFIG SET, so the loop below sets them when they change.
  sh -c 'sum() { cat ${VALKEY_TLS_DIR}/tls.crt ${VALKEY_TLS_DIR}/tls.key ${VALKEY_TLS_DIR}/ca.crt 2>/dev/null | cksum; }
    . ${VALKEY_CONF_DIR}/lib.sh; last=$(sum)
    while sleep 30; do now=$(sum); [ "$now" = "$last" ] && continue
      cli "\${POD_IP:-127.0.0.1}" CONFIG SET tls-cert-file ${VALKEY_TLS_DIR}/tls.crt tls-key-file ${VALKEY_TLS_DIR}/tls.key tls-ca-cert-file ${VALKEY_TLS_DIR}/ca.crt >/dev/null && last=$now && log "TLS certificate reloaded"
    done' &
  exec "$server" ${VALKEY_RUN_DIR}/valkey.conf "$@"
fi
exec "$server" ${VALKEY_RUN_DIR}/valkey.conf --port "$VALKEY_PORT" "$@"
`;

const REMEET = `#!/bin/sh
# Re-MEET loop, in the background of every server. When a peer's address in
# CLUSTER NODES differs from what DNS answers for its hostname (the peer
# restarted with a new pod IP) and the server at the new address has the
# peer's node id, MEET it there. A cluster whose pods all restart with new IPs
# never finds itself again without this; a pod that lost its volume (a new
# node id) is left to the bootstrap Job.
# A replica also checks that it replicates from its primary's current address
# (see the end of the loop).
. ${VALKEY_CONF_DIR}/lib.sh
self=\${POD_IP:-127.0.0.1}
stale=
while :; do
  sleep "\${VALKEY_REMEET_SECONDS:-2}"
  nodes=$(cli "$self" CLUSTER NODES 2>/dev/null) || continue
  replication=$(cli "$self" INFO replication 2>/dev/null) || continue
  echo "$nodes" | awk '$3 !~ /myself/ {
    n = split($2, part, ",")
    if (n > 1 && part[2] != "") print $1, part[2], part[1]
  }' | while read -r id name address; do
    ip=\${address%:*}
    ports=\${address##*:}
    now=$(resolve "$name")
    [ -n "$now" ] && [ "$now" != "$ip" ] || continue
    [ "$(cli "$now" CLUSTER MYID 2>/dev/null)" = "$id" ] || continue
    log "$name is at $now now (was $ip): CLUSTER MEET"
    cli "$self" CLUSTER MEET "$now" "\${ports%@*}" "\${ports#*@}" >/dev/null
  done
  # A replica whose replication still goes to an address its primary no longer
  # has. The server re-points replication when it learns the primary's new
  # address from the primary itself, but not when a third node's gossip told it
  # first (Redis; Valkey before 7.2.7 and 8.0.0): the primary's own packets and
  # a MEET then find the address current and change nothing, and the replica
  # retries the old address for ever (its link stays down, or reaches whoever
  # has that address now). CLUSTER REPLICATE of the same primary connects to
  # the address CLUSTER NODES has. Only when seen twice in a row, and when the
  # server there has the primary's node id: a failover changes both at once,
  # and the two reads above can straddle it.
  primary=$(echo "$nodes" | awk '$3 ~ /myself/ && $3 ~ /slave/ { print $4 }')
  at=$(echo "$nodes" | awk -v id="\${primary:-none}" '$1 == id { split($2, part, ","); sub(/:[0-9]+@[0-9]+$/, "", part[1]); print part[1] }')
  target=$(echo "$replication" | field master_host)
  if [ -z "$at" ] || [ -z "$target" ] || [ "$target" = "$at" ]; then
    stale=
    continue
  fi
  if [ "$stale" != "$primary $target $at" ]; then
    stale="$primary $target $at"
    continue
  fi
  stale=
  [ "$(cli "$at" CLUSTER MYID 2>/dev/null)" = "$primary" ] || continue
  log "replicating from $target, but the primary is at $at now (link $(echo "$replication" | field master_link_status)): CLUSTER REPLICATE $primary"
  cli "$self" CLUSTER REPLICATE "$primary" >/dev/null
done
`;

const PROBE = `#!/bin/sh
# Probes. live: the server answers PING (LOADING and MASTERDOWN count as
# alive). ready: PING; and until this server process has once seen
# cluster_state:ok (as a replica, with its link to the primary up), that too.
# The latch holds the server's run_id, so a restarted server checks again.
. ${VALKEY_CONF_DIR}/lib.sh
self=\${POD_IP:-127.0.0.1}
pong=$(cli "$self" PING 2>&1)
case "\${1:-}" in
live)
  case "$pong" in
  PONG | LOADING* | MASTERDOWN*) exit 0 ;;
  esac
  echo "not alive: PING answered: $pong"
  exit 1
  ;;
ready)
  [ "$pong" = PONG ] || { echo "not ready: PING answered: $pong"; exit 1; }
  run_id=$(cli "$self" INFO server | field run_id)
  [ -n "$run_id" ] && [ "$(cat ${VALKEY_RUN_DIR}/ready 2>/dev/null)" = "$run_id" ] && exit 0
  state=$(cli "$self" CLUSTER INFO | field cluster_state)
  [ "$state" = ok ] || { echo "not ready: cluster_state is \${state:-unknown}"; exit 1; }
  replication=$(cli "$self" INFO replication)
  if [ "$(echo "$replication" | field role)" = slave ]; then
    link=$(echo "$replication" | field master_link_status)
    [ "$link" = up ] || { echo "not ready: the link to the primary is \${link:-unknown}"; exit 1; }
  fi
  echo "$run_id" > ${VALKEY_RUN_DIR}/ready
  exit 0
  ;;
esac
echo "usage: probe.sh live|ready"
exit 2
`;

const PRESTOP = `#!/bin/sh
# preStop hand-off. A primary that owns slots asks its most up-to-date
# replica to take over (CLUSTER FAILOVER, run on the replica: it waits until
# it has every write, then switches with no write lost) and waits until it
# has become a replica itself, at most VALKEY_HANDOFF_SECONDS; then the
# kubelet sends SIGTERM. A replica has nothing to hand off.
. ${VALKEY_CONF_DIR}/lib.sh
self=\${POD_IP:-127.0.0.1}
deadline=$(($(date +%s) + \${VALKEY_HANDOFF_SECONDS:-15}))
role=$(cli "$self" INFO replication | field role)
[ "$role" = master ] || { log "\${role:-unknown role}: nothing to hand off"; exit 0; }
slots=$(cli "$self" CLUSTER NODES | awk '$3 ~ /myself/ { print NF - 8 }')
[ "\${slots:-0}" -gt 0 ] || { log "a primary without slots: nothing to hand off"; exit 0; }
myid=$(cli "$self" CLUSTER MYID)
best=
best_offset=-1
for replica in $(cli "$self" CLUSTER REPLICAS "$myid" | awk '$3 !~ /fail|noaddr|handshake/ && $8 == "connected" {
  split($2, part, "@"); sub(/:[0-9]+$/, "", part[1]); print part[1]
}'); do
  replication=$(cli "$replica" INFO replication) || continue
  [ "$(echo "$replication" | field master_link_status)" = up ] || continue
  offset=$(echo "$replication" | field slave_repl_offset)
  if [ "\${offset:-0}" -gt "$best_offset" ]; then
    best=$replica
    best_offset=$offset
  fi
done
[ -n "$best" ] || { log "no replica in sync: stopping without a hand-off"; exit 0; }
log "handing the slots to the replica at $best (offset $best_offset)"
cli "$best" CLUSTER FAILOVER >/dev/null
while [ "$(date +%s)" -lt "$deadline" ]; do
  if [ "$(cli "$self" INFO replication | field role)" = slave ]; then
    log "hand-off done: this server is a replica now"
    exit 0
  fi
  sleep 0.2
done
log "the replica did not take over within \${VALKEY_HANDOFF_SECONDS:-15}s: stopping anyway"
exit 0
`;

const BOOTSTRAP = `#!/bin/sh
# Bootstrap Job: brings the cluster to this Job's shape (VALKEY_PODS pods, each
# shard VALKEY_REPLICAS_PER_PRIMARY + 1 consecutive ordinals, the first its
# primary), and changes nothing when the cluster has it already.
#  1. Waits until every pod answers at the address DNS gives for its name
#     (CLUSTER MEET takes addresses, not names).
#  2. Refuses a cluster with members beyond the shape (scale-in is not supported).
#  3. No member at all: creates the cluster from the first pod of each shard.
#  4. Each pod that is not a member (new, or its volume was lost): forgets
#     the node it was (after its slots moved to a replica), then adds it as a
#     replica of its shard's primary, or as an empty primary of a new shard.
#  5. Waits until every pod is ok and agrees (a slot moved right after
#     add-node can be left half-moved), then moves slots onto empty primaries,
#     and fixes open slots once if the move left any.
set -u
. ${VALKEY_CONF_DIR}/lib.sh
pods=$VALKEY_PODS
per=$((VALKEY_REPLICAS_PER_PRIMARY + 1))
end=$(($(date +%s) + \${VALKEY_WAIT_SECONDS:-600}))
changed=0

fail() {
  log "FAILED: $*"
  exit 1
}
name_of() { echo "$VALKEY_STATEFULSET-$1.$VALKEY_PEER_DOMAIN"; }
ip_of() { eval "echo \\$ip_$1"; }
in_time() { [ "$(date +%s)" -lt "$end" ]; }
# my_slots HOST: how many slot ranges the server at HOST owns.
my_slots() { cli "$1" CLUSTER NODES | awk '$3 ~ /myself/ { print NF - 8 }'; }
is_member() {
  known=$(cli "$1" CLUSTER INFO | field cluster_known_nodes)
  [ "\${known:-1}" -gt 1 ] || [ "$(my_slots "$1")" -gt 0 ]
}
# node_of NAME: "id flags" of the live node with that hostname, in the anchor's view.
node_of() {
  cli "$anchor" CLUSTER NODES | awk -v n="$1" '{ split($2, part, ","); if (part[2] == n && $3 !~ /fail|handshake/) { print $1, $3; exit } }'
}
cluster_cmd() {
  log "$cli_bin --cluster $*"
  # shellcheck disable=SC2086
  "$cli_bin" $tls_args --cluster "$@" </dev/null
}

# 1. Every pod answers.
o=0
while [ "$o" -lt "$pods" ]; do
  ip=$(resolve "$(name_of "$o")")
  if [ -n "$ip" ] && [ "$(cli "$ip" PING 2>/dev/null)" = PONG ]; then
    eval "ip_$o=$ip"
    o=$((o + 1))
    continue
  fi
  in_time || fail "$(name_of "$o") did not answer PING within \${VALKEY_WAIT_SECONDS:-600}s"
  sleep 2
done
log "$pods pods answer; shape: $VALKEY_PRIMARIES primaries with $VALKEY_REPLICAS_PER_PRIMARY replicas each"

anchor=
for o in $(seq 0 $((pods - 1))); do
  if is_member "$(ip_of "$o")"; then
    anchor=$(ip_of "$o")
    break
  fi
done

# 2. Members beyond the shape.
if [ -n "$anchor" ]; then
  beyond=$(cli "$anchor" CLUSTER NODES | awk -v s="$VALKEY_STATEFULSET-" -v d=".$VALKEY_PEER_DOMAIN" -v pods="$pods" '$3 !~ /fail/ {
    split($2, part, ","); h = part[2]
    if (index(h, s) == 1 && substr(h, length(h) - length(d) + 1) == d) {
      ordinal = substr(h, length(s) + 1, length(h) - length(s) - length(d))
      if (ordinal ~ /^[0-9]+$/ && ordinal + 0 >= pods + 0) print h
    }
  }')
  [ -z "$beyond" ] || fail "the cluster has members beyond $pods pods ($(echo $beyond)); scale-in is not supported: move their slots away with valkey-cli --cluster reshard and CLUSTER FORGET them first"
fi

# 3. Create.
if [ -z "$anchor" ]; then
  primaries=
  o=0
  while [ "$o" -lt "$pods" ]; do
    primaries="$primaries $(ip_of "$o"):$VALKEY_PORT"
    o=$((o + per))
  done
  log "no pod is a member yet: creating the cluster"
  # shellcheck disable=SC2086
  cluster_cmd create $primaries --cluster-replicas 0 --cluster-yes || fail "cluster create failed"
  anchor=$(ip_of 0)
  changed=1
fi

# 4. Pods that are not members.
for o in $(seq 0 $((pods - 1))); do
  ip=$(ip_of "$o")
  is_member "$ip" && continue
  name=$(name_of "$o")
  id=$(cli "$ip" CLUSTER MYID)
  stale=$(cli "$anchor" CLUSTER NODES | awk -v n="$name" -v id="$id" '{ split($2, part, ","); if (part[2] == n && $1 != id) print $1 }')
  for old in $stale; do
    log "$name is a new node ($id): forgetting the node it was ($old)"
    while [ "$(cli "$anchor" CLUSTER NODES | awk -v id="$old" '$1 == id { print NF - 8 }')" -gt 0 ]; do
      in_time || fail "the slots of $old ($name before it lost its data) did not move to a replica; with no replica its data is gone: assign them with valkey-cli --cluster fix"
      sleep 1
    done
    for m in $(seq 0 $((pods - 1))); do
      [ "$m" = "$o" ] || cli "$(ip_of "$m")" CLUSTER FORGET "$old" >/dev/null 2>&1 || true
    done
    changed=1
  done
  shard=$((o / per))
  primary=
  for m in $(seq $((shard * per)) $((shard * per + per - 1))); do
    [ "$m" = "$o" ] && continue
    set -- $(node_of "$(name_of "$m")")
    case "\${2:-}" in *master*) primary=$1 ;; esac
  done
  if [ -n "$primary" ]; then
    cluster_cmd add-node "$ip:$VALKEY_PORT" "$anchor:$VALKEY_PORT" --cluster-slave --cluster-master-id "$primary" || fail "adding $name as a replica failed"
  else
    cluster_cmd add-node "$ip:$VALKEY_PORT" "$anchor:$VALKEY_PORT" || fail "adding $name as a primary failed"
  fi
  changed=1
  until [ -n "$(node_of "$name")" ]; do
    in_time || fail "$name did not join"
    sleep 1
  done
done

# 5. Clean, then balanced.
clean() {
  total=$(cli "$anchor" CLUSTER NODES | wc -l)
  for o in $(seq 0 $((pods - 1))); do
    info=$(cli "$(ip_of "$o")" CLUSTER INFO) || return 1
    [ "$(echo "$info" | field cluster_state)" = ok ] || return 1
    [ "$(echo "$info" | field cluster_known_nodes)" = "$total" ] || return 1
  done
  # shellcheck disable=SC2086
  check=$("$cli_bin" $tls_args --cluster check "$anchor:$VALKEY_PORT" </dev/null 2>&1) || return 1
  ! echo "$check" | grep -Eq '^\\[(ERR|WARNING)\\]'
}
wait_clean() {
  until clean; do
    in_time || return 1
    sleep 1
  done
}
wait_clean || fail "the cluster is not clean: $check"
empty=$(cli "$anchor" CLUSTER NODES | awk '$3 ~ /master/ && $3 !~ /fail/ && NF == 8' | wc -l)
if [ "$empty" -gt 0 ]; then
  log "$empty primaries own no slots: rebalancing"
  cluster_cmd rebalance "$anchor:$VALKEY_PORT" --cluster-use-empty-masters || log "rebalance exited $?"
  changed=1
  if ! wait_clean; then
    log "not clean after the rebalance: fixing open slots once"
    cluster_cmd fix "$anchor:$VALKEY_PORT" --cluster-yes || true
    end=$(($(date +%s) + 120))
    wait_clean || fail "the cluster is not clean: $check"
  fi
fi
if [ "$changed" = 0 ]; then
  log "nothing to do: the cluster has this shape"
else
  log "done: the cluster has this shape"
fi
`;

/** The ConfigMap's script entries, by file name. */
export function valkeyScripts(): { [file: string]: string } {
  return {
    'lib.sh': LIB,
    'start.sh': START,
    'remeet.sh': REMEET,
    'probe.sh': PROBE,
    'prestop.sh': PRESTOP,
    'bootstrap.sh': BOOTSTRAP,
  };
}
