import { execFile } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { networkInterfaces } from 'node:os';
import { connect as tlsConnect, TLSSocket } from 'node:tls';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { makeCa, makeCert, TestCa, TestCert } from './certs';
import { sleep, startTestServer } from './helpers';
import { needs } from './tools';
import { ConfigError, parseConfig } from '../src/config';
import { StateCache } from '../src/server';

const run = promisify(execFile);
const openssl = needs('openssl');
const opensslCli = needs('openssl', 'redis-cli');

/** A non-loopback IPv4 address of this machine (the "pod address"), if it has one. */
function podAddress(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

/** The serial number of the certificate a new TLS connection to the port is shown. */
function peerSerial(port: number, ca: string, servername = 'localhost'): Promise<string> {
  return new Promise((resolve, reject) => {
    const s: TLSSocket = tlsConnect({ host: '127.0.0.1', port, ca, servername }, () => {
      const serial = s.getPeerCertificate().serialNumber;
      s.end();
      resolve(serial);
    });
    s.on('error', reject);
  });
}

/** GET over HTTPS with node's https module; resolves status and body, rejects on a refused handshake. */
interface HttpsGetOptions {
  ca: string;
  servername?: string;
  cert?: string;
  key?: string;
}
function httpsGet(url: string, options: HttpsGetOptions): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { ...options, agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => { body += c; });
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

openssl.describe('TLS listeners', () => {
  let ca: TestCa;
  let leaf: TestCert;
  let server: StateCache;

  beforeAll(async () => {
    ca = makeCa();
    leaf = makeCert(ca, 'state-cache', { dnsNames: ['localhost', 'cache.example.internal'] });
    server = await startTestServer({
      server: { tlsPort: 0 },
      http: { tls: true },
      tls: { certFile: leaf.certFile, keyFile: leaf.keyFile },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  test('ioredis with tls reads and writes; the plaintext port serves the same keyspace', async () => {
    const secure = new Redis({ host: '127.0.0.1', port: server.tlsPort, tls: { ca: ca.cert, servername: 'localhost' }, lazyConnect: true });
    const plain = new Redis({ host: '127.0.0.1', port: server.respPort, lazyConnect: true });
    try {
      await secure.connect();
      await plain.connect();
      expect(await secure.set('tls:key', 'over tls')).toBe('OK');
      expect(await plain.get('tls:key')).toBe('over tls');
      const big = 'x'.repeat(256 * 1024);
      await secure.set('tls:big', big);
      expect(await secure.get('tls:big')).toBe(big);
    } finally {
      secure.disconnect();
      plain.disconnect();
    }
  });

  opensslCli.test('redis-cli --tls --cacert', async () => {
    const { stdout } = await run('redis-cli', ['--tls', '--cacert', ca.certFile, '--sni', 'localhost', '-h', '127.0.0.1', '-p', String(server.tlsPort), 'SET', 'cli:key', 'v1']);
    expect(stdout.trim()).toBe('OK');
    const got = await run('redis-cli', ['--tls', '--cacert', ca.certFile, '-h', '127.0.0.1', '-p', String(server.tlsPort), 'GET', 'cli:key']);
    expect(got.stdout.trim()).toBe('v1');
  });

  opensslCli.test('redis-cli --tls with another CA is refused', async () => {
    const other = makeCa('another CA');
    await expect(run('redis-cli', ['--tls', '--cacert', other.certFile, '-h', '127.0.0.1', '-p', String(server.tlsPort), 'PING']))
      .rejects.toMatchObject({ stderr: expect.stringMatching(/certificate verify failed/i) });
  });

  test('fetch over HTTPS: the key API, probes and metrics', async () => {
    const base = `https://localhost:${server.httpPort}`;
    expect((await httpsGet(`${base}/readyz`, { ca: ca.cert })).status).toBe(200);
    const put = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest(`${base}/v1/keys/rest-key`, { method: 'PUT', ca: ca.cert, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.end('from https');
    });
    expect(put).toBe(201);
    expect(await httpsGet(`${base}/v1/keys/rest-key`, { ca: ca.cert })).toEqual({ status: 200, body: 'from https' });
    expect((await httpsGet(`${base}/metrics`, { ca: ca.cert })).body).toContain('state_cache_');
    // The HTTP port speaks TLS only.
    await expect(fetch(`http://127.0.0.1:${server.httpPort}/readyz`)).rejects.toThrow();
  });

  test('a wrong CA and a wrong server name are refused (RESP and HTTPS)', async () => {
    const other = makeCa('not the issuer');
    /** The error ioredis reports for a TLS connection with these options (its connect() only says "Connection is closed"). */
    const refusal = async (tls: object): Promise<string> => {
      const client = new Redis({ host: '127.0.0.1', port: server.tlsPort, tls, lazyConnect: true, retryStrategy: () => null });
      const errors: string[] = [];
      client.on('error', (e: Error) => errors.push(e.message));
      await expect(client.connect()).rejects.toThrow();
      if (client.status !== 'end') client.disconnect();
      return errors.join('; ');
    };
    expect(await refusal({ ca: other.cert, servername: 'localhost' })).toMatch(/unable to verify the first certificate/);
    expect(await refusal({ ca: ca.cert, servername: 'other.example.internal' })).toMatch(/Hostname\/IP does not match certificate's altnames: Host: other\.example\.internal/);
    await expect(httpsGet(`https://127.0.0.1:${server.httpPort}/readyz`, { ca: other.cert, servername: 'localhost' })).rejects.toThrow(/unable to verify the first certificate/);
    await expect(httpsGet(`https://127.0.0.1:${server.httpPort}/readyz`, { ca: ca.cert, servername: 'wrong.example.internal' })).rejects.toThrow(/does not match certificate's altnames/);
  });
});

openssl.test('rotation: replaced files reach new connections, open ones continue, no restart', async () => {
  const ca = makeCa();
  const first = makeCert(ca, 'first', { serial: 'A1' });
  const second = makeCert(ca, 'second', { serial: 'B2' });
  const certFile = `${ca.dir}/tls.crt`;
  const keyFile = `${ca.dir}/tls.key`;
  copyFileSync(first.certFile, certFile);
  copyFileSync(first.keyFile, keyFile);
  const server = await startTestServer({
    server: { tlsPort: 0 }, http: { tls: true }, tls: { certFile, keyFile, reloadIntervalMs: 100 },
  });
  const open = new Redis({ host: '127.0.0.1', port: server.tlsPort, tls: { ca: ca.cert, servername: 'localhost' }, lazyConnect: true });
  try {
    await open.connect();
    await open.set('before', '1');
    expect(await peerSerial(server.tlsPort, ca.cert)).toBe('A1');
    // As the kubelet swaps a Secret's files; a half-written pair is never installed.
    copyFileSync(second.certFile, certFile);
    await sleep(400);
    expect(await peerSerial(server.tlsPort, ca.cert)).toBe('A1');
    copyFileSync(second.keyFile, keyFile);
    const deadline = Date.now() + 10_000;
    let serial = '';
    while (Date.now() < deadline && (serial = await peerSerial(server.tlsPort, ca.cert)) !== 'B2') await sleep(100);
    expect(serial).toBe('B2');
    const https = await new Promise<string>((resolve, reject) => {
      const req = httpsRequest(`https://localhost:${server.httpPort}/healthz`, { ca: ca.cert, agent: false }, (res) => {
        resolve((res.socket as TLSSocket).getPeerCertificate().serialNumber);
        res.resume();
      });
      req.on('error', reject);
      req.end();
    });
    expect(https).toBe('B2');
    // The connection made before the rotation goes on.
    expect(await open.get('before')).toBe('1');
    expect(server.tlsReloader!.current.serial).toBe('B2');
  } finally {
    if (open.status !== 'end') open.disconnect();
    await server.close();
  }
});

openssl.describe('mutual TLS', () => {
  let ca: TestCa;
  let server: StateCache;
  let client: TestCert;

  beforeAll(async () => {
    ca = makeCa();
    const leaf = makeCert(ca, 'server');
    client = makeCert(ca, 'client');
    server = await startTestServer({
      server: { plaintext: false, tlsPort: 0, bind: '0.0.0.0' },
      http: { tls: true },
      tls: { certFile: leaf.certFile, keyFile: leaf.keyFile, caFile: ca.certFile, clientAuth: 'require' },
    });
  });
  afterAll(async () => {
    await server.close();
  });

  test('TLS-only: no plaintext RESP port listens', () => {
    expect(server.respPort).toBe(0);
    expect(server.tlsPort).toBeGreaterThan(0);
  });

  test('a client certificate from the CA is let in; none is refused', async () => {
    const ok = new Redis({ host: '127.0.0.1', port: server.tlsPort, tls: { ca: ca.cert, servername: 'localhost', cert: client.cert, key: client.key }, lazyConnect: true });
    try {
      await ok.connect();
      expect(await ok.ping()).toBe('PONG');
    } finally {
      ok.disconnect();
    }
    const none = new Redis({ host: '127.0.0.1', port: server.tlsPort, tls: { ca: ca.cert, servername: 'localhost' }, lazyConnect: true, retryStrategy: () => null, maxRetriesPerRequest: 0 });
    none.on('error', () => undefined);
    // TLS 1.3: the handshake completes for the client, the server then refuses the missing certificate.
    await expect(none.connect().then(() => none.ping())).rejects.toThrow(/certificate required|Connection is closed|socket hang up|ECONNRESET/);
    if (none.status !== 'end') none.disconnect();
  });

  test('HTTPS: probes answer without a client certificate, the key API needs one', async () => {
    const base = `https://localhost:${server.httpPort}`;
    expect((await httpsGet(`${base}/readyz`, { ca: ca.cert })).status).toBe(200);
    const refused = await httpsGet(`${base}/v1/keys/k`, { ca: ca.cert });
    expect(refused.status).toBe(403);
    expect(JSON.parse(refused.body).error).toBe('client_certificate_required');
    const allowed = await httpsGet(`${base}/v1/keys/k`, { ca: ca.cert, cert: client.cert, key: client.key });
    expect(allowed.status).toBe(404);
  });
});

describe('protected mode on HTTP without a password', () => {
  const address = podAddress();
  const withAddress = address === undefined ? test.skip : test;

  withAddress('/v1/keys refuses a non-loopback peer; /readyz and /metrics answer it; loopback gets the keys', async () => {
    const server = await startTestServer({ http: { bind: '0.0.0.0' } });
    try {
      const remote = `http://${address}:${server.httpPort}`;
      const refused = await fetch(`${remote}/v1/keys/secret`);
      expect(refused.status).toBe(403);
      expect(await refused.json()).toEqual({
        error: 'loopback_only',
        message: 'without a password the key API answers loopback clients only (protected mode); configure auth.passwordEnv or auth.passwordFile, or tls.clientAuth require',
      });
      expect((await fetch(`${remote}/v1/keys/secret`, { method: 'PUT', body: 'x' })).status).toBe(403);
      expect((await fetch(`${remote}/readyz`)).status).toBe(200);
      expect((await fetch(`${remote}/metrics`)).status).toBe(200);
      expect((await fetch(`http://127.0.0.1:${server.httpPort}/v1/keys/secret`, { method: 'PUT', body: 'x' })).status).toBe(201);
    } finally {
      await server.close();
    }
  });

  withAddress('with a password a non-loopback peer reaches the keys with it', async () => {
    const server = await startTestServer({ http: { bind: '0.0.0.0' }, auth: { passwordEnv: 'PW' } }, undefined, { PW: 'hunter2' });
    try {
      const remote = `http://${address}:${server.httpPort}`;
      expect((await fetch(`${remote}/v1/keys/k`)).status).toBe(401);
      expect((await fetch(`${remote}/v1/keys/k`, { headers: { Authorization: 'Bearer hunter2' } })).status).toBe(404);
    } finally {
      await server.close();
    }
  });
});

describe('bad TLS config is refused at start with the path and the fix', () => {
  function problems(fn: () => unknown): string[] {
    try {
      fn();
    } catch (e) {
      if (e instanceof ConfigError) return e.problems.map((p) => `${p.path}: ${p.message}`);
      throw e;
    }
    throw new Error('no ConfigError');
  }

  test('schema and cross-field checks', () => {
    expect(problems(() => parseConfig({ server: { tlsPort: 6380 } }))).toEqual([
      '/tls/certFile: server.tlsPort needs a certificate and its key: set tls.certFile and tls.keyFile (e.g. tls.crt and tls.key of a mounted kubernetes.io/tls Secret)',
    ]);
    expect(problems(() => parseConfig({ server: { plaintext: false } }))).toEqual([
      '/server/plaintext: with plaintext false and no tlsPort no RESP port would listen; give server.tlsPort (TLS-only) or set plaintext to true',
    ]);
    expect(problems(() => parseConfig({ server: { tlsPort: 6380, tlsBind: '0.0.0.0' }, tls: { certFile: '/c', keyFile: '/k' } }))).toEqual([
      '/server/tlsBind: the TLS port binding 0.0.0.0 without a password or client certificates would expose every key; set auth.passwordEnv or auth.passwordFile, or tls.clientAuth to require, or set server.protectedMode to false',
    ]);
    expect(problems(() => parseConfig({ server: { tlsPort: 6380 }, tls: { certFile: '/c', keyFile: '/k', clientAuth: 'require' } }))).toEqual([
      '/tls/caFile: clientAuth require needs the CA that client certificates chain to; set tls.caFile (e.g. ca.crt of the Secret)',
    ]);
    expect(problems(() => parseConfig({ tls: { certFile: '/c', keyFile: '/k' } }))).toEqual([
      '/tls: a certificate is given but no listener uses it; set server.tlsPort and/or http.tls, or drop the tls section',
    ]);
    // HTTP on the pod address without a password is no longer refused: the key API stays on loopback.
    expect(parseConfig({ http: { bind: '0.0.0.0' } }).http.bind).toBe('0.0.0.0');
  });

  openssl.test('missing file, key not matching the certificate, expired certificate', async () => {
    const ca = makeCa();
    const a = makeCert(ca, 'a');
    const b = makeCert(ca, 'b');
    const expired = makeCert(ca, 'old', { days: -1, serial: 'DEAD01' });
    const start = (tls: object) => startTestServer({ server: { tlsPort: 0 }, tls });
    await expect(start({ certFile: `${ca.dir}/missing.crt`, keyFile: a.keyFile })).rejects.toThrow(
      `/tls/certFile: cannot read the certificate ${ca.dir}/missing.crt (ENOENT); mount the Secret holding it there (e.g. a kubernetes.io/tls Secret) or fix the path`);
    await expect(start({ certFile: a.certFile, keyFile: b.keyFile })).rejects.toThrow(
      `/tls/keyFile: the key in ${b.keyFile} does not match the certificate in ${a.certFile} (serial ${a.serial}); give the key the certificate was issued for (both from the same Secret)`);
    await expect(start({ certFile: expired.certFile, keyFile: expired.keyFile })).rejects.toThrow(
      `/tls/certFile: the certificate in ${expired.certFile} (serial DEAD01) expired on 2020-02-01T00:00:00.000Z; renew it (cert-manager renews before expiry when its Certificate is healthy: check its status)`);
    const garbage = `${ca.dir}/garbage.crt`;
    writeFileSync(garbage, 'not a certificate\n');
    await expect(start({ certFile: garbage, keyFile: a.keyFile })).rejects.toThrow(/\/tls\/certFile: .*garbage\.crt is not a PEM certificate/);
  });
});
