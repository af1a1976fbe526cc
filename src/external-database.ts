import { isIP } from 'net';
import { Chart, Names } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct, IConstruct } from 'constructs';
import { checkConnect, checkEnvFree } from './_connect';
import { addExternalSecret } from './_external-secret';
import { projectedVolume } from './_projected-volume';
import { fail, validateCidr, validateDnsLabel, validateHostName, validatePort } from './_validation';
import { DatabaseCredentials } from './database-credentials';
import { DatabaseEngine, TlsMode } from './database-engine';

/** The value of `endpointslice.kubernetes.io/managed-by` on the EndpointSlices we write. */
const MANAGED_BY = 'cdk8s-state';
/** Where connected containers find the database CA file. */
const CA_DIR = '/var/run/secrets/cdk8s-state/databases';
/** servicebinding.io: the root every binding directory lives under. */
const BINDING_ROOT = '/bindings';
/** An EndpointSlice holds at most this many endpoints. */
const MAX_ENDPOINTS = 1000;

/**
 * Where the database is: a DNS name (an ExternalName Service, a CNAME) or IP
 * addresses (a Service without selector plus an EndpointSlice).
 */
export class DatabaseEndpoint {
  /**
   * The database's DNS name, e.g. `orders.abc123.eu-west-1.rds.amazonaws.com`.
   * Becomes an ExternalName Service: a CNAME, so the Service port cannot
   * differ from the database port.
   */
  public static fromHostName(hostName: string): DatabaseEndpoint {
    return new DatabaseEndpoint(hostName, []);
  }

  /**
   * The database's IPv4 and/or IPv6 addresses. Becomes a Service without
   * selector and an EndpointSlice per address family; the Service port may
   * differ from the database port.
   */
  public static fromIpAddresses(addresses: string[]): DatabaseEndpoint {
    return new DatabaseEndpoint(undefined, [...addresses]);
  }

  private constructor(
    /** The DNS name, or undefined for addresses. */
    public readonly hostName: string | undefined,
    /** The IP addresses; empty for a DNS name. */
    public readonly addresses: string[],
  ) {}
}

/** The certificate authority that signed the database's certificate. */
export class DatabaseCa {
  /**
   * A CA certificate (PEM) in a Secret, mounted into connected containers.
   *
   * @param secret the Secret holding the CA certificate
   * @param key the Secret key holding it
   */
  public static fromSecret(secret: kplus.ISecret, key: string = 'ca.crt'): DatabaseCa {
    return new DatabaseCa(secret, key);
  }

  /**
   * The public CAs in the app image's trust store (e.g. for a managed database
   * with a publicly trusted certificate). PostgreSQL clients get
   * `sslrootcert=system` (libpq 16 or later).
   */
  public static systemTrustStore(): DatabaseCa {
    return new DatabaseCa(undefined, undefined);
  }

  private constructor(
    /** The Secret holding the CA, or undefined for the system trust store. */
    public readonly secret: kplus.ISecret | undefined,
    /** The Secret key holding the CA, or undefined for the system trust store. */
    public readonly key: string | undefined,
  ) {}
}

/** Properties of an ExternalDatabase. */
export interface ExternalDatabaseProps {
  /** The database engine. */
  readonly engine: DatabaseEngine;

  /** Where the database is: a DNS name or IP addresses. */
  readonly endpoint: DatabaseEndpoint;

  /** Where the user name and password come from. */
  readonly credentials: DatabaseCredentials;

  /**
   * How apps protect the connection. Required so that turning TLS off is a
   * visible choice (`TlsMode.DISABLED`).
   */
  readonly tlsMode: TlsMode;

  /**
   * The CA that signed the database's certificate.
   *
   * @default - none; required by modes that verify the certificate
   */
  readonly tlsCa?: DatabaseCa;

  /**
   * The port the database listens on.
   *
   * @default - the engine's default port
   */
  readonly port?: number;

  /**
   * The port of the Service apps connect to. Only for IP addresses: an
   * ExternalName Service is a CNAME and cannot remap ports.
   *
   * @default - the database port
   */
  readonly servicePort?: number;

  /**
   * The Service name apps use inside the cluster, e.g. `orders-db`.
   *
   * @default - generated from the construct path
   */
  readonly name?: string;

  /**
   * The namespace of the Service (and of the ExternalSecret).
   *
   * @default - the chart's namespace; none when the chart has none, and then
   * apps reach the Service by its short name from its own namespace only
   */
  readonly namespace?: string;

  /**
   * The database (PostgreSQL, MySQL, MongoDB, SQL Server), service name
   * (Oracle) or database number (Redis) apps use.
   *
   * @default - none: the client's default
   */
  readonly databaseName?: string;

