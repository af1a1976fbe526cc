/**
 * Properties of a database engine cdk8s-state does not know.
 */
export interface CustomDatabaseEngineProps {
  /**
   * The engine's name: the Service port name and the servicebinding.io `type`.
   * At most 15 lower-case letters, digits and "-", starting with a letter
   * (a Kubernetes port name).
   */
  readonly name: string;

  /**
   * The port the engine listens on unless told otherwise.
   *
   * @default - none: every ExternalDatabase of this engine must give `port`
   */
  readonly defaultPort?: number;

  /**
   * The scheme of the connection URL handed to apps, e.g. `cockroachdb`.
   */
  readonly urlScheme: string;
}

/**
 * A database engine: its default port, URL scheme, the environment variables
 * its clients read and the TLS modes it understands.
 */
export class DatabaseEngine {
  /** PostgreSQL (libpq environment: PGHOST, PGPORT, PGSSLMODE, ...). */
  public static readonly POSTGRESQL = new DatabaseEngine('postgresql', 5432, 'postgresql', 'postgresql');
  /** MySQL (MYSQL_HOST, MYSQL_TCP_PORT, ssl-mode ...). */
  public static readonly MYSQL = new DatabaseEngine('mysql', 3306, 'mysql', 'mysql');
  /** MariaDB: speaks the MySQL protocol and takes the MySQL TLS modes. */
  public static readonly MARIADB = new DatabaseEngine('mariadb', 3306, 'mariadb', 'mysql');
  /** MongoDB (a `mongodb://` URI with tls options). */
  public static readonly MONGODB = new DatabaseEngine('mongodb', 27017, 'mongodb', 'mongodb');
  /** Redis, or anything speaking its protocol (`redis://`, `rediss://` with TLS). */
  public static readonly REDIS = new DatabaseEngine('redis', 6379, 'redis', 'redis');
  /** Microsoft SQL Server (Encrypt / TrustServerCertificate). */
  public static readonly SQL_SERVER = new DatabaseEngine('sqlserver', 1433, 'sqlserver', 'sqlserver');
  /** Oracle Database (TCP, or TCPS for TLS). */
  public static readonly ORACLE = new DatabaseEngine('oracle', 1521, 'oracle', 'oracle');

  /**
   * An engine cdk8s-state does not know. Apps get generic `DATABASE_*`
   * variables and the generic TLS modes (`TlsMode.TLS_*`).
   */
  public static custom(props: CustomDatabaseEngineProps): DatabaseEngine {
    return new DatabaseEngine(props.name, props.defaultPort, props.urlScheme, 'custom');
  }

  /**
   * @param name the engine's name
   * @param defaultPort the port it listens on unless told otherwise (none for a custom engine without one)
   * @param urlScheme the scheme of connection URLs
   * @param family which client conventions (env vars, TLS modes) apply
   */
  private constructor(
    /** The engine's name, e.g. `postgresql`. */
    public readonly name: string,
    /** The port it listens on unless told otherwise; undefined for a custom engine without one. */
    public readonly defaultPort: number | undefined,
    /** The scheme of connection URLs, e.g. `postgresql`. */
    public readonly urlScheme: string,
    /** Which client conventions (env vars, TLS modes) apply: the engine's own or `custom`. */
    public readonly family: string,
  ) {}
}

/**
 * How clients protect the connection to the database. Each engine has its own
 * modes, named as its clients name them; `TlsMode.DISABLED` works for all.
 */
export class TlsMode {
  /** Plain TCP, no TLS. Valid for every engine. */
  public static readonly DISABLED = new TlsMode('*', 'disabled', false, false, false);

  /** PostgreSQL sslmode=allow: TLS only if the server insists; no verification. */
  public static readonly POSTGRES_ALLOW = new TlsMode('postgresql', 'allow', false, false, false);
  /** PostgreSQL sslmode=prefer: TLS if the server offers it; no verification. */
  public static readonly POSTGRES_PREFER = new TlsMode('postgresql', 'prefer', false, false, false);
  /** PostgreSQL sslmode=require: always TLS; the certificate is not verified. */
  public static readonly POSTGRES_REQUIRE = new TlsMode('postgresql', 'require', true, false, false);
  /** PostgreSQL sslmode=verify-ca: TLS, certificate signed by the CA; host name not checked. */
  public static readonly POSTGRES_VERIFY_CA = new TlsMode('postgresql', 'verify-ca', true, true, false);
  /** PostgreSQL sslmode=verify-full: TLS, certificate signed by the CA and naming the host. */
  public static readonly POSTGRES_VERIFY_FULL = new TlsMode('postgresql', 'verify-full', true, true, true);

