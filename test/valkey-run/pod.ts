/**
 * Runs the synthesised objects of a Valkey ExternalCacheCluster as their pods
 * and Job would run, on one host, with `redis-server` / `redis-cli` standing
 * in for `valkey-server` / `valkey-cli` (the scripts pick whichever exists).
 *
 * Where this deviates from a real pod (every rewrite is made here):
 * - Paths: every volumeMount path P becomes <dir of that volume>; the
 *   ConfigMap's files, the container's args and env values are rewritten the
 *   same way (e.g. `/etc/valkey/lib.sh`, `dir /data`). Claims are
 *   directories that outlive the pod (deleting one is "the volume was lost");
 *   emptyDirs are new directories per start.
 * - Network: pods share the host's loopback instead of each having a network
 *   namespace. Each pod gets its own address 127.x.y.z (status.podIP) and the
 *   `bind` line of valkey.conf becomes `bind <that address>` (a pod binds
 *   `*` in its own namespace); every pod uses the same port, VALKEY_PORT is
 *   set to it (6379 may be taken on this host), and the bus port is port +
 *   10000 as in a pod.
 * - DNS: the pods' names resolve from a table the test keeps (LoopbackDns):
 *   `getent` on the scripts' PATH is a stub that reads it, ioredis clients in
 *   the test get a natMap, and Node processes (state-cache) a preloaded
 *   dns.lookup that reads it. /etc/hosts is not touched.
 * - Processes: a container is a process group (`sh start.sh` becomes the
 *   server by exec; the re-MEET loop runs beside it). kill -9 of a pod kills
 *   the group; a graceful stop runs the preStop command, then SIGTERMs the
 *   server, then kills what is left (as the container runtime does when PID
 *   1 exits). Probes are run on demand, not on a timer.
 * - Not simulated: securityContext (user, read-only root), resources, the
 *   scheduler (spreading), NetworkPolicies, the kubelet's restarts.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { containerEnv, expand, Manifest, SecretFixtures } from '../run-as-pod/pod';

/** Names the test resolves: the headless Service's pod records, kept in a file the stubs read. */
export class LoopbackDns {
  /** The hosts table (`address name` per line), read by the stubs on every lookup. */
  public readonly file: string;
  /** A directory with a `getent` stub, first on the scripts' PATH. */
  public readonly binDir: string;
  /** A module for `node --require`: dns.lookup answers from the table first. */
  public readonly nodeRequire: string;
  private readonly table = new Map<string, string>();

  constructor(dir: string) {
    this.file = join(dir, 'hosts');
    this.binDir = join(dir, 'bin');
    this.nodeRequire = join(__dirname, 'dns-stub.js');
    mkdirSync(this.binDir, { recursive: true });
    writeFileSync(this.file, '');
    const getent = join(this.binDir, 'getent');
    writeFileSync(getent, [
      '#!/bin/sh',
      '# Test stub of `getent hosts NAME`: answers from the test\'s table, as the',
      '# headless Service\'s DNS records would.',
      '[ "$1" = hosts ] || [ "$1" = ahosts ] || [ "$1" = ahostsv4 ] || exit 1',
      `awk -v n="$2" '$2 == n { print $1 "  " $2; found = 1; exit } END { exit found ? 0 : 2 }' '${this.file}'`,
      '',
    ].join('\n'));
    chmodSync(getent, 0o755);
  }

  set(name: string, address: string): void {
    this.table.set(name, address);
    writeFileSync(this.file, [...this.table].map(([n, a]) => `${a} ${n}\n`).join(''));
  }

  delete(name: string): void {
    this.table.delete(name);
    writeFileSync(this.file, [...this.table].map(([n, a]) => `${a} ${n}\n`).join(''));
  }

  lookup(name: string): string | undefined {
    return this.table.get(name);
  }

  /** An ioredis natMap: `name:port` as the cluster announces it -> the address the table has. */
  natMap(): (key: string) => { host: string; port: number } | null {
    return (key) => {
      const i = key.lastIndexOf(':');
      const address = this.table.get(key.slice(0, i));
      return address ? { host: address, port: Number(key.slice(i + 1)) } : null;
    };
  }
}

/** A random block of loopback addresses for this test run: 127.a.b.<host>. */
export function loopbackBlock(): (host: number) => string {
  const a = 16 + Math.floor(Math.random() * 230);
  const b = 16 + Math.floor(Math.random() * 230);
  return (host) => `127.${a}.${b}.${host}`;
}

function canListen(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = createServer();
    s.once('error', () => resolve(false));
    s.listen(port, host, () => s.close(() => resolve(true)));
  });
}

/**
 * A port P with P and P + 10000 (the bus) free on every (loopback) address given. A wildcard
 * listener on P elsewhere makes these binds fail too, so it is caught without binding the wildcard.
 */
export async function freeClusterPort(addresses: string[]): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = 20000 + Math.floor(Math.random() * 35000);
    let ok = true;
    for (const host of addresses) {
      if (!(await canListen(host, port)) || !(await canListen(host, port + 10000))) {
        ok = false;
        break;
      }
    }
    if (ok) return port;
  }
  throw new Error('no free port pair P, P+10000 found in 50 attempts');
}