  /**
   * Address ranges the database is reachable at, for the egress
   * NetworkPolicy of connected workloads (NetworkPolicies know no host names).
   *
   * @default - for IP addresses, each address; for a DNS name there is no
   * default: give the ranges or set `egressPolicy: false`
   */
  readonly egressCidrs?: string[];

  /**
   * Whether `connect()` adds an egress NetworkPolicy to the workload: the
   * database CIDRs on its port, and DNS to kube-dns. Set to false only when
   * the workload's egress is managed elsewhere.
   *
   * @default true
   */
  readonly egressPolicy?: boolean;
}

/** Options of `ExternalDatabase.connect()`. */
export interface ConnectOptions {
  /**
   * The containers that get the environment variables and mounts.
   *
   * @default - every container of the workload (not its init containers)
   */
  readonly containers?: kplus.Container[];

  /**
   * Add the engine's standard environment variables (e.g. PGHOST ... PGPASSWORD,
   * DATABASE_URL for PostgreSQL).
   *
   * @default true
   */
  readonly env?: boolean;

  /**
   * A prefix for every variable name, to connect several databases of the
   * same engine to one container, e.g. `ORDERS_`.
   *
   * @default "" (no prefix)
   */
  readonly envPrefix?: string;

  /**
   * Project a servicebinding.io directory to `/bindings/<bindingName>` (files
   * `type`, `host`, `port`, `database`, `username`, `password`, `certificates`)
   * and set `SERVICE_BINDING_ROOT=/bindings`.
   *
   * @default false
   */
  readonly serviceBinding?: boolean;

  /**
   * The binding's directory name under `/bindings`.
   *
   * @default - the database's Service name
   */
  readonly bindingName?: string;
}

/**
 * Everything a client needs to reach the database, for constructs that
 * connect to it themselves (e.g. a cache store).
 */
export interface DatabaseConnection {
  /** The database engine. */
  readonly engine: DatabaseEngine;
  /**
   * The host name apps connect to: the Service name, or the database's real
   * DNS name when the TLS mode verifies host names (the alias would fail).
   */
  readonly host: string;
  /** The port apps connect to. */
  readonly port: number;
  /**
   * The database, service name or database number.
   *
   * @default - none: the client's default
   */
  readonly databaseName?: string;
  /** The TLS mode. */
  readonly tlsMode: TlsMode;
  /**
   * The Secret holding the CA certificate.
   *
   * @default - none (no CA, or the system trust store)
   */
  readonly caSecret?: kplus.ISecret;
  /**
   * The key of `caSecret` holding the CA certificate.
   *
   * @default - none
   */
  readonly caKey?: string;
  /** True when clients verify against the system trust store. */
  readonly usesSystemTrustStore: boolean;
  /** The Secret holding the user name and password. */
  readonly credentialsSecret: kplus.ISecret;
  /** The key of `credentialsSecret` holding the user name. */
  readonly usernameKey: string;
  /** The key of `credentialsSecret` holding the password. */
  readonly passwordKey: string;
  /** The address ranges of the database (empty when `egressPolicy` is false). */
  readonly egressCidrs: string[];
}

/** A database outside the cluster that workloads can connect to. */
export interface IExternalDatabase extends IConstruct {
  /** How to reach the database. */
  readonly connection: DatabaseConnection;

  /** Give a workload the connection settings and the egress it needs. */
  connect(workload: kplus.AbstractPod, options?: ConnectOptions): void;
}

/** The names of the environment variables an engine's clients read. */
interface Dialect {
  readonly host: string;
  readonly port: string;
  readonly database: string;
  readonly user: string;
  readonly password: string;
  /** The variable holding a URL with credentials; undefined when the engine's clients take none. */
  readonly url?: string;
  /** Variables for the TLS mode and CA file. */
  tlsEnv(mode: TlsMode, caFile: string | undefined, system: boolean): Array<[string, string]>;
  /** The query of the URL for the TLS mode and CA file. */
  urlQuery(mode: TlsMode, caFile: string | undefined, system: boolean): string[];
}

