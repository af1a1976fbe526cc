/**
 * Starts state-cache containers of synthesised manifests the way the kubelet
 * and the container image would, on one host. What differs from a real pod is
 * listed at the top of test/run-as-pod.test.ts; every such rewrite is made here.
 */
import { ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { dirname, join } from 'node:path';
import { imageDefaults } from '../../runtime/bench/churn';

/** The runtime directory: the image's WORKDIR holds its lib/ and package.json. */
export const RUNTIME_DIR = join(__dirname, '..', '..', 'runtime');
const STATE_CACHE_IMAGE = /^ghcr\.io\/cdk8s-state\/state-cache[:@]/;

export type Manifest = { kind: string; metadata: { name: string; namespace?: string }; [k: string]: any };
/** Secret name -> key -> value, standing in for the Secrets the cluster would hold. */
export type SecretFixtures = Record<string, Record<string, string>>;

export interface CacheContainer {
  readonly workload: Manifest;
  readonly podSpec: any;
  readonly container: any;
}

/**
 * Every state-cache container of every workload: native sidecars (init
 * containers with restartPolicy Always) and main containers, both recognised
 * by the state-cache image.
 */
export function findCacheContainers(manifests: Manifest[]): CacheContainer[] {
  const found: CacheContainer[] = [];
  for (const m of manifests) {
    const podSpec = m.spec?.template?.spec;
    if (!podSpec) continue;
    const sidecars = (podSpec.initContainers ?? []).filter((c: any) => c.restartPolicy === 'Always');
    for (const c of [...sidecars, ...podSpec.containers]) {
      if (STATE_CACHE_IMAGE.test(c.image)) found.push({ workload: m, podSpec, container: c });
    }
  }
  return found;
}

/** The state-cache config a container reads: config.json of the ConfigMap mounted at /etc/state-cache, as synthesised. */
export function synthesisedConfig(manifests: Manifest[], cache: CacheContainer): any {
  const mount = (cache.container.volumeMounts ?? []).find((m: any) => m.mountPath === '/etc/state-cache');
  const volume = (cache.podSpec.volumes ?? []).find((v: any) => v.name === mount?.name);
  const cm = manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === volume?.configMap?.name);
  if (!cm) throw new Error(`${cache.workload.metadata.name}/${cache.container.name}: no ConfigMap mounted at /etc/state-cache`);
  return JSON.parse(cm.data['config.json']);
}

/** `$(VAR)` expansion as the kubelet does it: `$$` escapes, unknown references stay as written. */
export function expand(s: string, env: Record<string, string>): string {
  return s.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (all, name) => {
    if (all === '$$') return '$';
    return Object.prototype.hasOwnProperty.call(env, name) ? env[name] : all;
  });
}

function secretValue(secrets: SecretFixtures, name: string, key: string): string {
  const value = secrets[name]?.[key];
  if (value === undefined) throw new Error(`no fixture for key "${key}" of Secret "${name}": the pod would not start (CreateContainerConfigError)`);
  return value;
}

/** The container's environment, resolved in order as the kubelet does (later entries may refer to earlier ones). */
export function containerEnv(container: any, pod: { name: string; namespace: string; ip?: string }, secrets: SecretFixtures): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of container.env ?? []) {
    if (e.value !== undefined) {
      env[e.name] = expand(e.value, env);
    } else if (e.valueFrom?.secretKeyRef) {
      env[e.name] = secretValue(secrets, e.valueFrom.secretKeyRef.name, e.valueFrom.secretKeyRef.key);
    } else if (e.valueFrom?.fieldRef) {
      const path = e.valueFrom.fieldRef.fieldPath;
      const fields: Record<string, string> = { 'metadata.name': pod.name, 'metadata.namespace': pod.namespace, 'status.podIP': pod.ip ?? '127.0.0.1' };
      if (!(path in fields)) throw new Error(`env ${e.name}: fieldRef ${path} is not simulated`);
      env[e.name] = fields[path];
    } else {throw new Error(`env ${e.name}: ${JSON.stringify(e.valueFrom)} is not simulated`);}
  }
  return env;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** Where a host name of the config goes on this host (127.0.0.1 unless `host` says otherwise); serverName keeps TLS checking the original name. */
export interface LoopbackTarget { readonly port: number; readonly host?: string; readonly tlsServerName?: boolean }

