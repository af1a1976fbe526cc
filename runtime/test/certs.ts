import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/*
 * Real certificates for TLS tests, made with the openssl command line (node's
 * crypto can check certificates but not issue them): a CA, and leaf
 * certificates it signs for server and client authentication.
 */

export interface TestCa {
  readonly dir: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
}

export interface TestCert {
  readonly certFile: string;
  readonly keyFile: string;
  readonly cert: string;
  readonly key: string;
  /** The serial number as node's X509Certificate prints it (upper-case hex). */
  readonly serial: string;
}

function openssl(args: string[], cwd: string): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] });
}

/** A new self-signed CA (EC P-256) in a temporary directory. */
export function makeCa(name = 'state-cache test CA', dir = mkdtempSync(join(tmpdir(), 'state-cache-tls-'))): TestCa {
  const keyFile = join(dir, `${name.replace(/\W+/g, '-')}.key`);
  const certFile = join(dir, `${name.replace(/\W+/g, '-')}.crt`);
  openssl(['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile,
    '-days', '30', '-subj', `/CN=${name}`, '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign'], dir);
  return { dir, certFile, keyFile, cert: readFileSync(certFile, 'utf8') };
}

export interface LeafOptions {
  /** DNS names and IP addresses in subjectAltName. */
  readonly dnsNames?: string[];
  readonly ips?: string[];
  /** Days from now; negative for a certificate that has expired. */
  readonly days?: number;
  /** Serial number (hex). */
  readonly serial?: string;
}

let counter = 0;

/** A certificate for `name` signed by `ca`, good for server and client authentication. */
export function makeCert(ca: TestCa, name: string, o: LeafOptions = {}): TestCert {
  const base = join(ca.dir, `${name.replace(/\W+/g, '-')}-${++counter}`);
  const keyFile = `${base}.key`;
  const csr = `${base}.csr`;
  const certFile = `${base}.crt`;
  const ext = `${base}.ext`;
  const san = [...(o.dnsNames ?? ['localhost']).map((d) => `DNS:${d}`), ...(o.ips ?? ['127.0.0.1']).map((i) => `IP:${i}`)].join(',');
  writeFileSync(ext, `subjectAltName=${san}\nextendedKeyUsage=serverAuth,clientAuth\nkeyUsage=critical,digitalSignature,keyEncipherment\nbasicConstraints=CA:FALSE\n`);
  openssl(['req', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', csr, '-subj', `/CN=${name}`], ca.dir);
  const serial = o.serial ?? (Date.now().toString(16) + (counter).toString(16).padStart(4, '0')).padStart(16, '1').toUpperCase();
  const days = o.days ?? 30;
  if (days > 0) {
    openssl(['x509', '-req', '-in', csr, '-CA', ca.certFile, '-CAkey', ca.keyFile, '-set_serial', `0x${serial}`, '-days', String(days), '-extfile', ext, '-out', certFile], ca.dir);
  } else {
    // openssl x509 takes no past dates; openssl ca does.
    const conf = `${base}.cnf`;
    writeFileSync(`${base}.index`, '');
    writeFileSync(`${base}.serial`, `${serial}\n`);
    writeFileSync(conf, `[ca]\ndefault_ca = d\n[d]\ndatabase = ${base}.index\nnew_certs_dir = ${ca.dir}\nserial = ${base}.serial\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n`);
    openssl(['ca', '-batch', '-config', conf, '-cert', ca.certFile, '-keyfile', ca.keyFile, '-in', csr, '-out', certFile, '-notext',
      '-startdate', '20200101000000Z', '-enddate', '20200201000000Z', '-extfile', ext], ca.dir);
  }
  return { certFile, keyFile, cert: readFileSync(certFile, 'utf8'), key: readFileSync(keyFile, 'utf8'), serial };
}