const DIALECTS: Record<string, Dialect> = {
  postgresql: {
    host: 'PGHOST',
    port: 'PGPORT',
    database: 'PGDATABASE',
    user: 'PGUSER',
    password: 'PGPASSWORD',
    url: 'DATABASE_URL',
    tlsEnv: (mode, caFile, system) => [['PGSSLMODE', pgSslMode(mode)], ...rootCert(caFile, system).map((v): [string, string] => ['PGSSLROOTCERT', v])],
    urlQuery: (mode, caFile, system) => [`sslmode=${pgSslMode(mode)}`, ...rootCert(caFile, system).map((v) => `sslrootcert=${v}`)],
  },
  mysql: {
    host: 'MYSQL_HOST',
    port: 'MYSQL_TCP_PORT',
    database: 'MYSQL_DATABASE',
    user: 'MYSQL_USER',
    password: 'MYSQL_PWD',
    url: 'DATABASE_URL',
    tlsEnv: (mode, caFile) => [['MYSQL_SSL_MODE', mysqlSslMode(mode)], ...optional('MYSQL_SSL_CA', caFile)],
    urlQuery: (mode, caFile) => [`ssl-mode=${mysqlSslMode(mode)}`, ...(caFile ? [`ssl-ca=${caFile}`] : [])],
  },
  mongodb: {
    host: 'MONGODB_HOST',
    port: 'MONGODB_PORT',
    database: 'MONGODB_DATABASE',
    user: 'MONGODB_USERNAME',
    password: 'MONGODB_PASSWORD',
    url: 'MONGODB_URI',
    tlsEnv: (mode, caFile) => [['MONGODB_TLS', String(mode.encrypted)], ...optional('MONGODB_TLS_CA_FILE', caFile)],
    urlQuery: (mode, caFile) => [
      `tls=${mode.encrypted}`,
      ...(caFile ? [`tlsCAFile=${caFile}`] : []),
      ...(mode === TlsMode.MONGODB_TLS_ALLOW_INVALID_HOSTNAMES ? ['tlsAllowInvalidHostnames=true'] : []),
      ...(mode === TlsMode.MONGODB_TLS_INSECURE ? ['tlsInsecure=true'] : []),
    ],
  },
  redis: {
    host: 'REDIS_HOST',
    port: 'REDIS_PORT',
    database: 'REDIS_DB',
    user: 'REDIS_USERNAME',
    password: 'REDIS_PASSWORD',
    url: 'REDIS_URL',
    tlsEnv: (mode, caFile) => [
      ['REDIS_TLS', String(mode.encrypted)],
      ...(mode === TlsMode.REDIS_TLS_INSECURE ? [['REDIS_TLS_INSECURE', 'true'] as [string, string]] : []),
      ...optional('REDIS_CA_FILE', caFile),
    ],
    urlQuery: () => [],
  },
  sqlserver: {
    host: 'MSSQL_HOST',
    port: 'MSSQL_PORT',
    database: 'MSSQL_DATABASE',
    user: 'MSSQL_USER',
    password: 'MSSQL_PASSWORD',
    url: 'DATABASE_URL',
    tlsEnv: (mode, caFile) => [
      ['MSSQL_ENCRYPT', sqlServerEncrypt(mode)],
      ['MSSQL_TRUST_SERVER_CERTIFICATE', String(mode === TlsMode.SQL_SERVER_TRUST_SERVER_CERTIFICATE)],
      ...optional('MSSQL_CA_FILE', caFile),
    ],
    urlQuery: (mode, caFile) => [
      `encrypt=${sqlServerEncrypt(mode)}`,
      `TrustServerCertificate=${mode === TlsMode.SQL_SERVER_TRUST_SERVER_CERTIFICATE}`,
      ...(caFile ? [`certificate=${caFile}`] : []),
    ],
  },
  oracle: {
    // Oracle clients take user and password apart from the connect string.
    host: 'ORACLE_HOST',
    port: 'ORACLE_PORT',
    database: 'ORACLE_SERVICE_NAME',
    user: 'ORACLE_USER',
    password: 'ORACLE_PASSWORD',
    tlsEnv: (mode, caFile) => [
      ['ORACLE_PROTOCOL', mode.encrypted ? 'TCPS' : 'TCP'],
      ...(mode.encrypted ? [['ORACLE_SSL_SERVER_DN_MATCH', mode.verifiesHostName ? 'on' : 'off'] as [string, string]] : []),
      ...optional('ORACLE_CA_FILE', caFile),
    ],
    urlQuery: () => [],
  },
  custom: {
    host: 'DATABASE_HOST',
    port: 'DATABASE_PORT',
    database: 'DATABASE_NAME',
    user: 'DATABASE_USERNAME',
    password: 'DATABASE_PASSWORD',
    url: 'DATABASE_URL',
    tlsEnv: (mode, caFile) => [['DATABASE_TLS_MODE', mode === TlsMode.DISABLED ? 'disable' : mode.name], ...optional('DATABASE_CA_FILE', caFile)],
    urlQuery: () => [],
  },
};

