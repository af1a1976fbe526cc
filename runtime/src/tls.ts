import { createHash, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { SecureContextOptions } from 'node:tls';
import type { Config, ConfigProblem } from './config';
import { ConfigError } from './config';

/*
 * The server side of TLS: the certificate, key and CA read from files (a
 * mounted Secret), checked before anything listens, and read again every
 * `tls.reloadIntervalMs` so a rotated certificate (cert-manager renews it,
 * the kubelet swaps the Secret's files) reaches new connections without a
 * restart. Open connections keep the context they were made with.
 */

type TlsConfig = Config['tls'];

/** The files as read, and what listeners need from them. */
export interface TlsMaterial {
  readonly cert: Buffer;
  readonly key: Buffer;
  readonly ca?: Buffer;
  /** The leaf certificate's serial number (hex, upper case as node prints it). */
  readonly serial: string;
  readonly validTo: Date;
  /** A digest of all three files, to tell a rotation from a re-read. */
  readonly digest: string;
}

function problem(path: string, message: string): ConfigError {
  return new ConfigError('tls', [{ path, message } satisfies ConfigProblem]);
}

function readPem(file: string, path: string, what: string): Buffer {
  try {
    return readFileSync(file);
  } catch (e) {
    throw problem(path, `cannot read the ${what} ${file} (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); mount the Secret holding it there (e.g. a kubernetes.io/tls Secret) or fix the path`);
  }
}

/**
 * Reads and checks the TLS files: each one readable and PEM, the key the
 * certificate's, the certificate within its validity, the CA parseable.
 * Throws a ConfigError naming the config path and the fix.
 */
export function loadTlsMaterial(tls: TlsConfig, now: Date = new Date()): TlsMaterial {
  if (tls.certFile === undefined || tls.keyFile === undefined) {
    throw problem('/tls', 'a TLS listener needs tls.certFile and tls.keyFile');
  }
  const cert = readPem(tls.certFile, '/tls/certFile', 'certificate');
  const key = readPem(tls.keyFile, '/tls/keyFile', 'private key');
  const ca = tls.caFile !== undefined ? readPem(tls.caFile, '/tls/caFile', 'CA certificate') : undefined;
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch (e) {
    throw problem('/tls/certFile', `${tls.certFile} is not a PEM certificate (${(e as Error).message}); give the certificate file (tls.crt of a kubernetes.io/tls Secret)`);
  }
  let privateKey;
  try {
    privateKey = createPrivateKey(key);
  } catch (e) {
    throw problem('/tls/keyFile', `${tls.keyFile} is not a PEM private key (${(e as Error).message}); give the unencrypted key file (tls.key of a kubernetes.io/tls Secret)`);
  }
  if (!x509.checkPrivateKey(privateKey)) {
    throw problem('/tls/keyFile', `the key in ${tls.keyFile} does not match the certificate in ${tls.certFile} (serial ${x509.serialNumber}); give the key the certificate was issued for (both from the same Secret)`);
  }
  const validFrom = new Date(x509.validFrom);
  const validTo = new Date(x509.validTo);
  if (validTo.getTime() <= now.getTime()) {
    throw problem('/tls/certFile', `the certificate in ${tls.certFile} (serial ${x509.serialNumber}) expired on ${validTo.toISOString()}; renew it (cert-manager renews before expiry when its Certificate is healthy: check its status)`);
  }
  if (validFrom.getTime() > now.getTime() + 5 * 60_000) {
    throw problem('/tls/certFile', `the certificate in ${tls.certFile} (serial ${x509.serialNumber}) is not valid before ${validFrom.toISOString()}; check the clock of the issuer and of this node`);
  }
  if (ca !== undefined) {
    try {
      new X509Certificate(ca);
    } catch (e) {
      throw problem('/tls/caFile', `${tls.caFile} is not a PEM certificate (${(e as Error).message}); give the CA certificate (ca.crt of the Secret)`);
    }
  }
  const digest = createHash('sha256').update(cert).update('\0').update(key).update('\0').update(ca ?? '').digest('hex');
  return { cert, key, ca, serial: x509.serialNumber, validTo, digest };
}

/** The options of a secure context for the material. */
export function secureContextOptions(m: TlsMaterial): SecureContextOptions {
  return { cert: m.cert, key: m.key, ...(m.ca !== undefined ? { ca: m.ca } : {}), minVersion: 'TLSv1.2' };
}

/** Anything that takes a new secure context: tls.Server and https.Server. */
export interface SecureContextTarget {
  setSecureContext(options: SecureContextOptions): void;
}

/**
 * Watches the TLS files: every `intervalMs` they are read again, and when
 * they changed and check out, every target gets the new context. A change
 * that does not check out (e.g. a key written before its certificate) keeps
 * the old context and is tried again next time; `onError` says why.
 */
export class TlsReloader {
  private timer: NodeJS.Timeout | undefined;
  private failedDigest: string | undefined;

  constructor(
    private readonly tls: TlsConfig,
    public current: TlsMaterial,
    private readonly targets: SecureContextTarget[],
    private readonly onReload: (m: TlsMaterial) => void,
    private readonly onError: (e: Error) => void,
  ) {}

  start(intervalMs: number): void {
    this.timer = setInterval(() => this.check(), intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Reads the files now; true when a new certificate was installed. */
  check(): boolean {
    let next: TlsMaterial;
    try {
      next = loadTlsMaterial(this.tls);
    } catch (e) {
      const key = (e as Error).message;
      if (this.failedDigest !== key) this.onError(e as Error);
      this.failedDigest = key;
      return false;
    }
    this.failedDigest = undefined;
    if (next.digest === this.current.digest) return false;
    const options = secureContextOptions(next);
    for (const t of this.targets) t.setSecureContext(options);
    this.current = next;
    this.onReload(next);
    return true;
  }
}
