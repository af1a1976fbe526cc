import { ApiObject, Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { BoundCacheTls } from './_tls';
import { fail, validateDnsSubdomain } from './_validation';

/** A cert-manager Issuer or ClusterIssuer. */
export interface CertManagerIssuerRef {
  /** The issuer's name. */
  readonly name: string;

  /**
   * `Issuer` (in the cache's namespace) or `ClusterIssuer`.
   *
   * @default "Issuer"
   */
  readonly kind?: string;

  /**
   * The API group of the issuer (external issuers have their own).
   *
   * @default "cert-manager.io"
   */
  readonly group?: string;
}

/** Options of `CacheTls.certManager()`. */
export interface CacheTlsCertManagerOptions {
  /**
   * The issuer that signs the certificate. For clients to verify it, the
   * issuer should put its CA into the Secret's `ca.crt` (CA, self-signed and
   * Vault issuers do).
   */
  readonly issuer: CertManagerIssuerRef;

  /**
   * Lifetime of each certificate.
   *
   * @default Duration.days(90)
   */
  readonly duration?: Duration;

  /**
   * How long before expiry cert-manager renews it; the cache picks the new
   * files up without a restart.
   *
   * @default Duration.days(30)
   */
  readonly renewBefore?: Duration;

  /**
   * Mutual TLS: clients must present a certificate from the same CA.
   *
   * @default false
   */
  readonly mutual?: boolean;
}

/** Options of `CacheTls.fromSecret()`. */
export interface CacheTlsSecretOptions {
  /**
   * Key of the certificate (chain) in the Secret.
   *
   * @default "tls.crt"
   */
  readonly certKey?: string;

  /**
   * Key of the private key in the Secret.
   *
   * @default "tls.key"
   */
  readonly keyKey?: string;

  /**
   * Key of the CA certificate in the Secret, which clients (and, with
   * `mutual`, the cache) trust.
   *
   * @default - none: clients trust their system CAs (a public CA)
   */
  readonly caKey?: string;

  /**
   * Mutual TLS: clients must present a certificate from the CA in `caKey`.
   *
   * @default false
   */
  readonly mutual?: boolean;
}

/**
 * Where a cache's server certificate comes from: an existing Secret (e.g.
 * `kubernetes.io/tls`), or a cert-manager Certificate made for the cache's
 * DNS names. The files are mounted into the cache, which reads them again
 * when the Secret changes: a renewed certificate needs no restart.
 */
export class CacheTls {
  /** A Secret that holds the certificate and key (and, optionally, the CA). */
  public static fromSecret(secret: kplus.ISecret, options: CacheTlsSecretOptions = {}): CacheTls {
    return new CacheTls(secret, undefined, options);
  }

  /**
   * A cert-manager `Certificate` (cert-manager.io/v1) for the client Service
   * and every pod name, issued into a Secret of its own and renewed by
   * cert-manager.
   */
  public static certManager(options: CacheTlsCertManagerOptions): CacheTls {
    return new CacheTls(undefined, options, { caKey: 'ca.crt', mutual: options.mutual });
  }

  /** Whether clients must present a certificate. */
  public readonly mutual: boolean;

  private constructor(
    private readonly secret: kplus.ISecret | undefined,
    private readonly certManagerOptions: CacheTlsCertManagerOptions | undefined,
    private readonly secretOptions: CacheTlsSecretOptions,
  ) {
    this.mutual = secretOptions.mutual ?? false;
  }

  /** Whether the certificate comes from cert-manager. */
  public get isCertManager(): boolean {
    return this.certManagerOptions !== undefined;
  }

  /**
   * Checks the options and makes the Certificate for `dnsNames` when
   * cert-manager issues it.
   * @internal
   */
  public _bind(scope: Construct, secretName: string, namespace: string | undefined, dnsNames: string[]): BoundCacheTls {
    const o = this.secretOptions;
    const caKey = o.caKey;
    if (this.mutual && caKey === undefined) {
      fail(scope, 'tls is mutual but no CA is given (caKey is not set)',
        'Mutual TLS verifies client certificates against a CA: give CacheTls.fromSecret(secret, { caKey: "ca.crt", mutual: true }), or drop mutual');
    }
    for (const [what, key] of [['certKey', o.certKey], ['keyKey', o.keyKey], ['caKey', o.caKey]] as const) {
      if (key !== undefined && !/^[-._a-zA-Z0-9]+$/.test(key)) {
        fail(scope, `tls ${what} "${key}" is not a valid Secret key`, 'Use letters, digits, "-", "_" and "." (e.g. "tls.crt")');
      }
    }
    const cm = this.certManagerOptions;
    if (cm === undefined) {
      return { secret: this.secret!, certKey: o.certKey ?? 'tls.crt', keyKey: o.keyKey ?? 'tls.key', caKey, mutual: this.mutual };
    }
    const issuer = cm.issuer ?? ({} as CertManagerIssuerRef);
    if (issuer.name === undefined || issuer.name === '') {
      fail(scope, `tls.certManager issuer has no name (got ${JSON.stringify(issuer.name ?? null)})`,
        'Give the issuer that signs the certificate: CacheTls.certManager({ issuer: { name: "my-ca", kind: "ClusterIssuer" } })');
    }
    validateDnsSubdomain(scope, 'tls.certManager issuer name', issuer.name);
    const kind = issuer.kind ?? 'Issuer';
    const group = issuer.group ?? 'cert-manager.io';
    if (group === 'cert-manager.io' && kind !== 'Issuer' && kind !== 'ClusterIssuer') {
      fail(scope, `tls.certManager issuer kind "${kind}" is not a cert-manager issuer kind`, 'Give kind "Issuer" (in the cache\'s namespace) or "ClusterIssuer"');
    }
    const duration = cm.duration ?? Duration.days(90);
    const renewBefore = cm.renewBefore ?? Duration.days(30);
    if (duration.toSeconds() < 3600) {
      fail(scope, `tls.certManager duration ${duration.toSeconds()}s is shorter than an hour`, 'cert-manager refuses such certificates: give at least Duration.hours(1)');
    }
    if (renewBefore.toSeconds() >= duration.toSeconds()) {
      fail(scope, `tls.certManager renewBefore ${renewBefore.toSeconds()}s is not shorter than duration ${duration.toSeconds()}s`,
        'The certificate would be renewed all the time: give a renewBefore shorter than duration (e.g. a third of it)');
    }
    const certificate = new ApiObject(scope, 'Certificate', {
      apiVersion: 'cert-manager.io/v1',
      kind: 'Certificate',
      metadata: { name: secretName, namespace },
      spec: {
        secretName,
        issuerRef: { name: issuer.name, kind, group },
        // Clients use the Service name, peers and cluster clients the pods' names.
        dnsNames,
        duration: `${duration.toHours({ integral: false })}h`,
        renewBefore: `${renewBefore.toHours({ integral: false })}h`,
        privateKey: { algorithm: 'ECDSA', size: 256, rotationPolicy: 'Always' },
        // Peers (Valkey replication and the cluster bus) connect to each other with it.
        usages: ['server auth', 'client auth', 'digital signature', 'key encipherment'],
      },
    });
    const secret = kplus.Secret.fromSecretName(scope, 'TlsSecret', secretName);
    return { secret, certKey: 'tls.crt', keyKey: 'tls.key', caKey: 'ca.crt', mutual: this.mutual, certificate };
  }
}