function pgSslMode(mode: TlsMode): string {
  return mode === TlsMode.DISABLED ? 'disable' : mode.name;
}
function mysqlSslMode(mode: TlsMode): string {
  return mode === TlsMode.DISABLED ? 'DISABLED' : mode.name;
}
function sqlServerEncrypt(mode: TlsMode): string {
  if (mode === TlsMode.DISABLED) return 'false';
  return mode === TlsMode.SQL_SERVER_STRICT ? 'strict' : 'true';
}
function rootCert(caFile: string | undefined, system: boolean): string[] {
  if (caFile) return [caFile];
  return system ? ['system'] : [];
}
function optional(name: string, value: string | undefined): Array<[string, string]> {
  return value === undefined ? [] : [[name, value]];
}

/** The TLS modes an engine family accepts, as `TlsMode.X` names, for messages. */
function modeNames(family: string, verifyingOnly: boolean = false): string[] {
  return Object.entries(TlsMode)
    .filter(([, v]) => v instanceof TlsMode && (v.family === family || v.family === '*'))
    .filter(([, v]) => !verifyingOnly || (v as TlsMode).verifiesCertificate)
    .map(([k]) => `TlsMode.${k}`);
}
function modeName(mode: TlsMode): string {
  const entry = Object.entries(TlsMode).find(([, v]) => v === mode);
  return entry ? `TlsMode.${entry[0]}` : mode.name;
}

const PORT_NAME = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/**
 * A database outside the cluster, named inside it.
 *
 * Synthesises a Service apps reach it by (ExternalName for a DNS name; a
 * Service without selector plus EndpointSlices for IP addresses), the
 * ExternalSecret for its credentials when asked, and on `connect()` the
 * engine's standard environment variables, an optional servicebinding.io
 * directory and an egress NetworkPolicy for the connecting workload.
 */
export class ExternalDatabase extends Construct implements IExternalDatabase {
  /** The Service name. */
  public readonly name: string;
  /** The Service's namespace, if known. */
  public readonly namespace?: string;
  /**
   * The cluster-internal name of the Service: `<name>.<namespace>.svc`, or
   * just `<name>` when the namespace is not known (then it resolves only from
   * the Service's own namespace).
   */
  public readonly serviceHost: string;
  /** The port of the Service. */
  public readonly servicePort: number;
  /** The port the database listens on. */
  public readonly port: number;
  /** How to reach the database. */
  public readonly connection: DatabaseConnection;

  private readonly engine: DatabaseEngine;
  private readonly tlsMode: TlsMode;
  private readonly tlsCa?: DatabaseCa;
  private readonly databaseName?: string;
  private readonly egressCidrs: string[];
  private readonly egressPolicy: boolean;
  private readonly connected = new Set<kplus.AbstractPod>();
  private bindingConfig?: kplus.ConfigMap;

  public constructor(scope: Construct, id: string, props: ExternalDatabaseProps) {
    super(scope, id);
    this.engine = props.engine;
    this.tlsMode = props.tlsMode;
    this.tlsCa = props.tlsCa;
    this.databaseName = props.databaseName;
    this.egressPolicy = props.egressPolicy ?? true;

    this.name = props.name ?? Names.toDnsLabel(this);
    if (!PORT_NAME.test(this.name) || this.name.length > 63) {
      fail(this, `name "${this.name}" is not a valid Service name`,
        'Use at most 63 lower-case letters, digits and "-", starting with a letter and ending with a letter or digit');
    }
    this.namespace = props.namespace ?? Chart.of(this).namespace;
    if (this.namespace !== undefined) validateDnsLabel(this, 'namespace', this.namespace);
    this.serviceHost = this.namespace ? `${this.name}.${this.namespace}.svc` : this.name;

    this.validateEngine();
    const port = props.port ?? this.engine.defaultPort;
    if (port === undefined) {
      fail(this, `engine "${this.engine.name}" has no default port and no port was given`,
        'Give port, or defaultPort in DatabaseEngine.custom()');
    }
    validatePort(this, 'port', port);
    this.port = port;
    this.servicePort = props.servicePort ?? port;
    validatePort(this, 'servicePort', this.servicePort);

    const endpoint = props.endpoint;
    if (endpoint.hostName !== undefined) {
      validateHostName(this, 'endpoint host name', endpoint.hostName);
      if (this.servicePort !== port) {
        fail(this, `servicePort ${this.servicePort} differs from port ${port}, but the database is given by DNS name`,
          'An ExternalName Service is a CNAME and cannot remap ports: drop servicePort, or give the database by IP addresses (DatabaseEndpoint.fromIpAddresses)');
      }
    } else {
      this.validateAddresses(endpoint.addresses);
    }

    this.validateTls(endpoint);
    this.validateDatabaseName();
    this.egressCidrs = this.validateEgress(props, endpoint);
    const credentials = this.bindCredentials(props.credentials);

    if (endpoint.hostName !== undefined) {
      new kplus.Service(this, 'Service', {
        metadata: { name: this.name, namespace: this.namespace },
        externalName: endpoint.hostName,
      });
    } else {
      this.createSelectorlessService(endpoint.addresses);
    }

    // A CNAME alias fails TLS host name verification: give apps the real name then.
    const host = endpoint.hostName !== undefined && this.tlsMode.verifiesHostName ? endpoint.hostName : this.serviceHost;
    this.connection = {
      engine: this.engine,
      host,
      port: this.servicePort,
      databaseName: this.databaseName,
      tlsMode: this.tlsMode,
      caSecret: this.tlsCa?.secret,
      caKey: this.tlsCa?.key,
      usesSystemTrustStore: this.tlsCa !== undefined && this.tlsCa.secret === undefined,
      credentialsSecret: credentials.secret,
      usernameKey: credentials.usernameKey,
      passwordKey: credentials.passwordKey,
      egressCidrs: [...this.egressCidrs],
    };
  }