/** The Valkey workloads of a synthesised cluster. */
export interface ValkeyObjects {
  readonly statefulSet: Manifest;
  readonly job: Manifest;
  readonly configMap: Manifest;
  readonly podDomain: string;
}

export function valkeyObjects(manifests: Manifest[]): ValkeyObjects {
  const isValkey = (c: any) => /(^|\/)(valkey|redis)[^/]*[:@]/.test(c.image ?? '');
  const statefulSet = manifests.find((m) => m.kind === 'StatefulSet' && m.spec.template.spec.containers.some(isValkey));
  const job = manifests.find((m) => m.kind === 'Job' && m.spec.template.spec.containers.some(isValkey));
  if (!statefulSet || !job) throw new Error('no Valkey StatefulSet and bootstrap Job in the manifests');
  const cmVolume = statefulSet.spec.template.spec.volumes.find((v: any) => v.configMap);
  const configMap = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === cmVolume.configMap.name)!;
  const ns = statefulSet.metadata.namespace ?? 'default';
  return { statefulSet, job, configMap, podDomain: `${statefulSet.spec.serviceName}.${ns}.svc.cluster.local` };
}

export interface RunningContainer {
  readonly name: string;
  readonly child: ChildProcess;
  readonly logs: string[];
  readonly exited: Promise<number | string>;
  /** The container's environment as started. */
  readonly env: Record<string, string>;
  /** Mount path -> directory on this host. */
  readonly mounts: Record<string, string>;
}

export interface ValkeyPod extends RunningContainer {
  readonly ordinal: number;
  readonly address: string;
  readonly port: number;
  readonly container: any;
  readonly grace: number;
}

interface Layout {
  readonly manifests: Manifest[];
  readonly podSpec: any;
  readonly container: any;
  /** Directory of this container instance (emptyDirs, the ConfigMap files). */
  readonly root: string;
  /** Claim name -> directory (outlives the instance). */
  readonly claims: Record<string, string>;
  readonly address?: string;
}

/** Volumes laid out as directories, and the path rewrite that goes with them. */
function layout(o: Layout): { mounts: Record<string, string>; remap: (text: string) => string } {
  const mounts: Record<string, string> = {};
  for (const vm of o.container.volumeMounts ?? []) {
    mounts[vm.mountPath] = o.claims[vm.name] ?? join(o.root, vm.mountPath);
    mkdirSync(mounts[vm.mountPath], { recursive: true });
  }
  const paths = Object.keys(mounts).sort((a, b) => b.length - a.length);
  const pattern = new RegExp(`(^|[\\s'"=:])(${paths.map((p) => p.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|')})(?=$|[/\\s'"])`, 'gm');
  const remap = (text: string) => text.replace(pattern, (_all, before: string, path: string) => `${before}${mounts[path]}`);
  for (const vm of o.container.volumeMounts ?? []) {
    const volume = (o.podSpec.volumes ?? []).find((v: any) => v.name === vm.name);
    if (!volume?.configMap) continue;
    const cm = o.manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === volume.configMap.name);
    if (!cm) throw new Error(`volume ${vm.name}: ConfigMap ${volume.configMap.name} is not in the manifests`);
    for (const [file, content] of Object.entries<string>(cm.data ?? {})) {
      let text = remap(content);
      if (file === 'valkey.conf' && o.address) text = text.replace(/^bind .*$/m, `bind ${o.address}`);
      mkdirSync(dirname(join(mounts[vm.mountPath], file)), { recursive: true });
      writeFileSync(join(mounts[vm.mountPath], file), text);
    }
  }
  return { mounts, remap };
}

function run(name: string, argv: string[], env: Record<string, string>, mounts: Record<string, string>): RunningContainer {
  const child = spawn(argv[0], argv.slice(1), { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  const logs: string[] = [];
  child.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  return { name, child, logs, exited, env, mounts };
}

export interface PodRun {
  readonly objects: ValkeyObjects;
  readonly manifests: Manifest[];
  readonly ordinal: number;
  readonly address: string;
  readonly port: number;
  readonly dns: LoopbackDns;
  readonly secrets: SecretFixtures;
  /** Where this pod's claims live (kept across restarts). */
  readonly claimsDir: string;
  /** A new directory for this start's emptyDirs and ConfigMap files. */
  readonly scratchDir: string;
}

function baseEnv(dns: LoopbackDns, name: string): Record<string, string> {
  return { PATH: `${dns.binDir}:${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`, HOSTNAME: name };
}

/** Starts pod `ordinal` of the StatefulSet as the kubelet would (see the deviations above); publishes its address in the DNS table. */
export function startValkeyPod(o: PodRun): ValkeyPod {
  const sts = o.objects.statefulSet;
  const podSpec = sts.spec.template.spec;
  const container = podSpec.containers[0];
  const name = `${sts.metadata.name}-${o.ordinal}`;
  const claims = Object.fromEntries((sts.spec.volumeClaimTemplates ?? []).map((t: any) => [t.metadata.name, join(o.claimsDir, t.metadata.name)]));
  const root = mkdtempSync(join(o.scratchDir, `${name}-`));
  const { mounts, remap } = layout({ manifests: o.manifests, podSpec, container, root, claims, address: o.address });
  const own = containerEnv(container, { name, namespace: sts.metadata.namespace ?? 'default', ip: o.address }, o.secrets);
  const env: Record<string, string> = { ...baseEnv(o.dns, name), ...Object.fromEntries(Object.entries(own).map(([k, v]) => [k, remap(v)])) };
  env.VALKEY_PORT = String(o.port);
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a: string) => remap(expand(a, env)));
  o.dns.set(`${name}.${o.objects.podDomain}`, o.address);
  const running = run(name, argv, env, mounts);
  return { ...running, ordinal: o.ordinal, address: o.address, port: o.port, container, grace: podSpec.terminationGracePeriodSeconds ?? 30 };
}

