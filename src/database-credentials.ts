import { Duration } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';

/**
 * An External Secrets Operator store: a namespaced `SecretStore` or a
 * cluster-wide `ClusterSecretStore`, referred to by name.
 */
export class SecretStoreRef {
  /** A `SecretStore` in the namespace of the ExternalSecret. */
  public static secretStore(name: string): SecretStoreRef {
    return new SecretStoreRef('SecretStore', name);
  }

  /** A `ClusterSecretStore`, usable from every namespace it allows. */
  public static clusterSecretStore(name: string): SecretStoreRef {
    return new SecretStoreRef('ClusterSecretStore', name);
  }

  private constructor(
    /** `SecretStore` or `ClusterSecretStore`. */
    public readonly kind: string,
    /** The store's name. */
    public readonly name: string,
  ) {}
}

/** Options of `DatabaseCredentials.fromSecret`. */
export interface SecretCredentialsOptions {
  /**
   * The key of the Secret holding the user name.
   *
   * @default "username"
   */
  readonly usernameKey?: string;

  /**
   * The key of the Secret holding the password.
   *
   * @default "password"
   */
  readonly passwordKey?: string;
}

/** Options of `DatabaseCredentials.fromExternalSecret`. */
export interface ExternalSecretCredentialsOptions {
  /** The store the External Secrets Operator reads the credentials from. */
  readonly store: SecretStoreRef;

  /** The key of the credentials in the store, e.g. `prod/orders-db`. */
  readonly remoteKey: string;

  /**
   * The property of the remote secret holding the user name.
   *
   * @default "username"
   */
  readonly usernameProperty?: string;

  /**
   * The property of the remote secret holding the password.
   *
   * @default "password"
   */
  readonly passwordProperty?: string;

  /**
   * How often the operator re-reads the store, so a rotated password reaches
   * the Secret.
   *
   * @default Duration.hours(1)
   */
  readonly refreshInterval?: Duration;
}

/**
 * Where the database user name and password come from. There is
 * deliberately no way to give a literal password: it would end up in the
 * manifest.
 */
export class DatabaseCredentials {
  /** An existing Secret, with the keys holding the user name and password. */
  public static fromSecret(secret: kplus.ISecret, options: SecretCredentialsOptions = {}): DatabaseCredentials {
    return new DatabaseCredentials(secret, options.usernameKey ?? 'username', options.passwordKey ?? 'password', undefined);
  }

  /**
   * An `external-secrets.io/v1` ExternalSecret that the ExternalDatabase
   * creates; the operator writes the Secret (keys `username` and `password`).
   */
  public static fromExternalSecret(options: ExternalSecretCredentialsOptions): DatabaseCredentials {
    return new DatabaseCredentials(undefined, 'username', 'password', options);
  }

  private constructor(
    /** The existing Secret, or undefined when an ExternalSecret writes it. */
    public readonly secret: kplus.ISecret | undefined,
    /** The Secret key holding the user name. */
    public readonly usernameKey: string,
    /** The Secret key holding the password. */
    public readonly passwordKey: string,
    /** The ExternalSecret to create, or undefined for an existing Secret. */
    public readonly externalSecret: ExternalSecretCredentialsOptions | undefined,
  ) {}
}