  /**
   * Give a workload the connection settings (environment variables and/or a
   * servicebinding.io directory) and, unless `egressPolicy` is false, an
   * egress NetworkPolicy to the database and to DNS.
   *
   * The egress policy makes the workload's egress deny-by-default: traffic
   * not allowed by this or another NetworkPolicy selecting it is blocked.
   */
  public connect(workload: kplus.AbstractPod, options: ConnectOptions = {}): void {
    const workloadNamespace = workload.metadata.namespace;
    if (workloadNamespace !== undefined && this.namespace === undefined) {
      fail(this, `workload ${workload.node.path} is in namespace "${workloadNamespace}", but the database Service has no namespace`,
        `Give the ExternalDatabase namespace "${workloadNamespace}" (or put both in a chart with that namespace)`);
    }
    const prefix = options.envPrefix ?? '';
    const containers = checkConnect(this, workload, {
      connected: this.connected.has(workload),
      what: 'the database',
      namespace: this.namespace,
      // secretKeyRefs and volumes resolve in the pod's own namespace.
      namespaceFix: 'Pods read the credentials and CA Secrets from their own namespace: create the ExternalDatabase in the namespace of the workloads that connect to it',
      containers: options.containers,
      envPrefix: prefix,
      envPrefixExample: 'ORDERS_',
    });
    const bindingName = options.bindingName ?? this.name;
    if (options.serviceBinding) {
      validateDnsLabel(this, 'bindingName', bindingName);
    } else if (options.bindingName !== undefined) {
      fail(this, `bindingName "${options.bindingName}" is given but serviceBinding is off`, 'Set serviceBinding: true, or drop bindingName');
    }
    const withEnv = options.env ?? true;
    if (!withEnv && !options.serviceBinding) {
      fail(this, `connect() of workload ${workload.node.path} has both env and serviceBinding off`,
        'Leave env on (the default) or set serviceBinding: true; the workload would get no connection settings');
    }
    const n = this.connected.size;
    this.connected.add(workload);

    if (withEnv) {
      const vars = this.envFor(prefix);
      checkEnvFree(this, workload, containers, vars.map(([name]) => name),
        'Connect each database once; for several databases of the same engine give each connect() an envPrefix, e.g. "ORDERS_"');
      const ca = this.tlsCa?.secret && this.tlsCa.key
        ? kplus.Volume.fromSecret(this, `CaVolume${n}`, this.tlsCa.secret, {
          name: `${this.name}-ca`.slice(0, 63),
          items: { [this.tlsCa.key]: { path: 'ca.crt' } },
        })
        : undefined;
      for (const c of containers) {
        for (const [name, value] of vars) c.env.addVariable(name, value);
        if (ca) c.mount(`${CA_DIR}/${this.name}`, ca, { readOnly: true });
      }
    }

    if (options.serviceBinding) {
      const volume = this.bindingVolume(`BindingVolume${n}`, bindingName);
      for (const c of containers) {
        const root = c.env.variables.SERVICE_BINDING_ROOT;
        if (root === undefined) {
          c.env.addVariable('SERVICE_BINDING_ROOT', kplus.EnvValue.fromValue(BINDING_ROOT));
        } else if (root.value !== BINDING_ROOT) {
          fail(this, `container "${c.name}" sets SERVICE_BINDING_ROOT to "${root.value ?? '(a reference)'}"`,
            `cdk8s-state mounts bindings under ${BINDING_ROOT}: remove that variable or set it to ${BINDING_ROOT}`);
        }
        c.mount(`${BINDING_ROOT}/${bindingName}`, volume, { readOnly: true });
      }
    }

    if (this.egressPolicy) this.addEgressPolicy(workload, n);
  }

