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
import { Manifest, SecretFixtures } from './run-as-pod/pod';
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
 * 1 (a replica has it) in the same pipeline when `wait` is on. A write counts
 * as acknowledged when SET answered OK (and WAIT answered 1 or more).
 */
class Writers {
  readonly acked = new Map<string, string>();
  readonly errors: string[] = [];
  notReplicated = 0;
  maxGapMs = 0;
  private lastAck = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private n = 0;

  constructor(private readonly client: any, private readonly prefix: string, private readonly wait: boolean) {}

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
        const p = this.client.pipeline().set(key, value);
        if (this.wait) p.wait(1, 1000);
        const res: Array<[Error | null, unknown]> = await p.exec();
        const err = res.find(([e]) => e !== null);
        if (err) throw err[0];
        if (res[0][1] !== 'OK') throw new Error(`SET answered ${String(res[0][1])}`);
        if (this.wait && (res[1][1] as number) < 1) {
          this.notReplicated++;
          continue;
        }
        this.acked.set(key, value);
        const now = Date.now();
        this.maxGapMs = Math.max(this.maxGapMs, now - this.lastAck);
        this.lastAck = now;
      } catch (err) {
        this.errors.push((err as Error).message);
        await new Promise((r) => setTimeout(r, 50));
      }
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  /** Keys whose acknowledged value cannot be read back. */
  async lost(): Promise<string[]> {
    const lost: string[] = [];
    const keys = [...this.acked.keys()];
    for (let i = 0; i < keys.length; i += 200) {
      const chunk = keys.slice(i, i + 200);
      const values: Array<string | null> = await Promise.all(chunk.map((k) => this.client.get(k)));
      chunk.forEach((k, j) => { if (values[j] !== this.acked.get(k)) lost.push(k); });
    }
    return lost;
  }
}

const redis = needs('redis-server', 'redis-cli');

redis.describe('examples/valkey-cluster.ts run as its pods would', () => {
  const dir = mkdtempSync(join(tmpdir(), 'cdk8s-state-valkey-'));
  const dns = new LoopbackDns(dir);
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
  const job = () => runJob({ objects, manifests, port, dns, secrets: SECRETS, scratchDir: dir, timeoutMs: 240_000 });
  const nodes = async (ordinal: number) => parseNodes(await cli(pods[ordinal]!.address, port, 'CLUSTER', 'NODES'));
  const hostOf = (ordinal: number) => `${objects.statefulSet.metadata.name}-${ordinal}.${objects.podDomain}`;
  const ordinalOf = (host: string) => Number(/-(\d+)\./.exec(host)![1]);
  const live = () => pods.filter((p): p is ValkeyPod => p !== undefined);
  const clusterClient = () => {
    const c = new Redis.Cluster(live().map((p) => ({ host: p.address, port })), {
      natMap: dns.natMap(),
      redisOptions: { password: PASSWORD, connectTimeout: 1000 },
      clusterRetryStrategy: () => 100,
      retryDelayOnFailover: 100,
      retryDelayOnClusterDown: 100,
      maxRedirections: 64,
      slotsRefreshTimeout: 1000,
    });
    clients.push(c);
    return c;
  };
  /** Every pod ready (by its readiness probe), every node connected and no node failed in every pod's view. */
  const healthy = async (): Promise<boolean> => {
    for (const p of live()) {
      if (!(await probe(p, 'readinessProbe'))) return false;
      const view = await nodes(p.ordinal);
      if (view.length !== live().length || view.some((n) => /fail|handshake|noaddr/.test(n.flags) || n.link !== 'connected')) return false;
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
    port = await freeClusterPort([...Array(8).keys()].flatMap((i) => [address(10 + i), address(40 + i)]));
    for (let i = 0; i < objects.statefulSet.spec.replicas; i++) start(i, 10 + i);
  }, 30_000);

  afterAll(async () => {
    for (const c of clients) c.disconnect();
    await Promise.all(live().map((p) => killPod(p)));
    rmSync(dir, { recursive: true, force: true });
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
    await until('every pod ready and connected', 30_000, async () => ((await healthy()) ? true : undefined), 250);

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
});