  /** MySQL/MariaDB ssl-mode=PREFERRED: TLS if the server offers it; no verification. */
  public static readonly MYSQL_PREFERRED = new TlsMode('mysql', 'PREFERRED', false, false, false);
  /** MySQL/MariaDB ssl-mode=REQUIRED: always TLS; the certificate is not verified. */
  public static readonly MYSQL_REQUIRED = new TlsMode('mysql', 'REQUIRED', true, false, false);
  /** MySQL/MariaDB ssl-mode=VERIFY_CA: TLS, certificate signed by the CA; host name not checked. */
  public static readonly MYSQL_VERIFY_CA = new TlsMode('mysql', 'VERIFY_CA', true, true, false);
  /** MySQL/MariaDB ssl-mode=VERIFY_IDENTITY: TLS, certificate signed by the CA and naming the host. */
  public static readonly MYSQL_VERIFY_IDENTITY = new TlsMode('mysql', 'VERIFY_IDENTITY', true, true, true);

  /** MongoDB tls=true: certificate and host name verified. */
  public static readonly MONGODB_TLS = new TlsMode('mongodb', 'tls', true, true, true);
  /** MongoDB tls=true&tlsAllowInvalidHostnames=true: certificate verified, host name not checked. */
  public static readonly MONGODB_TLS_ALLOW_INVALID_HOSTNAMES = new TlsMode('mongodb', 'tlsAllowInvalidHostnames', true, true, false);
  /** MongoDB tls=true&tlsInsecure=true: TLS without any verification. */
  public static readonly MONGODB_TLS_INSECURE = new TlsMode('mongodb', 'tlsInsecure', true, false, false);

  /** Redis over TLS (`rediss://`): certificate and host name verified. */
  public static readonly REDIS_TLS = new TlsMode('redis', 'tls', true, true, true);
  /** Redis over TLS without verification (redis-cli --insecure). */
  public static readonly REDIS_TLS_INSECURE = new TlsMode('redis', 'tls-insecure', true, false, false);

  /** SQL Server Encrypt=true;TrustServerCertificate=false: certificate and host name verified. */
  public static readonly SQL_SERVER_ENCRYPT = new TlsMode('sqlserver', 'encrypt', true, true, true);
  /** SQL Server Encrypt=strict (TDS 8.0): TLS before login, certificate and host name verified. */
  public static readonly SQL_SERVER_STRICT = new TlsMode('sqlserver', 'strict', true, true, true);
  /** SQL Server Encrypt=true;TrustServerCertificate=true: TLS without verification. */
  public static readonly SQL_SERVER_TRUST_SERVER_CERTIFICATE = new TlsMode('sqlserver', 'trust-server-certificate', true, false, false);

  /** Oracle TCPS with ssl_server_dn_match=on: certificate and host name verified. */
  public static readonly ORACLE_TCPS = new TlsMode('oracle', 'tcps', true, true, true);
  /** Oracle TCPS with ssl_server_dn_match=off: certificate verified, host name not checked. */
  public static readonly ORACLE_TCPS_NO_DN_MATCH = new TlsMode('oracle', 'tcps-no-dn-match', true, true, false);

  /** A custom engine over TLS, certificate and host name verified (DATABASE_TLS_MODE=verify-full). */
  public static readonly TLS_VERIFY_FULL = new TlsMode('custom', 'verify-full', true, true, true);
  /** A custom engine over TLS, certificate verified, host name not checked (DATABASE_TLS_MODE=verify-ca). */
  public static readonly TLS_VERIFY_CA = new TlsMode('custom', 'verify-ca', true, true, false);
  /** A custom engine over TLS without verification (DATABASE_TLS_MODE=require). */
  public static readonly TLS_REQUIRE = new TlsMode('custom', 'require', true, false, false);

  private constructor(
    /** The engine family the mode belongs to (`*` for DISABLED). */
    public readonly family: string,
    /** The mode as the engine's clients name it, e.g. `verify-full`. */
    public readonly name: string,
    /** True when the connection is always encrypted. */
    public readonly encrypted: boolean,
    /** True when the client checks the server certificate against a CA. */
    public readonly verifiesCertificate: boolean,
    /** True when the client checks that the certificate names the host it connects to. */
    public readonly verifiesHostName: boolean,
  ) {}
}