  private validateEngine(): void {
    const engine = this.engine;
    if (engine.family !== 'custom') return;
    if (engine.name.length > 15 || !PORT_NAME.test(engine.name)) {
      fail(this, `custom engine name "${engine.name}" is not a valid port name`,
        'Use at most 15 lower-case letters, digits and "-", starting with a letter');
    }
    if (!/^[a-z][a-z0-9+.-]*$/.test(engine.urlScheme)) {
      fail(this, `custom engine URL scheme "${engine.urlScheme}" is not a valid URL scheme`,
        'Use lower-case letters, digits, "+", "-" and ".", starting with a letter, without "://"');
    }
  }

  private validateAddresses(addresses: string[]): void {
    if (addresses.length === 0) {
      fail(this, 'the list of IP addresses is empty', 'Give at least one address in DatabaseEndpoint.fromIpAddresses()');
    }
    const seen = new Set<string>();
    for (const a of addresses) {
      if (isIP(a) === 0) {
        fail(this, `endpoint address "${a}" is not an IP address`,
          'Give DNS names with DatabaseEndpoint.fromHostName(), and addresses as IPv4 or IPv6 addresses without port or prefix');
      }
      if (seen.has(a)) {
        fail(this, `endpoint address "${a}" is given twice`, 'List each address once');
      }
      seen.add(a);
    }
    if (addresses.length > MAX_ENDPOINTS) {
      fail(this, `${addresses.length} endpoint addresses are more than an EndpointSlice holds (${MAX_ENDPOINTS})`,
        'Put the database behind a load balancer or DNS name');
    }
  }

  private validateTls(endpoint: DatabaseEndpoint): void {
    const mode = this.tlsMode;
    if (mode.family !== '*' && mode.family !== this.engine.family) {
      fail(this, `TLS mode ${modeName(mode)} is not a mode of engine "${this.engine.name}"`,
        `Use one of ${modeNames(this.engine.family).join(', ')}`);
    }
    if (mode.verifiesCertificate && this.tlsCa === undefined) {
      fail(this, `TLS mode ${modeName(mode)} verifies the server certificate, but no tlsCa was given`,
        'Give tlsCa: DatabaseCa.fromSecret(secret, key) with the CA that signed it, or DatabaseCa.systemTrustStore() for a publicly trusted certificate');
    }
    if (!mode.verifiesCertificate && this.tlsCa !== undefined) {
      fail(this, `tlsCa is given, but TLS mode ${modeName(mode)} does not verify the server certificate`,
        `Use a mode that verifies it (${modeNames(this.engine.family, true).join(', ')}), or drop tlsCa`);
    }
    if (mode.verifiesHostName && endpoint.hostName === undefined) {
      fail(this, `TLS mode ${modeName(mode)} verifies the host name, but the database is given by IP addresses`,
        'Apps would connect to the Service name, which the certificate does not carry: give the database by DNS name (DatabaseEndpoint.fromHostName), or use a mode that verifies the CA only');
    }
    if (this.tlsCa?.secret !== undefined && !SECRET_KEY.test(this.tlsCa.key ?? '')) {
      fail(this, `tlsCa key "${this.tlsCa.key}" is not a valid Secret key`, 'Use letters, digits, "-", "_" and "."');
    }
  }

  private validateDatabaseName(): void {
    const db = this.databaseName;
    if (db === undefined) return;
    if (this.engine === DatabaseEngine.REDIS) {
      if (!/^(0|[1-9]\d{0,3})$/.test(db)) {
        fail(this, `databaseName "${db}" is not a Redis database number`, 'Use a number such as "0" (Redis databases are numbered)');
      }
      return;
    }
    if (db.length === 0 || db.length > 128 || !/^[A-Za-z0-9_$.-]+$/.test(db)) {
      fail(this, `databaseName "${db}" cannot be put in a connection URL as it is`,
        'Use 1 to 128 letters, digits, "_", "$", "." and "-"');
    }
  }

