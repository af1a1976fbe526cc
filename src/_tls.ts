import { ApiObject } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import type { TlsConfig } from './_runtime-config';
import { fail } from './_validation';

/** The Secret a TLS listener reads, once bound to a cache. */
export interface BoundCacheTls {
  readonly secret: kplus.ISecret;
  readonly certKey: string;
  readonly keyKey: string;
  readonly caKey?: string;
  readonly mutual: boolean;
  /** The cert-manager Certificate, when one was made. */
  readonly certificate?: ApiObject;
}

/** The DNS names of a Service and of its pods behind a headless Service, short and full. */
export function serviceDnsNames(service: string, headless: string | undefined, namespace: string | undefined): string[] {
  const ns = namespace ?? 'default';
  const names = [service, `${service}.${ns}`, `${service}.${ns}.svc`, `${service}.${ns}.svc.cluster.local`];
  if (headless !== undefined) names.push(`*.${headless}.${ns}.svc`, `*.${headless}.${ns}.svc.cluster.local`);
  return names;
}

/** Where the cache's own certificate is mounted. */
/** Not under the config's ConfigMap mount: a mount point inside a read-only volume cannot be made. */
export const TLS_DIR = '/etc/state-cache-tls';
/** The first state-cache release that serves TLS (server.tlsPort, http.tls, the tls section). */
export const TLS_SINCE = '0.1.0';

/** The `tls` section of a state-cache config for a bound certificate, mounted at TLS_DIR. */
export function stateCacheTlsSection(bound: BoundCacheTls): TlsConfig {
  return {
    certFile: `${TLS_DIR}/tls.crt`,
    keyFile: `${TLS_DIR}/tls.key`,
    ...(bound.mutual ? { caFile: `${TLS_DIR}/ca.crt`, clientAuth: 'require' as const } : {}),
  };
}

/** The volume with the certificate, key and CA under fixed names (tls.crt, tls.key, ca.crt). */
export function tlsVolume(scope: Construct, id: string, bound: BoundCacheTls, name = 'tls'): kplus.Volume {
  const items: { [key: string]: kplus.PathMapping } = {
    [bound.certKey]: { path: 'tls.crt' },
    [bound.keyKey]: { path: 'tls.key' },
  };
  if (bound.caKey !== undefined) items[bound.caKey] = { path: 'ca.crt' };
  return kplus.Volume.fromSecret(scope, id, bound.secret, { name, items });
}

/** The volume with only the CA of a bound certificate, for clients. */
export function caVolume(scope: Construct, id: string, secret: kplus.ISecret, caKey: string, name: string): kplus.Volume {
  return kplus.Volume.fromSecret(scope, id, secret, { name, items: { [caKey]: { path: 'ca.crt' } } });
}

/** Refuses a state-cache image whose version predates TLS. */
export function checkTlsImage(scope: Construct, image: { readonly tag?: string; readonly reference: string }): void {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(image.tag ?? '');
  if (!m) return; // A digest or a tag that is not a version: cannot tell, allowed.
  const [a, b, c] = TLS_SINCE.split('.').map(Number);
  const [x, y, z] = [Number(m[1]), Number(m[2]), Number(m[3])];
  const older = x < a || (x === a && (y < b || (y === b && z < c)));
  if (older && !(x === 0 && y === 0 && z === 0)) {
    fail(scope, `tls needs state-cache ${TLS_SINCE} or later, but the image is ${image.reference}`,
      `Its config has no tls section and it would refuse to start: use CacheImage.default() or a tag of ${TLS_SINCE} or later, or drop tls`);
  }
}
