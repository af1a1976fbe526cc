/**
 * examples/valkey-cluster.ts run as its pods and its bootstrap Job would run:
 * one redis-server per pod (Debian's redis 7.0.15 stands in for Valkey) with
 * the emitted config, arguments and environment, the emitted scripts for
 * start, probes, preStop and bootstrap. What differs from a real pod is
 * listed in test/valkey-run/pod.ts.
 *
 * One cluster goes through every step in order: (a) the Job forms it and a
 * second run changes nothing; (b) kill -9 of a primary under WAIT-acknowledged
 * writes; (c) a planned restart through the preStop hand-off; (d) every pod
 * restarted at once on new addresses; (e) scale-out from 6 to 8 pods through
 * the new Job under writes; (f) a pod whose volume was lost rejoins as a
 * replica. Measured figures are printed (and asserted against the issue's
 * bounds).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import ValkeyClusterExample from '../examples/valkey-cluster';
import { findCacheContainers, freePort, Manifest, SecretFixtures, startPod, stopPod, synthesisedConfig, waitReady } from './run-as-pod/pod';
import {
  freeClusterPort, killPod, LoopbackDns, loopbackBlock, probe, runJob, startValkeyPod, stopPodGracefully, ValkeyObjects, valkeyObjects, ValkeyPod,
} from './valkey-run/pod';
import { needs } from '../runtime/test/tools';

const runtimeRequire = createRequire(join(__dirname, '..', 'runtime', 'package.json'));
const Redis = runtimeRequire('ioredis');

const PASSWORD = 'carts-cache-pw "9f\\x';
/** The ExternalSecret writes the Secret `<name>-password` with key `password`. */
const SECRETS: SecretFixtures = { 'carts-cache-password': { password: PASSWORD } };

function synth(primaries = 3): { manifests: Manifest[]; objects: ValkeyObjects } {
  const manifests = Testing.synth(new ValkeyClusterExample(Testing.app(), 'valkey-cluster', { primaries })) as Manifest[];
  return { manifests, objects: valkeyObjects(manifests) };
}

/** redis-cli against one pod, with the password from the environment; resolves with its output (throws on failure). */
function cli(address: string, port: number, ...args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('redis-cli', ['-h', address, '-p', String(port), ...args], { env: { ...process.env, REDISCLI_AUTH: PASSWORD } });
    let out = '';
    child.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    child.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (code === 0) resolve(out);
      else reject(new Error(`redis-cli ${args.join(' ')} at ${address} exited ${code}: ${out}`));
    });
  });
}

interface Node { id: string; address: string; host: string; flags: string; master: string; link: string; slots: string[] }

function parseNodes(text: string): Node[] {
  return text.trim().split('\n').filter((l) => l !== '').map((line) => {
    const [id, addr, flags, master, , , , link, ...slots] = line.trim().split(' ');
    const [address, host] = addr.split(',');
    return { id, address: address.replace(/:\d+@\d+$/, ''), host: host ?? '', flags, master, link, slots };
  });
}

async function until<T>(what: string, ms: number, check: () => Promise<T | undefined>, every = 100): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await check();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, every));
  }
  throw new Error(`timed out after ${ms} ms waiting for ${what}${last ? `: ${last}` : ''}`);
}

/**
 * Writers through an ioredis Cluster client: each write is a SET, with WAIT
 * 1 300 (a replica has it, waiting at most 300 ms) in the same pipeline when
 * `wait` is on. A write counts as acknowledged when SET answered OK (and WAIT
 * answered 1 or more). Each worker writes one key at a time: while a shard
 * is down, the workers that hit it wait (ioredis queues the command until
 * the slot has a primary again).
 */
class Writers {
  readonly acked = new Map<string, string>();
  /** When each acknowledgement came, in order. */
  readonly ackTimes: number[] = [];
  readonly errors: string[] = [];
  notReplicated = 0;
  maxGapMs = 0;
  private lastAck = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private n = 0;

  constructor(private readonly client: any, private readonly prefix: string, private readonly wait: boolean) {
    allWriters.push(this);
  }