  private validateEgress(props: ExternalDatabaseProps, endpoint: DatabaseEndpoint): string[] {
    if (!this.egressPolicy) {
      if (props.egressCidrs !== undefined) {
        fail(this, 'egressCidrs is given but egressPolicy is false', 'Drop egressCidrs, or drop egressPolicy: false to get the egress policy');
      }
      return [];
    }
    if (props.egressCidrs === undefined) {
      if (endpoint.hostName !== undefined) {
        fail(this, `the database is given by DNS name "${endpoint.hostName}" and no egressCidrs were given; NetworkPolicies cannot allow host names`,
          'Give egressCidrs (the address ranges the database is reachable at), or set egressPolicy: false and manage the egress of connected workloads yourself');
      }
      return endpoint.addresses.map((a) => (isIP(a) === 4 ? `${a}/32` : `${a}/128`));
    }
    if (props.egressCidrs.length === 0) {
      fail(this, 'egressCidrs is empty', 'Give the address ranges the database is reachable at, or set egressPolicy: false');
    }
    props.egressCidrs.forEach((cidr, i) => validateCidr(this, `egressCidrs[${i}]`, cidr));
    return [...props.egressCidrs];
  }

  private bindCredentials(credentials: DatabaseCredentials): { secret: kplus.ISecret; usernameKey: string; passwordKey: string } {
    if (credentials === undefined) {
      fail(this, 'no credentials were given', 'Give credentials: DatabaseCredentials.fromSecret(...) or DatabaseCredentials.fromExternalSecret(...)');
    }
    for (const [what, key] of [['usernameKey', credentials.usernameKey], ['passwordKey', credentials.passwordKey]]) {
      if (!SECRET_KEY.test(key)) {
        fail(this, `credentials ${what} "${key}" is not a valid Secret key`, 'Use letters, digits, "-", "_" and "."');
      }
    }
    if (credentials.usernameKey === credentials.passwordKey) {
      fail(this, `credentials usernameKey and passwordKey are both "${credentials.usernameKey}"`, 'Use different keys for the user name and the password');
    }
    const ext = credentials.externalSecret;
    if (ext === undefined) {
      return { secret: credentials.secret!, usernameKey: credentials.usernameKey, passwordKey: credentials.passwordKey };
    }
    const secretName = `${this.name}-credentials`.slice(0, 253);
    addExternalSecret(this, 'ExternalSecret', {
      name: secretName,
      namespace: this.namespace,
      source: ext,
      what: 'the credentials',
      remoteKeyFix: 'Give the key of the credentials in the store, e.g. "prod/orders-db"',
      data: [
        { secretKey: 'username', property: ext.usernameProperty ?? 'username' },
        { secretKey: 'password', property: ext.passwordProperty ?? 'password' },
      ],
    });
    return { secret: kplus.Secret.fromSecretName(this, 'Credentials', secretName), usernameKey: 'username', passwordKey: 'password' };
  }

  private createSelectorlessService(addresses: string[]): void {
    const portName = this.engine.name;
    // kplus.Service always renders `selector: {}`; a Service meant for
    // hand-written EndpointSlices must have no selector at all.
    new kplus.k8s.KubeService(this, 'Service', {
      metadata: { name: this.name, namespace: this.namespace },
      spec: {
        type: 'ClusterIP',
        ports: [{ name: portName, port: this.servicePort, targetPort: kplus.k8s.IntOrString.fromNumber(this.port), protocol: 'TCP' }],
      },
    });
    for (const family of [4, 6]) {
      const inFamily = addresses.filter((a) => isIP(a) === family);
      if (inFamily.length === 0) continue;
      new kplus.k8s.KubeEndpointSlice(this, `EndpointSlice${family === 4 ? 'IPv4' : 'IPv6'}`, {
        metadata: {
          name: `${this.name.slice(0, 58)}-ipv${family}`,
          namespace: this.namespace,
          labels: {
            'kubernetes.io/service-name': this.name,
            'endpointslice.kubernetes.io/managed-by': MANAGED_BY,
          },
        },
        addressType: family === 4 ? 'IPv4' : 'IPv6',
        // The port name matches the Service port: that is how the proxy pairs them.
        ports: [{ name: portName, port: this.port, protocol: 'TCP' }],
        endpoints: inFamily.map((a) => ({ addresses: [a], conditions: { ready: true } })),
      });
    }
  }