export interface PodOptions {
  readonly manifests: Manifest[];
  readonly cache: CacheContainer;
  readonly podName: string;
  /** Directory standing in for the pod's filesystem: mount path P becomes root + P. */
  readonly root: string;
  readonly secrets: SecretFixtures;
  /** Host name (a Service or pod DNS name) -> loopback port. Any other non-loopback host fails the start. */
  readonly hosts: Record<string, LoopbackTarget>;
  readonly respPort: number;
  readonly httpPort: number;
  /** For the pods of a cluster: the loopback RESP and HTTP port of each ordinal. */
  readonly clusterPorts?: { resp: number[]; http: number[] };
  /** Environment the test adds (e.g. NODE_OPTIONS preloading a DNS stub); listed among the deviations where used. */
  readonly extraEnv?: Record<string, string>;
  /** Keep this HTTP bind address (e.g. the pod's 0.0.0.0) instead of 127.0.0.1. */
  readonly httpBind?: string;
  /** The loopback port for server.tlsPort, when the config has one. */
  readonly tlsPort?: number;
}

export interface RunningPod {
  readonly name: string;
  readonly child: ChildProcess;
  readonly respPort: number;
  readonly httpPort: number;
  /** The container's environment as started. */
  readonly env: Record<string, string>;
  /** The config as rewritten for this host. */
  readonly config: any;
  readonly logs: string[];
  readonly exited: Promise<number | string>;
}

/**
 * Lays out the pod's volumes under `root`, rewrites the config for loopback
 * and starts `node lib/main.js` with the container's command/args (or the
 * image's CMD) and environment, in the runtime directory.
 */
export async function startPod(o: PodOptions): Promise<RunningPod> {
  const { container, podSpec, workload } = o.cache;
  const namespace = workload.metadata.namespace ?? 'default';
  const mounts: string[] = (container.volumeMounts ?? []).map((m: any) => m.mountPath);
  const remap = (p: string): string => (mounts.some((m) => p === m || p.startsWith(m.endsWith('/') ? m : `${m}/`)) ? join(o.root, p) : p);

  // Volumes: ConfigMap and Secret data as files (with their items), the rest (emptyDir, claims) as empty directories.
  for (const vm of container.volumeMounts ?? []) {
    const dir = join(o.root, vm.mountPath);
    mkdirSync(dir, { recursive: true });
    const volume = (podSpec.volumes ?? []).find((v: any) => v.name === vm.name);
    let data: Record<string, string> = {};
    let items: { key: string; path: string }[] | undefined;
    if (volume?.configMap) {
      const cm = o.manifests.find((m) => m.kind === 'ConfigMap' && m.metadata.name === volume.configMap.name);
      if (!cm) throw new Error(`volume ${vm.name}: ConfigMap ${volume.configMap.name} is not in the manifests`);
      data = cm.data ?? {};
      items = volume.configMap.items;
    } else if (volume?.secret) {
      const name = volume.secret.secretName;
      items = volume.secret.items;
      data = Object.fromEntries((items ?? Object.keys(o.secrets[name] ?? {}).map((key) => ({ key, path: key })))
        .map((it) => [it.key, secretValue(o.secrets, name, it.key)]));
    }
    for (const it of items ?? Object.keys(data).map((key) => ({ key, path: key }))) {
      let content = data[it.key];
      if (content === undefined) throw new Error(`volume ${vm.name}: no key ${it.key}`);
      if (volume?.configMap && it.path.endsWith('.json')) content = JSON.stringify(rewriteConfig(JSON.parse(content), remap, o), null, 2);
      mkdirSync(dirname(join(dir, it.path)), { recursive: true });
      writeFileSync(join(dir, it.path), content);
    }
  }
  const image = imageDefaults();
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOSTNAME: o.podName, // the container runtime sets it to the pod name
    ...image.env,
    TMPDIR: join(o.root, '/tmp'), // the pod's /tmp is its tmp emptyDir
    ...containerEnv(container, { name: o.podName, namespace }, o.secrets),
    ...o.extraEnv,
  };
  // As the kubelet combines them: command replaces the image's ENTRYPOINT and drops its CMD; args replace CMD.
  // This image has no ENTRYPOINT, so its CMD is the whole command line.
  const command: string[] = container.command ?? (container.args ? [] : image.cmd.slice(0, 1));
  const args: string[] = container.args ?? (container.command ? [] : image.cmd.slice(1));
  const argv = [...command, ...args].map((a) => remap(expand(a, env)));
  const configArg = argv.indexOf('--config');
  if (configArg < 0) throw new Error(`${o.podName}: no --config in ${argv.join(' ')}`);
  const config = JSON.parse(readFileSync(argv[configArg + 1], 'utf8'));
  const exe = argv[0] === 'node' ? process.execPath : argv[0];
  const child = spawn(exe, argv.slice(1), { cwd: RUNTIME_DIR, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  child.stdout!.on('data', (d: Buffer) => logs.push(d.toString()));
  child.stderr!.on('data', (d: Buffer) => logs.push(d.toString()));
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(signal ?? code ?? -1)));
  return { name: o.podName, child, respPort: o.respPort, httpPort: o.httpPort, env, config, logs, exited };
}

