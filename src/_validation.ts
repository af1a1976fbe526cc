import { isIP } from 'net';
import { IConstruct } from 'constructs';

/**
 * Synth-time errors. Every message names the construct path, the offending
 * value and the fix, so a user can act on it without reading our source.
 */
export function fail(scope: IConstruct, problem: string, fix: string): never {
  throw new Error(`${scope.node.path}: ${problem}. ${fix}`);
}

const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

/** A Kubernetes object or port name: a DNS-1123 label (at most 63 characters). */
export function validateDnsLabel(scope: IConstruct, what: string, value: string): void {
  if (value.length > 63 || !DNS1123_LABEL.test(value)) {
    fail(scope, `${what} "${value}" is not a DNS-1123 label`,
      'Use at most 63 lower-case letters, digits and "-", starting and ending with a letter or digit');
  }
}

/** A host name: a DNS-1123 subdomain (at most 253 characters), and not an IP address. */
export function validateHostName(scope: IConstruct, what: string, value: string): void {
  if (isIpAddress(value)) {
    fail(scope, `${what} "${value}" is an IP address, not a DNS name`,
      'Give IP addresses as addresses (they become an EndpointSlice), or give a DNS name here');
  }
  if (value.length > 253 || !DNS1123_SUBDOMAIN.test(value)) {
    fail(scope, `${what} "${value}" is not a valid DNS name`,
      'Use lower-case letters, digits, "-" and "." (a DNS-1123 subdomain, at most 253 characters)');
  }
}

/** A TCP/UDP port number. */
export function validatePort(scope: IConstruct, what: string, value: number): void {
  if (!Number.isInteger(value) || value < 1 || value > 65535) {
    fail(scope, `${what} ${value} is out of range`, 'Use a whole number from 1 to 65535');
  }
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** True for a dotted IPv4 address or an IPv6 address. */
export function isIpAddress(value: string): boolean {
  return IPV4.test(value) || (value.includes(':') && /^[0-9a-fA-F:.]+$/.test(value));
}

export function isIpv4(value: string): boolean {
  return IPV4.test(value);
}

/** True for an IPv6 address without brackets (a zone, e.g. `%eth0`, allowed). */
export function isIpv6(value: string): boolean {
  return isIP(value) === 6;
}

/** True for a DNS-1123 subdomain (Kubernetes object names such as Secrets and SecretStores). */
export function isDnsSubdomain(value: string): boolean {
  return value.length <= 253 && DNS1123_SUBDOMAIN.test(value);
}

/**
 * A CIDR block for a NetworkPolicy ipBlock: an IPv4 or IPv6 address, "/", a
 * prefix length in range, and no host bits set for IPv4 (a sign of a typo).
 * Returns 4 or 6.
 */
export function validateCidr(scope: IConstruct, what: string, value: string): number {
  const [address, prefix, extra] = value.split('/');
  const family = isIP(address ?? '');
  const bits = Number(prefix);
  const max = family === 6 ? 128 : 32;
  if (extra !== undefined || family === 0 || prefix === undefined || !/^\d{1,3}$/.test(prefix) || bits > max) {
    fail(scope, `${what} "${value}" is not a CIDR block`,
      'Write an address and a prefix length, e.g. "10.20.0.0/16" or "2001:db8::/64"');
  }
  if (family === 4) {
    const n = address.split('.').reduce((acc, octet) => acc * 256 + Number(octet), 0);
    const hostBits = bits === 32 ? 0 : n % 2 ** (32 - bits);
    if (hostBits !== 0) {
      const network = n - hostBits;
      const dotted = [24, 16, 8, 0].map((shift) => Math.floor(network / 2 ** shift) % 256).join('.');
      fail(scope, `${what} "${value}" has host bits set`, `Use the network address, "${dotted}/${bits}"`);
    }
  }
  return family;
}

/** An object name such as a PersistentVolumeClaim's or a CSI driver's: a DNS-1123 subdomain (at most 253 characters). */
export function validateDnsSubdomain(scope: IConstruct, what: string, value: string): void {
  if (!isDnsSubdomain(value)) {
    fail(scope, `${what} "${value}" is not a DNS-1123 subdomain`,
      'Use at most 253 lower-case letters, digits, "-" and ".", starting and ending with a letter or digit');
  }
}

/**
 * A host name as DNS resolves it: dot-separated labels of letters, digits and
 * "-" (not at either end), at most 63 characters each and 253 in all. Upper
 * case is allowed (DNS ignores case); a name whose last label is all digits
 * is not a name but a mistyped IPv4 address.
 */
function isDnsHostName(value: string): boolean {
  if (value.length === 0 || value.length > 253) return false;
  const labels = value.split('.');
  return labels.every((l) => /^[A-Za-z0-9]([-A-Za-z0-9]{0,61}[A-Za-z0-9])?$/.test(l)) && !/^\d+$/.test(labels[labels.length - 1]);
}

/** True for a DNS host name, an IPv4 address or an (unbracketed) IPv6 address. */
export function isNetworkHost(value: string): boolean {
  return isDnsHostName(value) || isIP(value) !== 0;
}

/**
 * Splits `host[:port]`, where host is a DNS name, an IPv4 address or an IPv6
 * address in brackets, and port is 1 to 65535. Returns undefined when the
 * value is not of that form.
 */
export function parseHostPort(value: string): { host: string; port?: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(value);
  if (!m) return undefined;
  const host = m[1] ?? m[2];
  if (m[1] !== undefined ? isIP(host) !== 6 : !isDnsHostName(host) && isIP(host) !== 4) return undefined;
  if (m[3] === undefined) return { host };
  const port = Number(m[3]);
  return port >= 1 && port <= 65535 ? { host, port } : undefined;
}