  /** The environment variables for one connection, in an order where `$(VAR)` references resolve. */
  private envFor(prefix: string): Array<[string, kplus.EnvValue]> {
    const d = DIALECTS[this.engine.family];
    const p = (name: string) => `${prefix}${name}`;
    const c = this.connection;
    const caFile = c.caSecret ? `${CA_DIR}/${this.name}/ca.crt` : undefined;
    const vars: Array<[string, kplus.EnvValue]> = [
      [p(d.host), kplus.EnvValue.fromValue(c.host)],
      [p(d.port), kplus.EnvValue.fromValue(String(c.port))],
    ];
    if (c.databaseName !== undefined) vars.push([p(d.database), kplus.EnvValue.fromValue(c.databaseName)]);
    vars.push([p(d.user), kplus.EnvValue.fromSecretValue({ secret: c.credentialsSecret, key: c.usernameKey })]);
    vars.push([p(d.password), kplus.EnvValue.fromSecretValue({ secret: c.credentialsSecret, key: c.passwordKey })]);
    for (const [name, value] of d.tlsEnv(c.tlsMode, caFile, c.usesSystemTrustStore)) vars.push([p(name), kplus.EnvValue.fromValue(value)]);

    const ref = (name: string) => `$(${p(name)})`;
    if (this.engine.family === 'oracle') {
      // Easy Connect Plus; Oracle clients take user and password separately.
      const protocol = c.tlsMode.encrypted ? 'tcps' : 'tcp';
      const query = c.tlsMode.encrypted ? `?ssl_server_dn_match=${c.tlsMode.verifiesHostName ? 'on' : 'off'}` : '';
      const service = c.databaseName !== undefined ? `/${ref(d.database)}` : '';
      vars.push([p('ORACLE_CONNECT_STRING'), kplus.EnvValue.fromValue(`${protocol}://${ref(d.host)}:${ref(d.port)}${service}${query}`)]);
    } else if (d.url !== undefined) {
      const scheme = this.engine === DatabaseEngine.REDIS && c.tlsMode.encrypted ? 'rediss' : this.engine.urlScheme;
      const query = d.urlQuery(c.tlsMode, caFile, c.usesSystemTrustStore);
      let path = '';
      if (c.databaseName !== undefined) {
        if (this.engine.family === 'sqlserver') query.unshift(`database=${ref(d.database)}`);
        else path = `/${ref(d.database)}`;
      }
      const url = `${scheme}://${ref(d.user)}:${ref(d.password)}@${ref(d.host)}:${ref(d.port)}${path}${query.length ? `?${query.join('&')}` : ''}`;
      vars.push([p(d.url), kplus.EnvValue.fromValue(url)]);
    }
    const names = vars.map(([name]) => name);
    const dup = names.find((name, i) => names.indexOf(name) !== i);
    if (dup !== undefined) throw new Error(`cdk8s-state: engine ${this.engine.name} defines ${dup} twice`);
    return vars;
  }

  /** A projected servicebinding.io directory: type, host, port, database, username, password, certificates. */
  private bindingVolume(id: string, bindingName: string): kplus.Volume {
    const c = this.connection;
    if (!this.bindingConfig) {
      const data: Record<string, string> = { type: this.engine.name, host: c.host, port: String(c.port) };
      if (c.databaseName !== undefined) data.database = c.databaseName;
      if (this.engine.family === 'postgresql') data.sslmode = pgSslMode(c.tlsMode);
      this.bindingConfig = new kplus.ConfigMap(this, 'Binding', {
        metadata: { name: `${this.name.slice(0, 55)}-binding`, namespace: this.namespace },
        data,
      });
    }
    const sources: kplus.k8s.VolumeProjection[] = [
      { configMap: { name: this.bindingConfig.name, items: Object.keys(this.bindingConfig.data).map((k) => ({ key: k, path: k })) } },
      {
        secret: {
          name: c.credentialsSecret.name,
          items: [{ key: c.usernameKey, path: 'username' }, { key: c.passwordKey, path: 'password' }],
        },
      },
    ];
    if (c.caSecret && c.caKey) sources.push({ secret: { name: c.caSecret.name, items: [{ key: c.caKey, path: 'certificates' }] } });
    return projectedVolume(this, id, `binding-${bindingName}`.slice(0, 63), { sources });
  }

  private addEgressPolicy(workload: kplus.AbstractPod, n: number): void {
    const policy = new kplus.NetworkPolicy(this, `Egress${n}`, {
      selector: workload,
      metadata: { namespace: workload.metadata.namespace ?? this.namespace },
    });
    this.egressCidrs.forEach((cidr, i) => {
      const block = isIP(cidr.split('/')[0]) === 6
        ? kplus.NetworkPolicyIpBlock.ipv6(policy, `Cidr${i}`, cidr)
        : kplus.NetworkPolicyIpBlock.ipv4(policy, `Cidr${i}`, cidr);
      policy.addEgressRule(block, [kplus.NetworkPolicyPort.tcp(this.port)]);
    });
    const kubeDns = kplus.Pods.select(policy, 'KubeDns', {
      labels: { 'k8s-app': 'kube-dns' },
      namespaces: kplus.Namespaces.select(policy, 'KubeSystem', { names: ['kube-system'] }),
    });
    policy.addEgressRule(kubeDns, [kplus.NetworkPolicyPort.udp(53), kplus.NetworkPolicyPort.tcp(53)]);
  }
}