/** Runs a command in the pod's container (exec probe, preStop) with its environment; resolves with the exit status and output. */
export function execInPod(pod: RunningContainer, command: string[], timeoutMs = 30_000): Promise<{ code: number | string; output: string }> {
  const remapped = command.map((a) => {
    for (const [path, dir] of Object.entries(pod.mounts).sort((x, y) => y[0].length - x[0].length)) {
      if (a === path || a.startsWith(`${path}/`)) return dir + a.slice(path.length);
    }
    return a;
  });
  return new Promise((resolve) => {
    const child = spawn(remapped[0], remapped.slice(1), { env: pod.env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    let output = '';
    child.stdout!.on('data', (d: Buffer) => { output += d.toString(); });
    child.stderr!.on('data', (d: Buffer) => { output += d.toString(); });
    const timer = setTimeout(() => { try { process.kill(-child.pid!, 'SIGKILL'); } catch { /* gone */ } }, timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: signal ?? code ?? -1, output });
    });
  });
}

/** The readiness or liveness probe of the pod's container, run once. */
export async function probe(pod: ValkeyPod, which: 'readinessProbe' | 'livenessProbe' | 'startupProbe'): Promise<boolean> {
  const p = pod.container[which];
  // The probe's own timeout plus slack: this host runs every pod (and other work) on two cores.
  return (await execInPod(pod, p.exec.command, (p.timeoutSeconds ?? 1) * 1000 + 10_000)).code === 0;
}

function alive(c: RunningContainer): boolean {
  return c.child.exitCode === null && c.child.signalCode === null;
}

/** kill -9 of the whole container (server, re-MEET loop, anything they started). */
export async function killPod(c: RunningContainer): Promise<void> {
  try {
    process.kill(-c.child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
  await c.exited;
}

/**
 * A graceful stop as the kubelet does it: the preStop command (at most the
 * grace period), SIGTERM to the server, SIGKILL of what is left after the
 * grace period or once the server has exited. Returns the server's exit and
 * how long the preStop took.
 */
export async function stopPodGracefully(pod: ValkeyPod): Promise<{ exit: number | string; preStopMs: number; preStopOutput: string }> {
  const start = Date.now();
  let preStopOutput = '';
  const preStop = pod.container.lifecycle?.preStop?.exec?.command;
  if (preStop && alive(pod)) preStopOutput = (await execInPod(pod, preStop, pod.grace * 1000)).output;
  const preStopMs = Date.now() - start;
  if (alive(pod)) pod.child.kill('SIGTERM');
  const left = Math.max(1000, pod.grace * 1000 - preStopMs);
  const timer = setTimeout(() => void killPod(pod), left);
  const exit = await pod.exited;
  clearTimeout(timer);
  await killPod(pod);
  return { exit, preStopMs, preStopOutput };
}

/** Runs the bootstrap Job's container to completion (or kills it after timeoutMs). */
export async function runJob(o: {
  objects: ValkeyObjects; manifests: Manifest[]; port: number; dns: LoopbackDns; secrets: SecretFixtures; scratchDir: string; timeoutMs: number;
}): Promise<{ code: number | string; output: string }> {
  const job = o.objects.job;
  const podSpec = job.spec.template.spec;
  const container = podSpec.containers[0];
  const name = `${job.metadata.name}-x7k2p`;
  const root = mkdtempSync(join(o.scratchDir, `${name}-`));
  const { mounts, remap } = layout({ manifests: o.manifests, podSpec, container, root, claims: {} });
  const own = containerEnv(container, { name, namespace: job.metadata.namespace ?? 'default' }, o.secrets);
  const env: Record<string, string> = { ...baseEnv(o.dns, name), ...Object.fromEntries(Object.entries(own).map(([k, v]) => [k, remap(v)])) };
  env.VALKEY_PORT = String(o.port);
  const argv = [...(container.command ?? []), ...(container.args ?? [])].map((a: string) => remap(expand(a, env)));
  const c = run(name, argv, env, mounts);
  const deadline = Math.min(o.timeoutMs, (job.spec.activeDeadlineSeconds ?? 600) * 1000);
  const timer = setTimeout(() => void killPod(c), deadline);
  const code = await c.exited;
  clearTimeout(timer);
  return { code, output: c.logs.join('') };
}
