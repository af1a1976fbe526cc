/**
 * remeet.sh run against a stub valkey-cli that answers from files: the
 * decisions of the loop, deterministically. (The run-as-pod test runs it
 * against real servers, where the race below happens only now and then.)
 *
 * The race: after every pod restarted on a new address, a replica may learn
 * its primary's new address from a third node's gossip before it hears from
 * the primary. Redis (and Valkey before 7.2.7 / 8.0.0) then update the address
 * in CLUSTER NODES without re-pointing replication, and the replica retries
 * the primary's old address for ever: master_link_status stays down and the
 * pod never turns ready.
 */
import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VALKEY_CONF_DIR, valkeyScripts } from '../src/_valkey-scripts';

const PRIMARY = 'a'.repeat(40);
const REPLICA = 'b'.repeat(40);
const OTHER = 'c'.repeat(40);
const SELF = '10.0.0.41';
const NAME = (o: number) => `sessions-${o}.sessions-peers.shop.svc.cluster.local`;

interface Scenario {
  /** CLUSTER NODES as this (replica) node answers it. */
  nodes: string;
  /** INFO replication as this node answers it. */
  replication: string;
  /** CLUSTER MYID of the server at 10.0.0.40. */
  myidAt40?: string;
}

const nodesOfReplica = [
  `${PRIMARY} 10.0.0.40:6379@16379,${NAME(0)} master - 0 1 1 connected 0-16383`,
  `${REPLICA} ${SELF}:6379@16379,${NAME(1)} myself,slave ${PRIMARY} 0 1 1 connected`,
].join('\n');

const info = (host: string, link: string) => ['# Replication', 'role:slave', `master_host:${host}`, 'master_port:6379', `master_link_status:${link}`, ''].join('\r\n');

/** Runs remeet.sh until it has read CLUSTER NODES `iterations` times; returns the commands it sent and its output. */
async function runLoop(s: Scenario, iterations = 6): Promise<{ calls: string[]; output: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'valkey-remeet-'));
  try {
    const conf = join(dir, 'conf');
    const bin = join(dir, 'bin');
    const reply = join(dir, 'reply');
    for (const d of [conf, bin, reply]) mkdirSync(d);
    for (const [file, text] of Object.entries(valkeyScripts())) writeFileSync(join(conf, file), text.split(VALKEY_CONF_DIR).join(conf));
    // valkey-cli -h HOST -p PORT ARGS...: logs "HOST ARGS", answers from reply/"HOST ARGS", fails when there is none.
    writeFileSync(join(bin, 'valkey-cli'), [
      '#!/bin/sh',
      'host=$2',
      'shift 4',
      `echo "$host $*" >> '${dir}/calls'`,
      `[ -f '${reply}'/"$host $*" ] || exit 1`,
      `cat '${reply}'/"$host $*"`,
      '',
    ].join('\n'));
    // DNS agrees with CLUSTER NODES: no MEET is due.
    writeFileSync(join(dir, 'hosts'), `10.0.0.40 ${NAME(0)}\n${SELF} ${NAME(1)}\n`);
    writeFileSync(join(bin, 'getent'), `#!/bin/sh\nawk -v n="$2" '$2 == n { print $1 "  " $2 }' '${dir}/hosts'\n`);
    chmodSync(join(bin, 'valkey-cli'), 0o755);
    chmodSync(join(bin, 'getent'), 0o755);
    writeFileSync(join(reply, `${SELF} CLUSTER NODES`), `${s.nodes}\n`);
    writeFileSync(join(reply, `${SELF} INFO replication`), s.replication);
    if (s.myidAt40) writeFileSync(join(reply, '10.0.0.40 CLUSTER MYID'), `${s.myidAt40}\n`);

    const calls = () => (existsSync(join(dir, 'calls')) ? readFileSync(join(dir, 'calls'), 'utf8').trim().split('\n') : []);
    const child = spawn('sh', [join(conf, 'remeet.sh')], {
      env: { PATH: `${bin}:${process.env.PATH}`, POD_IP: SELF, VALKEY_REMEET_SECONDS: '0.05' },
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let output = '';
    child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
    const exited = new Promise((r) => child.on('exit', r));
    try {
      const end = Date.now() + 30_000;
      while (calls().filter((c) => c === `${SELF} CLUSTER NODES`).length < iterations) {
        if (Date.now() > end) throw new Error(`remeet.sh did not loop ${iterations} times: ${calls().join('; ')}\n${output}`);
        if (child.exitCode !== null) throw new Error(`remeet.sh exited ${child.exitCode}: ${output}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    } finally {
      process.kill(-child.pid!, 'SIGKILL');
      await exited;
    }
    return { calls: calls(), output };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('remeet.sh: a replica that replicates from its primary\'s old address', () => {
  test('re-points replication with CLUSTER REPLICATE once the stale target is seen twice in a row', async () => {
    const { calls, output } = await runLoop({ nodes: nodesOfReplica, replication: info('10.0.0.10', 'down'), myidAt40: PRIMARY });
    const first = calls.indexOf(`${SELF} CLUSTER REPLICATE ${PRIMARY}`);
    expect(first).toBeGreaterThan(-1);
    // Two reads of INFO replication before it, and the primary's identity checked at its address.
    expect(calls.slice(0, first).filter((c) => c === `${SELF} INFO replication`).length).toBeGreaterThanOrEqual(2);
    expect(calls.slice(0, first)).toContain('10.0.0.40 CLUSTER MYID');
    expect(output).toContain(`replicating from 10.0.0.10, but the primary is at 10.0.0.40 now (link down): CLUSTER REPLICATE ${PRIMARY}`);
    expect(calls.filter((c) => / CLUSTER MEET /.test(c))).toEqual([]);
  }, 60_000);

  test('also when the old address answers (the link is up to whoever has it now)', async () => {
    const { calls } = await runLoop({ nodes: nodesOfReplica, replication: info('10.0.0.10', 'up'), myidAt40: PRIMARY });
    expect(calls).toContain(`${SELF} CLUSTER REPLICATE ${PRIMARY}`);
  }, 60_000);

  test('nothing when replication goes to the primary\'s current address', async () => {
    const { calls } = await runLoop({ nodes: nodesOfReplica, replication: info('10.0.0.40', 'down'), myidAt40: PRIMARY });
    expect(calls.filter((c) => / CLUSTER (REPLICATE|MEET|MYID)/.test(c))).toEqual([]);
  }, 60_000);

  test('nothing when the server at the primary\'s address is another node', async () => {
    const { calls } = await runLoop({ nodes: nodesOfReplica, replication: info('10.0.0.10', 'down'), myidAt40: OTHER });
    expect(calls).toContain('10.0.0.40 CLUSTER MYID');
    expect(calls.filter((c) => / CLUSTER REPLICATE /.test(c))).toEqual([]);
  }, 60_000);

  test('nothing on a primary', async () => {
    const nodes = [
      `${PRIMARY} ${SELF}:6379@16379,${NAME(1)} myself,master - 0 1 1 connected 0-16383`,
      `${REPLICA} 10.0.0.40:6379@16379,${NAME(0)} slave ${PRIMARY} 0 1 1 connected`,
    ].join('\n');
    const { calls } = await runLoop({ nodes, replication: ['# Replication', 'role:master', 'connected_slaves:1', ''].join('\r\n') });
    expect(calls.filter((c) => / CLUSTER (REPLICATE|MEET)/.test(c))).toEqual([]);
  }, 60_000);
});