/**
 * The loopback rewrites of a state-cache config: paths under a mount, fixed
 * ports and bind addresses, Service/pod host names, and the cluster's
 * announced addresses.
 */
function rewriteConfig(config: any, remap: (p: string) => string, o: PodOptions): any {
  const walk = (v: any): any => {
    if (typeof v === 'string') return v.startsWith('/') ? remap(v) : v;
    if (Array.isArray(v)) return v.map(walk);
    if (v && typeof v === 'object') {
      const out: any = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]));
      if (typeof out.host === 'string' && out.host !== '127.0.0.1' && out.host !== 'localhost') {
        const target = o.hosts[out.host];
        if (!target) throw new Error(`config of ${o.podName}: host ${out.host} has no loopback mapping in the test`);
        if (target.tlsServerName && out.tls && out.tls.mode !== 'disable' && out.tls.serverName === undefined) out.tls = { ...out.tls, serverName: out.host };
        out.host = target.host ?? '127.0.0.1';
        out.port = target.port;
      }
      return out;
    }
    return v;
  };
  const c = walk(config);
  c.server = { ...c.server, bind: '127.0.0.1', port: o.respPort };
  if (c.server.tlsPort !== undefined) {
    if (o.tlsPort === undefined) throw new Error(`config of ${o.podName}: server.tlsPort needs a tlsPort in the test`);
    c.server = { ...c.server, tlsPort: o.tlsPort, ...(c.server.tlsBind !== undefined ? { tlsBind: '127.0.0.1' } : {}) };
  }
  c.http = { ...c.http, bind: o.httpBind ?? '127.0.0.1', port: o.httpPort };
  if (c.cluster?.enabled) {
    if (!o.clusterPorts) throw new Error(`config of ${o.podName}: cluster mode needs clusterPorts`);
    c.cluster = {
      ...c.cluster,
      announceHosts: o.clusterPorts.resp.map(() => '127.0.0.1'),
      announcePorts: o.clusterPorts.resp,
      announceHttpPorts: o.clusterPorts.http,
    };
  }
  return c;
}

/** Waits for 200 on /readyz, or fails with the pod's logs when it exits or the time is up. */
export async function waitReady(pod: RunningPod, ms = 30_000): Promise<void> {
  let gone: number | string | undefined;
  void pod.exited.then((how) => { gone = how; });
  const end = Date.now() + ms;
  let last = '';
  while (Date.now() < end) {
    if (gone !== undefined) throw new Error(`state-cache of ${pod.name} exited (${gone}) before ready:\n${pod.logs.join('')}`);
    try {
      const res = pod.config.http?.tls
        ? await httpsStatus(`https://127.0.0.1:${pod.httpPort}/readyz`)
        : await fetch(`http://127.0.0.1:${pod.httpPort}/readyz`).then(async (r) => ({ status: r.status, text: await r.text() }));
      last = `${res.status} ${res.text}`;
      if (res.status === 200) return;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`state-cache of ${pod.name} not ready within ${ms} ms (last /readyz: ${last}):\n${pod.logs.join('')}`);
}

/** GET over HTTPS without verifying the certificate, as the kubelet's probes do. */
function httpsStatus(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsGet(url, { rejectUnauthorized: false, agent: false }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => { text += d; });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
  });
}

/** SIGTERM, as the kubelet sends it, then SIGKILL after the grace period of the test. */
export async function stopPod(pod: RunningPod, graceMs = 10_000): Promise<number | string> {
  if (pod.child.exitCode === null && pod.child.signalCode === null) pod.child.kill('SIGTERM');
  const timer = setTimeout(() => pod.child.kill('SIGKILL'), graceMs);
  const how = await pod.exited;
  clearTimeout(timer);
  return how;
}