  start(workers = 4): void {
    this.running = true;
    this.lastAck = Date.now();
    this.loops = Array.from({ length: workers }, () => this.loop());
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const key = `${this.prefix}:${this.n++}`;
      const value = `${key}@${Date.now()}`;
      try {
        if (this.wait) {
          // SET and WAIT on the same connection: WAIT counts the replicas that have this client's writes.
          const res: Array<[Error | null, unknown]> = await this.client.pipeline().set(key, value).wait(1, 300).exec();
          const err = res.find(([e]) => e !== null);
          if (err) throw err[0];
          if (res[0][1] !== 'OK') throw new Error(`SET answered ${String(res[0][1])}`);
          if ((res[1][1] as number) < 1) {
            this.notReplicated++;
            continue;
          }
        } else {
          const res = await this.client.set(key, value);
          if (res !== 'OK') throw new Error(`SET answered ${String(res)}`);
        }
        this.acked.set(key, value);
        const now = Date.now();
        this.ackTimes.push(now);
        this.maxGapMs = Math.max(this.maxGapMs, now - this.lastAck);
        this.lastAck = now;
      } catch (err) {
        this.errors.push((err as Error).message);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  /** Stops the loops; a command that never settles (a client left without a node) is waited for at most 10 s. */
  async stop(): Promise<void> {
    this.running = false;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([Promise.all(this.loops), new Promise((r) => { timer = setTimeout(r, 10_000); })]);
    clearTimeout(timer);
  }

  /** The longest time without an acknowledgement between `from` and `to`, and when it began. */
  gapBetween(from: number, to: number): { ms: number; at: number } {
    let last = from;
    let gap = { ms: 0, at: from };
    for (const t of [...this.ackTimes.filter((x) => x > from && x < to), to]) {
      if (t - last > gap.ms) gap = { ms: t - last, at: last };
      last = t;
    }
    return gap;
  }

  /** Keys whose acknowledged value cannot be read back (through `client`, by default the writers' own). */
  async lost(client = this.client): Promise<string[]> {
    const lost: string[] = [];
    const keys = [...this.acked.keys()];
    for (let i = 0; i < keys.length; i += 200) {
      const chunk = keys.slice(i, i + 200);
      const values: Array<string | null> = await Promise.all(chunk.map((k) => client.get(k)));
      chunk.forEach((k, j) => { if (values[j] !== this.acked.get(k)) lost.push(k); });
    }
    return lost;
  }
}

/** When the server's log (Redis format: `pid:role DD Mon YYYY HH:MM:SS.mmm ...`) last matched `pattern`; Infinity if never. */
function logTime(pod: ValkeyPod, pattern: RegExp): number {
  const line = pod.logs.join('').split('\n').reverse().find((l) => pattern.test(l));
  const stamp = line && /^\d+:\w (\d+ \w+ \d+ [\d:.]+)/.exec(line);
  return stamp ? new Date(stamp[1]).getTime() : Infinity;
}

/** Every Writers made, so that afterAll stops those a failed test left running. */
const allWriters: Writers[] = [];

const redis = needs('redis-server', 'redis-cli');

redis.describe('examples/valkey-cluster.ts run as its pods would', () => {
  // Made in beforeAll: the body of a skipped describe runs too, its hooks do not.
  let dir = '';
  let dns: LoopbackDns;
  const address = loopbackBlock();
  let port = 0;
  let { manifests, objects } = synth();
  const pods: Array<ValkeyPod | undefined> = [];
  const clients: any[] = [];
  const figures: string[] = [];

  const claims = (ordinal: number) => join(dir, `claims-${ordinal}`);
  const start = (ordinal: number, host: number) => {
    const pod = startValkeyPod({
      objects, manifests, ordinal, address: address(host), port, dns, secrets: SECRETS, claimsDir: claims(ordinal), scratchDir: dir,
    });
    pods[ordinal] = pod;
    return pod;
  };
  // Up to the Job's own activeDeadlineSeconds (600 s): on a loaded 2-core machine the scale-out's
  // rebalance of 4096 slots under writes took 50-194 s and once more than 240 s.
  const job = () => runJob({ objects, manifests, port, dns, secrets: SECRETS, scratchDir: dir, timeoutMs: 600_000 });
  const nodes = async (ordinal: number) => parseNodes(await cli(pods[ordinal]!.address, port, 'CLUSTER', 'NODES'));
  const hostOf = (ordinal: number) => `${objects.statefulSet.metadata.name}-${ordinal}.${objects.podDomain}`;
  const ordinalOf = (host: string) => Number(/-(\d+)\./.exec(host)![1]);
  const live = () => pods.filter((p): p is ValkeyPod => p !== undefined);
  const clusterClient = () => {
    const c = new Redis.Cluster(live().map((p) => ({ host: p.address, port })), {
      natMap: dns.natMap(),
      redisOptions: { password: PASSWORD, connectTimeout: 1000, commandTimeout: 5000 },
      clusterRetryStrategy: () => 100,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      maxRedirections: 64,
      slotsRefreshTimeout: 1000,
    });
    // Refresh errors while a node is down are expected; commands report their own errors.
    c.on('error', () => undefined);
    clients.push(c);
    return c;
  };
  /**
   * Every pod's view: every live pod, at its current address, connected, no node failed; cluster_state
   * ok. Throws what is missing (until() reports the last one).
   */
  const converged = async (): Promise<boolean> => {
    const addresses = JSON.stringify(live().map((p) => p.address).sort());
    for (const p of live()) {
      const info = await cli(p.address, port, 'CLUSTER', 'INFO');
      if (!info.includes('cluster_state:ok')) throw new Error(`${p.name}: not cluster_state:ok`);
      const view = await nodes(p.ordinal);
      if (JSON.stringify(view.map((n) => n.address).sort()) !== addresses) throw new Error(`${p.name} sees ${view.map((n) => n.address).join(' ')}`);
      const bad = view.find((n) => /fail|handshake|noaddr/.test(n.flags) || n.link !== 'connected');
      if (bad) throw new Error(`${p.name} sees ${bad.host} ${bad.flags} ${bad.link}`);
    }
    return true;
  };
  /** Converged, and every pod ready by its own readiness probe. */
  const healthy = async (): Promise<boolean> => {
    await converged();
    for (const p of live()) {
      if (await probe(p, 'readinessProbe')) continue;
      // Say why (the probe checks cluster_state, and a replica's link to its primary).
      const why = await Promise.all([cli(p.address, port, 'CLUSTER', 'INFO'), cli(p.address, port, 'INFO', 'replication')]
        .map((q) => q.then((out) => out.split('\n').filter((l) => /^(cluster_state|role|master_host|master_port|master_link_status|master_link_down_since_seconds):/.test(l)).join(' '), (e: Error) => e.message)));
      throw new Error(`${p.name}: readiness probe failed (${why.join(' ').replace(/\r/g, '')})`);
    }
    return true;
  };
  /** Ordinal -> role and (for replicas) the ordinal of its primary, slot ranges of primaries. */
  const topology = async () => {
    const view = await nodes(live()[0].ordinal);
    const byId = new Map(view.map((n) => [n.id, ordinalOf(n.host)]));
    return Object.fromEntries(view.map((n) => [ordinalOf(n.host), /master/.test(n.flags)
      ? { role: 'primary', id: n.id, slots: n.slots }
      : { role: 'replica', id: n.id, of: byId.get(n.master) }]));
  };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'cdk8s-state-valkey-'));
    dns = new LoopbackDns(dir);
    port = await freeClusterPort([...Array(8).keys()].flatMap((i) => [address(10 + i), address(40 + i)]));
    for (let i = 0; i < objects.statefulSet.spec.replicas; i++) start(i, 10 + i);
  }, 30_000);

  /** QUIT where connected: disconnect() on an open connection leaves ioredis' stream-destroy timer behind. */
  const closeClients = async () => {
    await Promise.all(clients.splice(0).map(async (c) => {
      if (c.status === 'ready') await c.quit().catch(() => c.disconnect());
      else c.disconnect();
    }));
  };

  afterEach(async () => {
    await Promise.all(allWriters.splice(0).map((w) => w.stop()));
    await closeClients();
  }, 30_000);

  afterAll(async () => {
    await closeClients();
    await Promise.all(live().map((p) => killPod(p)));
    if (dir !== '') rmSync(dir, { recursive: true, force: true });
    // eslint-disable-next-line no-console
    if (figures.length > 0) console.log(`valkey run-as-pod figures:\n  ${figures.join('\n  ')}`);
  }, 30_000);

  test('(a) the bootstrap Job forms the cluster; a second run changes nothing', async () => {
    expect(objects.statefulSet.spec.replicas).toBe(6);
    const t0 = Date.now();
    const first = await job();
    if (first.code !== 0) throw new Error(`the Job exited ${first.code}:\n${first.output}`);
    figures.push(`(a) first Job run: ${Date.now() - t0} ms`);
    expect(first.output).toContain('no pod is a member yet: creating the cluster');
    await until('every pod ready and connected', 60_000, async () => ((await healthy()) ? true : undefined), 250);

    // 3 shards of two consecutive ordinals, the first the primary, 16384 slots in all.
    const formed = await topology();
    expect(Object.fromEntries(Object.entries(formed).map(([o, n]) => [o, n.role === 'primary' ? 'primary' : `replica of ${n.of}`])))
      .toEqual({ 0: 'primary', 1: 'replica of 0', 2: 'primary', 3: 'replica of 2', 4: 'primary', 5: 'replica of 4' });
    const check = await cli(pods[0]!.address, port, '--cluster', 'check', `${pods[0]!.address}:${port}`);
    expect(check).toContain('[OK] All 16384 slots covered.');
    expect(check).not.toMatch(/\[(ERR|WARNING)\]/);
    // Hostname endpoints: clients are sent to the pods' stable names.
    expect((await nodes(0)).map((n) => n.host).sort()).toEqual([0, 1, 2, 3, 4, 5].map(hostOf));

    const epochs = async () => (await cli(pods[0]!.address, port, 'CLUSTER', 'INFO')).match(/cluster_current_epoch:\d+/)![0];
    const before = { topology: formed, epoch: await epochs() };
    const second = await job();
    if (second.code !== 0) throw new Error(`the second Job run exited ${second.code}:\n${second.output}`);
    expect(second.output).toContain('nothing to do: the cluster has this shape');
    expect(second.output).not.toContain('--cluster');
    expect({ topology: await topology(), epoch: await epochs() }).toEqual(before);
  }, 300_000);

  test('(b) kill -9 of a primary under load: a replica takes over within 10 s, every WAIT-acknowledged write survives', async () => {
    const before = await topology();
    expect([before[2].role, before[3].of]).toEqual(['primary', 2]);
    const writers = new Writers(clusterClient(), 'b', true);
    writers.start(12);
    await until('writes to flow', 20_000, async () => (writers.acked.size > 300 ? true : undefined));
    const killedAt = Date.now();
    await killPod(pods[2]!);
    pods[2] = undefined;
    const polledMs = await until('the replica of the killed primary to be promoted', 30_000, async () => {
      const me = (await nodes(3)).find((n) => /myself/.test(n.flags))!;
      return /master/.test(me.flags) ? Date.now() - killedAt : undefined;
    });
    // The replica's own log says to the millisecond when it won the election; polling adds its own delay.
    const promotedMs = Math.min(polledMs, logTime(pods[3]!, /Failover election won/) - killedAt);
    // Until the killed pod is back, the promoted primary has no replica: its writes time out in WAIT, the others go on.
    const ackedAtPromotion = writers.acked.size;
    await until('writes to flow after the promotion', 20_000, async () => (writers.acked.size > ackedAtPromotion + 100 ? true : undefined));
    await writers.stop();
    const lost = await writers.lost();
    figures.push(`(b) kill -9 of a primary: replica promoted after ${promotedMs} ms (seen by polling after ${polledMs} ms); ` +
      `${writers.acked.size} writes acknowledged with WAIT 1, ${lost.length} lost; ${writers.errors.length} failed ` +
      `(${[...new Set(writers.errors)].slice(0, 3).join('; ')}); ${writers.notReplicated} not replicated in time; longest gap between acknowledgements ${writers.maxGapMs} ms`);

    // The pod comes back on its claim (a StatefulSet pod keeps its name and volume) and rejoins as a replica.
    start(2, 12);
    await until('the restarted pod to rejoin as a replica of the promoted one', 30_000, async () => {
      const t = await topology();
      return t[2].role === 'replica' && t[2].of === 3 && t[2].id === before[2].id ? true : undefined;
    }, 250);
    await until('every pod ready and connected', 60_000, async () => ((await healthy()) ? true : undefined), 250);
    expect(promotedMs).toBeLessThanOrEqual(10_000);
    expect(lost).toEqual([]);
  }, 180_000);

  test('(c) a planned restart hands off through preStop: no failed write, longest gap at most 1 s', async () => {
    const before = await topology();
    expect([before[0].role, before[1].of]).toEqual(['primary', 0]);
    // Plain SETs: ioredis follows the MOVED the old primary answers after the hand-off (a pipeline
    // of SET and WAIT would come back with the MOVED, as ioredis re-sends only wholly redirected pipelines).
    const writers = new Writers(clusterClient(), 'c', false);
    writers.start();
    await until('writes to flow', 20_000, async () => (writers.acked.size > 300 ? true : undefined));
    await new Promise((r) => setTimeout(r, 5000));
    const stopAt = Date.now();
    const stopped = await stopPodGracefully(pods[0]!);
    const stoppedAt = Date.now();
    pods[0] = undefined;
    expect(stopped.preStopOutput).toContain('hand-off done: this server is a replica now');
    expect(stopped.exit).toBe(0);
    // The replica has the slots now (the others may not have heard of the old primary's demotion before it stopped).
    const t = await topology();
    expect([t[1].role, t[0].slots ?? []]).toEqual(['primary', []]);
    // The pod comes back at once, as the StatefulSet recreates it, and rejoins as the replica.
    start(0, 10);
    await until('every pod ready and connected', 60_000, async () => ((await healthy()) ? true : undefined), 250);
    const ackedAtRejoin = writers.acked.size;
    await until('more writes', 20_000, async () => (writers.acked.size > ackedAtRejoin + 300 ? true : undefined));
    await writers.stop();
    const lost = await writers.lost();
    // The hand-off window: from the preStop to a second after the server has stopped; the 5 s before it for comparison.
    const handOff = writers.gapBetween(stopAt, stoppedAt + 1000);
    const quiet = writers.gapBetween(stopAt - 5000, stopAt);
    figures.push(`(c) planned restart: preStop hand-off took ${stopped.preStopMs} ms; ${writers.acked.size} writes acknowledged, ` +
      `${lost.length} lost, ${writers.errors.length} failed; longest gap between acknowledgements: ${handOff.ms} ms in the hand-off ` +
      `(starting ${handOff.at - stopAt} ms after the preStop began), ${quiet.ms} ms in the 5 s before, ${writers.maxGapMs} ms over the whole test`);
    expect(writers.errors).toEqual([]);
    expect(lost).toEqual([]);
    expect(handOff.ms).toBeLessThanOrEqual(1000);
    expect((await topology())[0]).toMatchObject({ role: 'replica', of: 1 });
  }, 180_000);

  test('(d) every pod restarted at once on new addresses: the re-MEET loop heals the cluster within 15 s', async () => {
    await healthy();
    const writers = new Writers(clusterClient(), 'd', false);
    writers.start(2);
    await until('writes to flow', 20_000, async () => (writers.acked.size > 300 ? true : undefined));
    await writers.stop();
    const before = await topology();
    await Promise.all(live().map((p) => killPod(p)));
    const restartedAt = Date.now();
    for (let i = 0; i < 6; i++) start(i, 40 + i);
    const healedMs = await until('every pod connected at its new address', 60_000, async () => ((await converged()) ? Date.now() - restartedAt : undefined), 200);
    await until('every pod ready', 60_000, async () => ((await healthy()) ? true : undefined), 250);
    const moved = (await nodes(0)).map((n) => n.address);
    expect(moved.sort()).toEqual([0, 1, 2, 3, 4, 5].map((i) => address(40 + i)).sort());
    expect(await topology()).toEqual(before);
    // A new client: the writers' one knows only the old addresses.
    const lost = await writers.lost(clusterClient());
    figures.push(`(d) all 6 pods restarted on new addresses: cluster healed ${healedMs} ms after the restart; ${lost.length} of ${writers.acked.size} earlier writes lost`);
    expect(healedMs).toBeLessThanOrEqual(15_000);
    expect(lost).toEqual([]);
  }, 180_000);

  test('(e) scale-out from 6 to 8 pods through the new Job: no failed and no lost writes', async () => {
    const grown = synth(4);
    expect(grown.objects.job.metadata.name).not.toBe(objects.job.metadata.name);
    expect(grown.objects.statefulSet.spec.template).toEqual(objects.statefulSet.spec.template);
    expect(grown.objects.statefulSet.spec.replicas).toBe(8);
    ({ manifests, objects } = grown);
    start(6, 46);
    start(7, 47);
    const writers = new Writers(clusterClient(), 'e', false);
    writers.start(8);
    await until('writes to flow', 20_000, async () => (writers.acked.size > 500 ? true : undefined));
    const t0 = Date.now();
    const ackedBefore = writers.acked.size;
    const run = await job();
    const jobMs = Date.now() - t0;
    const rate = Math.round(((writers.acked.size - ackedBefore) * 1000) / jobMs);
    await writers.stop();
    if (run.code !== 0) throw new Error(`the Job exited ${run.code}:\n${run.output}`);
    const lost = await writers.lost();
    const moved = /Moving (\d+) slots/g;
    const slotsMoved = [...run.output.matchAll(moved)].reduce((n, m) => n + Number(m[1]), 0);
    figures.push(`(e) scale-out 6 -> 8 pods: Job ran ${jobMs} ms, moved ${slotsMoved} slots under ${rate} writes/s; ` +
      `${writers.acked.size} writes acknowledged, ${writers.errors.length} failed, ${lost.length} lost`);
    expect(writers.errors).toEqual([]);
    expect(lost).toEqual([]);
    const t = await topology();
    const primaries = Object.values(t).filter((n: any) => n.role === 'primary') as Array<{ slots: string[] }>;
    const count = (ranges: string[]) => ranges.reduce((n, r) => {
      const [a, b] = r.split('-').map(Number);
      return n + (b === undefined ? 1 : b - a + 1);
    }, 0);
    expect(primaries.map((p) => count(p.slots)).sort()).toEqual([4096, 4096, 4096, 4096]);
    expect([t[6].role, t[7]]).toEqual(['primary', expect.objectContaining({ role: 'replica', of: 6 })]);
    await until('every pod ready and connected', 60_000, async () => ((await healthy()) ? true : undefined), 250);
    const again = await job();
    expect(again.output).toContain('nothing to do: the cluster has this shape');
  }, 900_000);

  test('(f) a pod whose volume was lost rejoins as a replica through the Job', async () => {
    const before = await topology();
    expect([before[6].role, before[7].of]).toEqual(['primary', 6]);
    const killedAt = Date.now();
    await killPod(pods[6]!);
    pods[6] = undefined;
    rmSync(claims(6), { recursive: true, force: true });
    const polledMs = await until('the replica to be promoted', 30_000, async () => {
      const me = (await nodes(7)).find((n) => /myself/.test(n.flags))!;
      return /master/.test(me.flags) ? Date.now() - killedAt : undefined;
    });
    const promotedMs = Math.min(polledMs, logTime(pods[7]!, /Failover election won/) - killedAt);
    start(6, 46);
    const run = await job();
    if (run.code !== 0) throw new Error(`the Job exited ${run.code}:\n${run.output}`);
    expect(run.output).toContain(`forgetting the node it was (${before[6].id})`);
    await until('every pod ready and connected', 60_000, async () => ((await healthy()) ? true : undefined), 250);
    const t = await topology();
    expect(t[6]).toMatchObject({ role: 'replica', of: 7 });
    expect(t[6].id).not.toBe(before[6].id);
    expect(Object.keys(t)).toHaveLength(8);
    figures.push(`(f) lost volume: replica promoted after ${promotedMs} ms; the pod rejoined as its replica through the Job`);
  }, 180_000);

  test('(g) the CachedApp near cache writes behind to the cluster: versioned, and waiting for a replica', async () => {
    // The only state-cache container of the example: the near cache of the carts app.
    const caches = findCacheContainers(manifests);
    expect(caches.map((c) => [c.workload.kind, c.container.restartPolicy])).toEqual([['Deployment', 'Always']]);
    const sidecar = caches[0];
    const store = synthesisedConfig(manifests, sidecar).stores.chain[0].store;
    expect(store).toMatchObject({ type: 'remote', mode: 'cluster', versioning: 'script', wait: { replicas: 1, timeoutMs: 500 } });
    // The seeds resolve to the pods; the pods' names in the slot map resolve through the preloaded DNS stub.
    const hosts = Object.fromEntries(store.nodes.map((n: { host: string }) => [n.host, { host: dns.lookup(n.host)!, port }]));
    const root = mkdtempSync(join(dir, 'carts-'));
    const cache = await startPod({
      manifests,
      cache: sidecar,
      podName: 'carts-7d9f8c6b5-q2x4z',
      root,
      secrets: SECRETS,
      hosts,
      respPort: await freePort(),
      httpPort: await freePort(),
      extraEnv: { NODE_OPTIONS: `--require ${dns.nodeRequire}`, TEST_DNS_FILE: dns.file },
    });
    try {
      await waitReady(cache);
      const app = new Redis({ host: '127.0.0.1', port: cache.respPort, maxRetriesPerRequest: 1 });
      clients.push(app);
      const valkeyClient = clusterClient();
      const MAGIC = Buffer.from([0xff, 0x53, 0x43, 0x01]);
      const envelope = (version: number, value: string) => {
        const out = Buffer.alloc(20 + Buffer.byteLength(value));
        MAGIC.copy(out, 0);
        out.writeBigUInt64BE(BigInt(version), 4);
        Buffer.from(value).copy(out, 20);
        return out;
      };
      const stored = async (key: string) => {
        const raw: Buffer | null = await valkeyClient.getBuffer(key);
        return raw === null ? null : { version: Number(raw.readBigUInt64BE(4)), value: raw.subarray(20).toString() };
      };

      // Writes through the near cache reach Valkey in the store's envelope.
      for (let i = 0; i < 20; i++) expect(await app.set(`cart:${i}`, `items-${i}`)).toBe('OK');
      await until('the writes to reach Valkey', 20_000, async () => ((await stored('cart:19'))?.value === 'items-19' ? true : undefined));
      for (let i = 0; i < 20; i++) expect((await stored(`cart:${i}`))?.value).toBe(`items-${i}`);

      // The near cache holds cart:late; another cache writes a newer version of it to Valkey; then the
      // near cache's own write, older than that, reaches Valkey late and must not overwrite it.
      // (Versions are microsecond clocks; the other cache's is a day ahead.)
      expect(await app.set('cart:late', 'first')).toBe('OK');
      const first = await until('cart:late to reach Valkey', 20_000, async () => (await stored('cart:late')) ?? undefined);
      const newer = first.version + 86_400_000_000;
      await valkeyClient.set('cart:late', envelope(newer, 'from another cache, newer'));
      expect(await app.set('cart:late', 'late write')).toBe('OK');
      expect(await app.set('cart:marker', 'flushed after the late write')).toBe('OK');
      await until('the batch after the late write to reach Valkey', 20_000, async () => ((await stored('cart:marker')) !== null ? true : undefined));
      await new Promise((r) => setTimeout(r, 1000));
      expect(await stored('cart:late')).toEqual({ version: newer, value: 'from another cache, newer' });
      // A foreign (older) value is replaced.
      await valkeyClient.set('cart:foreign', 'written by someone else');
      expect(await app.set('cart:foreign', 'the near cache\'s')).toBe('OK');
      await until('the near cache to replace the older value', 20_000, async () => ((await stored('cart:foreign'))?.value === 'the near cache\'s' ? true : undefined));

      // WAIT: the replica of the key's shard stops acknowledging (SIGSTOP): the batch fails and is retried, and lands once it is back.
      const slot = Number((await cli(live()[0].address, port, 'CLUSTER', 'KEYSLOT', 'cart:waited')).trim());
      const t = await topology();
      const owner = Object.entries(t).find(([, n]: [string, any]) => n.role === 'primary' && n.slots.some((r: string) => {
        const [a, b] = r.split('-').map(Number);
        return slot >= a && slot <= (b ?? a);
      }))!;
      const replica = Object.entries(t).find(([, n]: [string, any]) => n.role === 'replica' && n.of === Number(owner[0]))!;
      const paused = pods[Number(replica[0])]!;
      process.kill(-paused.child.pid!, 'SIGSTOP');
      let resumed = false;
      try {
        expect(await app.set('cart:waited', 'needs a replica')).toBe('OK');
        await until('the store to report the missing replica', 10_000, async () => (cache.logs.join('').includes('WAIT 1 500') ? true : undefined));
        expect(cache.logs.join('')).toContain('of 1 replica(s) acknowledging the batch within 500 ms');
        process.kill(-paused.child.pid!, 'SIGCONT');
        resumed = true;
        await until('the retried batch to land', 30_000, async () => ((await stored('cart:waited'))?.value === 'needs a replica' ? true : undefined));
      } finally {
        if (!resumed) process.kill(-paused.child.pid!, 'SIGCONT');
      }
      figures.push('(g) near cache: 20 writes written behind to Valkey; a late write left the newer version; WAIT 1 500 failed the batch while the replica was stopped, the retry landed after');
    } finally {
      await stopPod(cache);
    }
  }, 180_000);
});
