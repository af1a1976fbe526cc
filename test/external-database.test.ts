import { Chart, Duration, Size, Testing } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import {
  DatabaseCa, DatabaseCredentials, DatabaseEndpoint, DatabaseEngine, ExternalDatabase, ExternalDatabaseProps,
  SecretStoreRef, TlsMode,
} from '../src';
import { synthAndCheck } from './manifest-checks';
import { SECURE_CONTAINER_CONTEXT } from './secure-workload';

/** A workload that passes the manifest checks on its own (one replica, no PDB needed). */
function app(scope: Chart, id = 'app', namespace?: string): kplus.Deployment {
  return new kplus.Deployment(scope, id, {
    metadata: namespace ? { namespace } : undefined,
    replicas: 1,
    securityContext: { user: 10001, group: 10001, ensureNonRoot: true },
    containers: [{
      name: 'app',
      image: 'ghcr.io/example/orders:1.4.2',
      portNumber: 8080,
      resources: {
        cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(500) },
        memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
        // cdk8s-plus renders ephemeral storage in whole gibibytes.
        ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(2) },
      },
      securityContext: SECURE_CONTAINER_CONTEXT,
      readiness: kplus.Probe.fromHttpGet('/readyz', { port: 8080 }),
      liveness: kplus.Probe.fromHttpGet('/healthz', { port: 8080 }),
    }],
  });
}

function chart(namespace?: string): Chart {
  return new Chart(Testing.app(), 'test', { namespace });
}

/** A reference to an existing Secret (only its name ends up in manifests). */
function secretOf(c: Chart, name = 'orders-db-credentials'): kplus.ISecret {
  const existing = c.node.tryFindChild(`Secret-${name}`) as kplus.ISecret | undefined;
  return existing ?? kplus.Secret.fromSecretName(c, `Secret-${name}`, name);
}

/** A valid PostgreSQL-by-host-name database; tests override one prop at a time. */
function pgProps(c: Chart, overrides: Partial<ExternalDatabaseProps> = {}): ExternalDatabaseProps {
  return {
    engine: DatabaseEngine.POSTGRESQL,
    name: 'orders-db',
    endpoint: DatabaseEndpoint.fromHostName('orders.abc123.eu-west-1.rds.amazonaws.com'),
    credentials: DatabaseCredentials.fromSecret(secretOf(c)),
    tlsMode: TlsMode.POSTGRES_VERIFY_FULL,
    tlsCa: DatabaseCa.fromSecret(secretOf(c, 'rds-ca'), 'ca.pem'),
    databaseName: 'orders',
    egressCidrs: ['10.20.0.0/16'],
    ...overrides,
  };
}

function byKind(manifests: any[], kind: string): any[] {
  return manifests.filter((m) => m.kind === kind);
}

function envOf(manifests: any[], container = 'app'): Record<string, any> {
  const deployment = byKind(manifests, 'Deployment')[0];
  const c = deployment.spec.template.spec.containers.find((x: any) => x.name === container);
  return Object.fromEntries((c.env ?? []).map((e: any) => [e.name, e.value ?? e.valueFrom]));
}

/** Resolves $(VAR) references the way the kubelet does: only to variables defined earlier. */
function expandUrl(manifests: any[], urlVar: string, values: Record<string, string>): string {
  const deployment = byKind(manifests, 'Deployment')[0];
  const env: any[] = deployment.spec.template.spec.containers[0].env;
  const seen: Record<string, string> = {};
  for (const e of env) {
    const v = e.value !== undefined
      ? e.value.replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m: string, name: string) => seen[name] ?? m)
      : values[e.name];
    seen[e.name] = v;
  }
  return seen[urlVar];
}

describe('ExternalDatabase by DNS name', () => {
  test('an ExternalName Service, no ports, and apps get the real host name when TLS verifies it', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c));
    db.connect(app(c));
    const manifests = synthAndCheck(c);

    const [service] = byKind(manifests, 'Service');
    expect(service).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'orders-db', namespace: 'shop' },
      spec: { type: 'ExternalName', externalName: 'orders.abc123.eu-west-1.rds.amazonaws.com' },
    });
    expect(db.serviceHost).toBe('orders-db.shop.svc');
    // verify-full checks the certificate names the host: the CNAME alias would fail it.
    expect(db.connection.host).toBe('orders.abc123.eu-west-1.rds.amazonaws.com');

    const env = envOf(manifests);
    expect(env.PGHOST).toBe('orders.abc123.eu-west-1.rds.amazonaws.com');
    expect(env.PGPORT).toBe('5432');
    expect(env.PGDATABASE).toBe('orders');
    expect(env.PGUSER).toEqual({ secretKeyRef: { name: 'orders-db-credentials', key: 'username' } });
    expect(env.PGPASSWORD).toEqual({ secretKeyRef: { name: 'orders-db-credentials', key: 'password' } });
    expect(env.PGSSLMODE).toBe('verify-full');
    expect(env.PGSSLROOTCERT).toBe('/var/run/secrets/cdk8s-state/databases/orders-db/ca.crt');
    expect(expandUrl(manifests, 'DATABASE_URL', { PGUSER: 'alice', PGPASSWORD: 's3cret' })).toBe(
      'postgresql://alice:s3cret@orders.abc123.eu-west-1.rds.amazonaws.com:5432/orders'
      + '?sslmode=verify-full&sslrootcert=/var/run/secrets/cdk8s-state/databases/orders-db/ca.crt');

    // The CA is mounted from its Secret key as ca.crt, read-only.
    const pod = byKind(manifests, 'Deployment')[0].spec.template.spec;
    expect(pod.volumes).toEqual([{ name: 'orders-db-ca', secret: { secretName: 'rds-ca', items: [{ key: 'ca.pem', path: 'ca.crt' }] } }]);
    expect(pod.containers[0].volumeMounts).toEqual([{ name: 'orders-db-ca', mountPath: '/var/run/secrets/cdk8s-state/databases/orders-db', readOnly: true }]);

    // No literal secret anywhere: the password only ever appears as a secretKeyRef.
    expect(JSON.stringify(manifests)).not.toMatch(/s3cret/);
  });

  test('without host name verification apps use the Service name', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c, { tlsMode: TlsMode.POSTGRES_VERIFY_CA }));
    db.connect(app(c));
    const env = envOf(synthAndCheck(c));
    expect(env.PGHOST).toBe('orders-db.shop.svc');
    expect(env.PGSSLMODE).toBe('verify-ca');
  });

  test('without a known namespace the host is the short Service name', () => {
    const c = chart();
    const db = new ExternalDatabase(c, 'orders', pgProps(c, { tlsMode: TlsMode.POSTGRES_REQUIRE, tlsCa: undefined }));
    expect(db.serviceHost).toBe('orders-db');
    expect(db.connection.host).toBe('orders-db');
  });

  test('the egress policy allows the database CIDRs on its port and DNS to kube-dns, nothing else', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c, { egressCidrs: ['10.20.0.0/16', '2001:db8::/64'] }));
    const workload = app(c);
    db.connect(workload);
    const manifests = synthAndCheck(c);
    const [policy] = byKind(manifests, 'NetworkPolicy');
    const podLabels = byKind(manifests, 'Deployment')[0].spec.template.metadata.labels;
    expect(policy.metadata.namespace).toBe('shop');
    expect(policy.spec.podSelector.matchLabels).toEqual(podLabels);
    expect(policy.spec.policyTypes).toEqual(['Egress']);
    expect(policy.spec.egress).toEqual([
      { to: [{ ipBlock: { cidr: '10.20.0.0/16' } }], ports: [{ port: 5432, protocol: 'TCP' }] },
      { to: [{ ipBlock: { cidr: '2001:db8::/64' } }], ports: [{ port: 5432, protocol: 'TCP' }] },
      {
        to: [{
          podSelector: { matchLabels: { 'k8s-app': 'kube-dns' } },
          namespaceSelector: { matchLabels: { 'kubernetes.io/metadata.name': 'kube-system' } },
        }],
        ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }],
      },
    ]);
  });

  test('egressPolicy: false creates no policy and no CIDRs', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c, { egressCidrs: undefined, egressPolicy: false }));
    db.connect(app(c));
    // The workload has no NetworkPolicy now, so the checks are not run on it here: that is the user's part.
    const manifests = Testing.synth(c);
    expect(byKind(manifests, 'NetworkPolicy')).toEqual([]);
    expect(db.connection.egressCidrs).toEqual([]);
  });
});

describe('ExternalDatabase by IP addresses', () => {
  test('a Service without selector and one EndpointSlice per address family, ports remapped by name', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'billing', {
      engine: DatabaseEngine.MYSQL,
      name: 'billing-db',
      endpoint: DatabaseEndpoint.fromIpAddresses(['10.0.5.10', '10.0.5.11', 'fd00::10']),
      port: 3307,
      servicePort: 3306,
      credentials: DatabaseCredentials.fromSecret(secretOf(c, 'billing'), { usernameKey: 'user', passwordKey: 'pass' }),
      tlsMode: TlsMode.MYSQL_VERIFY_CA,
      tlsCa: DatabaseCa.fromSecret(secretOf(c, 'billing-ca')),
      databaseName: 'billing',
    });
    db.connect(app(c));
    const manifests = synthAndCheck(c);

    const [service] = byKind(manifests, 'Service');
    expect(service.spec).toEqual({
      type: 'ClusterIP',
      ports: [{ name: 'mysql', port: 3306, targetPort: 3307, protocol: 'TCP' }],
    });
    expect(service.spec.selector).toBeUndefined();
    const slices = byKind(manifests, 'EndpointSlice');
    expect(slices.map((s) => s.apiVersion)).toEqual(['discovery.k8s.io/v1', 'discovery.k8s.io/v1']);
    expect(slices[0]).toMatchObject({
      metadata: {
        name: 'billing-db-ipv4',
        namespace: 'shop',
        labels: { 'kubernetes.io/service-name': 'billing-db', 'endpointslice.kubernetes.io/managed-by': 'cdk8s-state' },
      },
      addressType: 'IPv4',
      ports: [{ name: 'mysql', port: 3307, protocol: 'TCP' }],
      endpoints: [{ addresses: ['10.0.5.10'], conditions: { ready: true } }, { addresses: ['10.0.5.11'], conditions: { ready: true } }],
    });
    expect(slices[1]).toMatchObject({ addressType: 'IPv6', endpoints: [{ addresses: ['fd00::10'] }] });
    // The Service port name is the one the EndpointSlice port carries.
    expect(slices.every((s) => s.ports[0].name === service.spec.ports[0].name)).toBe(true);

    const env = envOf(manifests);
    expect(env.MYSQL_HOST).toBe('billing-db.shop.svc');
    expect(env.MYSQL_TCP_PORT).toBe('3306');
    expect(env.MYSQL_USER).toEqual({ secretKeyRef: { name: 'billing', key: 'user' } });
    expect(env.MYSQL_PWD).toEqual({ secretKeyRef: { name: 'billing', key: 'pass' } });
    expect(env.MYSQL_SSL_MODE).toBe('VERIFY_CA');
    expect(expandUrl(manifests, 'DATABASE_URL', { MYSQL_USER: 'bob', MYSQL_PWD: 'pw' })).toBe(
      'mysql://bob:pw@billing-db.shop.svc:3306/billing?ssl-mode=VERIFY_CA&ssl-ca=/var/run/secrets/cdk8s-state/databases/billing-db/ca.crt');

    // Egress goes to each address on the database's real port (policies apply after the Service's DNAT).
    const [policy] = byKind(manifests, 'NetworkPolicy');
    expect(policy.spec.egress.slice(0, 3)).toEqual([
      { to: [{ ipBlock: { cidr: '10.0.5.10/32' } }], ports: [{ port: 3307, protocol: 'TCP' }] },
      { to: [{ ipBlock: { cidr: '10.0.5.11/32' } }], ports: [{ port: 3307, protocol: 'TCP' }] },
      { to: [{ ipBlock: { cidr: 'fd00::10/128' } }], ports: [{ port: 3307, protocol: 'TCP' }] },
    ]);
  });
});

describe('credentials from an ExternalSecret', () => {
  test('an external-secrets.io/v1 ExternalSecret writes the Secret the apps read', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c, {
      credentials: DatabaseCredentials.fromExternalSecret({
        store: SecretStoreRef.clusterSecretStore('aws-secrets-manager'),
        remoteKey: 'prod/orders-db',
        passwordProperty: 'pw',
        refreshInterval: Duration.minutes(15),
      }),
    }));
    db.connect(app(c));
    const manifests = synthAndCheck(c);
    const [es] = byKind(manifests, 'ExternalSecret');
    expect(es).toEqual({
      apiVersion: 'external-secrets.io/v1',
      kind: 'ExternalSecret',
      metadata: { name: 'orders-db-credentials', namespace: 'shop' },
      spec: {
        refreshInterval: '900s',
        secretStoreRef: { kind: 'ClusterSecretStore', name: 'aws-secrets-manager' },
        target: { name: 'orders-db-credentials', creationPolicy: 'Owner' },
        data: [
          { secretKey: 'username', remoteRef: { key: 'prod/orders-db', property: 'username' } },
          { secretKey: 'password', remoteRef: { key: 'prod/orders-db', property: 'pw' } },
        ],
      },
    });
    expect(envOf(manifests).PGPASSWORD).toEqual({ secretKeyRef: { name: 'orders-db-credentials', key: 'password' } });
    expect(db.connection.credentialsSecret.name).toBe('orders-db-credentials');
  });
});

describe('engines', () => {
  function connectEnv(props: (c: Chart) => Partial<ExternalDatabaseProps>, values: Record<string, string>, urlVar: string) {
    const c = chart('data');
    const db = new ExternalDatabase(c, 'db', {
      engine: DatabaseEngine.POSTGRESQL,
      name: 'main-db',
      endpoint: DatabaseEndpoint.fromIpAddresses(['10.1.2.3']),
      credentials: DatabaseCredentials.fromSecret(secretOf(c, 'creds')),
      tlsMode: TlsMode.DISABLED,
      ...props(c),
    });
    db.connect(app(c));
    const manifests = synthAndCheck(c);
    return { env: envOf(manifests), url: expandUrl(manifests, urlVar, values) };
  }

  test('MongoDB: MONGODB_URI with tls options', () => {
    const { env, url } = connectEnv(() => ({
      engine: DatabaseEngine.MONGODB,
      tlsMode: TlsMode.MONGODB_TLS_ALLOW_INVALID_HOSTNAMES,
      tlsCa: DatabaseCa.systemTrustStore(),
      databaseName: 'catalog',
    }), { MONGODB_USERNAME: 'u', MONGODB_PASSWORD: 'p' }, 'MONGODB_URI');
    expect(env.MONGODB_TLS).toBe('true');
    expect(url).toBe('mongodb://u:p@main-db.data.svc:27017/catalog?tls=true&tlsAllowInvalidHostnames=true');
  });

  test('Redis: rediss:// and a numeric database', () => {
    const { env, url } = connectEnv((c) => ({
      engine: DatabaseEngine.REDIS,
      endpoint: DatabaseEndpoint.fromHostName('cache.example.net'),
      egressCidrs: ['192.0.2.0/24'],
      tlsMode: TlsMode.REDIS_TLS,
      tlsCa: DatabaseCa.fromSecret(secretOf(c, 'redis-ca')),
      databaseName: '2',
    }), { REDIS_USERNAME: 'default', REDIS_PASSWORD: 'p' }, 'REDIS_URL');
    expect(env.REDIS_TLS).toBe('true');
    expect(env.REDIS_CA_FILE).toBe('/var/run/secrets/cdk8s-state/databases/main-db/ca.crt');
    expect(url).toBe('rediss://default:p@cache.example.net:6379/2');
  });

  test('SQL Server: encrypt and TrustServerCertificate', () => {
    const { env, url } = connectEnv(() => ({
      engine: DatabaseEngine.SQL_SERVER,
      tlsMode: TlsMode.SQL_SERVER_TRUST_SERVER_CERTIFICATE,
      databaseName: 'erp',
    }), { MSSQL_USER: 'sa', MSSQL_PASSWORD: 'p' }, 'DATABASE_URL');
    expect(env.MSSQL_ENCRYPT).toBe('true');
    expect(env.MSSQL_TRUST_SERVER_CERTIFICATE).toBe('true');
    expect(url).toBe('sqlserver://sa:p@main-db.data.svc:1433?database=erp&encrypt=true&TrustServerCertificate=true');
  });

  test('Oracle: a TCPS Easy Connect string without credentials', () => {
    const { env, url } = connectEnv((c) => ({
      engine: DatabaseEngine.ORACLE,
      tlsMode: TlsMode.ORACLE_TCPS_NO_DN_MATCH,
      tlsCa: DatabaseCa.fromSecret(secretOf(c, 'ora-ca')),
      databaseName: 'ORCLPDB1',
    }), {}, 'ORACLE_CONNECT_STRING');
    expect(env.ORACLE_PROTOCOL).toBe('TCPS');
    expect(env.DATABASE_URL).toBeUndefined();
    expect(url).toBe('tcps://main-db.data.svc:1521/ORCLPDB1?ssl_server_dn_match=off');
  });

  test('MariaDB takes the MySQL modes and its own URL scheme', () => {
    const { url } = connectEnv(() => ({ engine: DatabaseEngine.MARIADB, tlsMode: TlsMode.MYSQL_REQUIRED }),
      { MYSQL_USER: 'u', MYSQL_PWD: 'p' }, 'DATABASE_URL');
    expect(url).toBe('mariadb://u:p@main-db.data.svc:3306?ssl-mode=REQUIRED');
  });

  test('a custom engine: generic DATABASE_* variables and its default port', () => {
    const { env, url } = connectEnv(() => ({
      engine: DatabaseEngine.custom({ name: 'cockroachdb', defaultPort: 26257, urlScheme: 'postgresql' }),
      tlsMode: TlsMode.TLS_REQUIRE,
      databaseName: 'ledger',
    }), { DATABASE_USERNAME: 'u', DATABASE_PASSWORD: 'p' }, 'DATABASE_URL');
    expect(env.DATABASE_PORT).toBe('26257');
    expect(env.DATABASE_TLS_MODE).toBe('require');
    expect(url).toBe('postgresql://u:p@main-db.data.svc:26257/ledger');
  });

  test('PostgreSQL with the system trust store: sslrootcert=system', () => {
    const { env } = connectEnv(() => ({
      endpoint: DatabaseEndpoint.fromHostName('db.example.com'),
      egressCidrs: ['198.51.100.0/24'],
      tlsMode: TlsMode.POSTGRES_VERIFY_FULL,
      tlsCa: DatabaseCa.systemTrustStore(),
    }), {}, 'DATABASE_URL');
    expect(env.PGSSLROOTCERT).toBe('system');
  });
});

describe('connect()', () => {
  test('envPrefix connects two databases of one engine to the same container', () => {
    const c = chart('shop');
    const orders = new ExternalDatabase(c, 'orders', pgProps(c));
    const billing = new ExternalDatabase(c, 'billing', pgProps(c, {
      name: 'billing-db',
      endpoint: DatabaseEndpoint.fromHostName('billing.example.com'),
      credentials: DatabaseCredentials.fromSecret(secretOf(c, 'billing')),
    }));
    const workload = app(c);
    orders.connect(workload);
    billing.connect(workload, { envPrefix: 'BILLING_' });
    const manifests = synthAndCheck(c);
    const env = envOf(manifests);
    expect(env.PGHOST).toBe('orders.abc123.eu-west-1.rds.amazonaws.com');
    expect(env.BILLING_PGHOST).toBe('billing.example.com');
    expect(expandUrl(manifests, 'BILLING_DATABASE_URL', { BILLING_PGUSER: 'b', BILLING_PGPASSWORD: 'q' }))
      .toMatch(/^postgresql:\/\/b:q@billing\.example\.com:5432\/orders\?/);
    expect(byKind(manifests, 'NetworkPolicy')).toHaveLength(2);
  });

  test('serviceBinding projects one servicebinding.io directory from a ConfigMap and the Secrets', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c));
    db.connect(app(c), { env: false, serviceBinding: true });
    const manifests = synthAndCheck(c);
    const [config] = byKind(manifests, 'ConfigMap');
    expect(config.metadata.name).toBe('orders-db-binding');
    expect(config.data).toEqual({
      type: 'postgresql', host: 'orders.abc123.eu-west-1.rds.amazonaws.com', port: '5432', database: 'orders', sslmode: 'verify-full',
    });
    const pod = byKind(manifests, 'Deployment')[0].spec.template.spec;
    expect(pod.volumes).toEqual([{
      name: 'binding-orders-db',
      projected: {
        sources: [
          {
            configMap: {
              name: 'orders-db-binding',
              items: ['type', 'host', 'port', 'database', 'sslmode'].map((k) => ({ key: k, path: k })),
            },
          },
          { secret: { name: 'orders-db-credentials', items: [{ key: 'username', path: 'username' }, { key: 'password', path: 'password' }] } },
          { secret: { name: 'rds-ca', items: [{ key: 'ca.pem', path: 'certificates' }] } },
        ],
      },
    }]);
    expect(pod.containers[0].volumeMounts).toEqual([{ name: 'binding-orders-db', mountPath: '/bindings/orders-db', readOnly: true }]);
    expect(envOf(manifests)).toEqual({ SERVICE_BINDING_ROOT: '/bindings' });
  });
});

describe('the typed connection other constructs read', () => {
  test('exposes host, port, database, TLS, CA and credential references', () => {
    const c = chart('shop');
    const caSecret = secretOf(c, 'rds-ca');
    const credentials = secretOf(c);
    const db = new ExternalDatabase(c, 'orders', pgProps(c, {
      credentials: DatabaseCredentials.fromSecret(credentials, { usernameKey: 'user', passwordKey: 'pass' }),
      tlsCa: DatabaseCa.fromSecret(caSecret, 'ca.pem'),
    }));
    expect(db.connection).toEqual({
      engine: DatabaseEngine.POSTGRESQL,
      host: 'orders.abc123.eu-west-1.rds.amazonaws.com',
      port: 5432,
      databaseName: 'orders',
      tlsMode: TlsMode.POSTGRES_VERIFY_FULL,
      caSecret,
      caKey: 'ca.pem',
      usesSystemTrustStore: false,
      credentialsSecret: credentials,
      usernameKey: 'user',
      passwordKey: 'pass',
      egressCidrs: ['10.20.0.0/16'],
    });
  });

  test('for IP addresses the port is the Service port, not the database port', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c, {
      endpoint: DatabaseEndpoint.fromIpAddresses(['10.0.0.7']),
      port: 6432,
      servicePort: 5432,
      tlsMode: TlsMode.POSTGRES_VERIFY_CA,
      egressCidrs: undefined,
    }));
    expect(db.connection.host).toBe('orders-db.shop.svc');
    expect(db.connection.port).toBe(5432);
    expect(db.port).toBe(6432);
    expect(db.connection.egressCidrs).toEqual(['10.0.0.7/32']);
  });
});

describe('connect() with chosen containers', () => {
  test('an init container (e.g. migrations) gets the variables, the other containers do not', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c));
    const workload = app(c);
    const migrate = workload.addInitContainer({
      name: 'migrate',
      image: 'ghcr.io/example/orders-migrations:1.4.2',
      resources: {
        cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(500) },
        memory: { request: Size.mebibytes(128), limit: Size.mebibytes(256) },
        ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(2) },
      },
      securityContext: SECURE_CONTAINER_CONTEXT,
    });
    db.connect(workload, { containers: [migrate] });
    const pod = byKind(synthAndCheck(c), 'Deployment')[0].spec.template.spec;
    expect(pod.initContainers[0].env.map((e: any) => e.name)).toContain('PGPASSWORD');
    expect(pod.initContainers[0].volumeMounts).toEqual([{ name: 'orders-db-ca', mountPath: '/var/run/secrets/cdk8s-state/databases/orders-db', readOnly: true }]);
    expect(pod.containers[0].env).toBeUndefined();
  });

  test('a container of another workload is refused', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c));
    const other = app(c, 'other');
    expect(() => db.connect(app(c), { containers: [other.containers[0]] })).toThrow(
      'test/orders: container "app" does not belong to workload test/app. Pass containers of that workload only');
  });
});

describe('bad input fails at synth with the construct path, the value and the fix', () => {
  function make(overrides: (c: Chart) => Partial<ExternalDatabaseProps>, ns = 'shop'): () => ExternalDatabase {
    return () => {
      const c = chart(ns);
      return new ExternalDatabase(c, 'orders', pgProps(c, overrides(c)));
    };
  }

  test('an IP address given as a DNS name', () => {
    expect(make(() => ({ endpoint: DatabaseEndpoint.fromHostName('10.0.0.7') }))).toThrow(
      'test/orders: endpoint host name "10.0.0.7" is an IP address, not a DNS name. '
      + 'Give IP addresses as addresses (they become an EndpointSlice), or give a DNS name here');
  });

  test('a DNS name given as an IP address', () => {
    expect(make(() => ({ endpoint: DatabaseEndpoint.fromIpAddresses(['db.example.com']), tlsMode: TlsMode.POSTGRES_VERIFY_CA }))).toThrow(
      'test/orders: endpoint address "db.example.com" is not an IP address. '
      + 'Give DNS names with DatabaseEndpoint.fromHostName(), and addresses as IPv4 or IPv6 addresses without port or prefix');
  });

  test('a port out of range', () => {
    expect(make(() => ({ port: 70000 }))).toThrow('test/orders: port 70000 is out of range. Use a whole number from 1 to 65535');
  });

  test('a Service name that is not a DNS label', () => {
    expect(make(() => ({ name: 'Orders_DB' }))).toThrow(
      'test/orders: name "Orders_DB" is not a valid Service name. '
      + 'Use at most 63 lower-case letters, digits and "-", starting with a letter and ending with a letter or digit');
  });

  test('a host name that is not DNS-1123', () => {
    expect(make(() => ({ endpoint: DatabaseEndpoint.fromHostName('orders_db.example.com') }))).toThrow(
      'test/orders: endpoint host name "orders_db.example.com" is not a valid DNS name. '
      + 'Use lower-case letters, digits, "-" and "." (a DNS-1123 subdomain, at most 253 characters)');
  });

  test('TLS verification without a CA', () => {
    expect(make(() => ({ tlsCa: undefined }))).toThrow(
      'test/orders: TLS mode TlsMode.POSTGRES_VERIFY_FULL verifies the server certificate, but no tlsCa was given. '
      + 'Give tlsCa: DatabaseCa.fromSecret(secret, key) with the CA that signed it, or DatabaseCa.systemTrustStore() for a publicly trusted certificate');
  });

  test('a CA with a mode that does not verify', () => {
    expect(make(() => ({ tlsMode: TlsMode.POSTGRES_REQUIRE }))).toThrow(
      'test/orders: tlsCa is given, but TLS mode TlsMode.POSTGRES_REQUIRE does not verify the server certificate. '
      + 'Use a mode that verifies it (TlsMode.POSTGRES_VERIFY_CA, TlsMode.POSTGRES_VERIFY_FULL), or drop tlsCa');
  });

  test('a TLS mode of another engine', () => {
    expect(make(() => ({ tlsMode: TlsMode.MYSQL_VERIFY_IDENTITY }))).toThrow(
      'test/orders: TLS mode TlsMode.MYSQL_VERIFY_IDENTITY is not a mode of engine "postgresql". '
      + 'Use one of TlsMode.DISABLED, TlsMode.POSTGRES_ALLOW, TlsMode.POSTGRES_PREFER, TlsMode.POSTGRES_REQUIRE, '
      + 'TlsMode.POSTGRES_VERIFY_CA, TlsMode.POSTGRES_VERIFY_FULL');
  });

  test('host name verification with IP addresses', () => {
    expect(make(() => ({ endpoint: DatabaseEndpoint.fromIpAddresses(['10.0.0.7']) }))).toThrow(
      'test/orders: TLS mode TlsMode.POSTGRES_VERIFY_FULL verifies the host name, but the database is given by IP addresses. '
      + 'Apps would connect to the Service name, which the certificate does not carry: give the database by DNS name '
      + '(DatabaseEndpoint.fromHostName), or use a mode that verifies the CA only');
  });

  test('an ExternalSecret without a store', () => {
    expect(make(() => ({ credentials: DatabaseCredentials.fromExternalSecret({ remoteKey: 'prod/orders' } as any) }))).toThrow(
      'test/orders: the ExternalSecret for the credentials has no store. '
      + 'Give store: SecretStoreRef.secretStore(name) or SecretStoreRef.clusterSecretStore(name)');
  });

  test('an ExternalSecret store name that is not a Kubernetes name', () => {
    expect(make(() => ({
      credentials: DatabaseCredentials.fromExternalSecret({ store: SecretStoreRef.secretStore('Vault Prod'), remoteKey: 'prod/orders' }),
    }))).toThrow('test/orders: secret store name "Vault Prod" is not a valid Kubernetes name. '
      + 'Use the name of an existing SecretStore or ClusterSecretStore (lower-case letters, digits, "-" and ".")');
  });

  test('a DNS name with neither egressCidrs nor the opt-out', () => {
    expect(make(() => ({ egressCidrs: undefined }))).toThrow(
      'test/orders: the database is given by DNS name "orders.abc123.eu-west-1.rds.amazonaws.com" and no egressCidrs were given; '
      + 'NetworkPolicies cannot allow host names. Give egressCidrs (the address ranges the database is reachable at), '
      + 'or set egressPolicy: false and manage the egress of connected workloads yourself');
  });

  test('egressCidrs together with the opt-out', () => {
    expect(make(() => ({ egressPolicy: false }))).toThrow(
      'test/orders: egressCidrs is given but egressPolicy is false. Drop egressCidrs, or drop egressPolicy: false to get the egress policy');
  });

  test('an empty egressCidrs', () => {
    expect(make(() => ({ egressCidrs: [] }))).toThrow(
      'test/orders: egressCidrs is empty. Give the address ranges the database is reachable at, or set egressPolicy: false');
  });

  test.each([
    ['10.0.0.0', 'test/orders: egressCidrs[0] "10.0.0.0" is not a CIDR block. Write an address and a prefix length, e.g. "10.20.0.0/16" or "2001:db8::/64"'],
    ['10.0.0.0/33', 'test/orders: egressCidrs[0] "10.0.0.0/33" is not a CIDR block. Write an address and a prefix length, e.g. "10.20.0.0/16" or "2001:db8::/64"'],
    ['db.example.com/32', 'test/orders: egressCidrs[0] "db.example.com/32" is not a CIDR block. Write an address and a prefix length, e.g. "10.20.0.0/16" or "2001:db8::/64"'],
    ['10.20.3.4/16', 'test/orders: egressCidrs[0] "10.20.3.4/16" has host bits set. Use the network address, "10.20.0.0/16"'],
  ])('a malformed CIDR %s', (cidr, message) => {
    expect(make(() => ({ egressCidrs: [cidr] }))).toThrow(message);
  });

  test('a custom engine without a port', () => {
    expect(make(() => ({ engine: DatabaseEngine.custom({ name: 'ledger', urlScheme: 'ledger' }), tlsMode: TlsMode.TLS_VERIFY_FULL }))).toThrow(
      'test/orders: engine "ledger" has no default port and no port was given. Give port, or defaultPort in DatabaseEngine.custom()');
  });

  test('a custom engine name that is not a port name', () => {
    expect(make(() => ({ engine: DatabaseEngine.custom({ name: 'my-very-long-engine', defaultPort: 7000, urlScheme: 'x' }) }))).toThrow(
      'test/orders: custom engine name "my-very-long-engine" is not a valid port name. '
      + 'Use at most 15 lower-case letters, digits and "-", starting with a letter');
  });

  test('an empty IP list', () => {
    expect(make(() => ({ endpoint: DatabaseEndpoint.fromIpAddresses([]), tlsMode: TlsMode.POSTGRES_VERIFY_CA }))).toThrow(
      'test/orders: the list of IP addresses is empty. Give at least one address in DatabaseEndpoint.fromIpAddresses()');
  });

  test('an address listed twice', () => {
    expect(make(() => ({ endpoint: DatabaseEndpoint.fromIpAddresses(['10.0.0.7', '10.0.0.7']), tlsMode: TlsMode.POSTGRES_VERIFY_CA }))).toThrow(
      'test/orders: endpoint address "10.0.0.7" is given twice. List each address once');
  });

  test('a servicePort with a DNS name', () => {
    expect(make(() => ({ servicePort: 15432 }))).toThrow(
      'test/orders: servicePort 15432 differs from port 5432, but the database is given by DNS name. '
      + 'An ExternalName Service is a CNAME and cannot remap ports: drop servicePort, or give the database by IP addresses (DatabaseEndpoint.fromIpAddresses)');
  });

  test('a Redis database that is not a number', () => {
    expect(make(() => ({ engine: DatabaseEngine.REDIS, tlsMode: TlsMode.REDIS_TLS, databaseName: 'sessions' }))).toThrow(
      'test/orders: databaseName "sessions" is not a Redis database number. Use a number such as "0" (Redis databases are numbered)');
  });

  test('the same key for user name and password', () => {
    expect(make((c) => ({ credentials: DatabaseCredentials.fromSecret(secretOf(c), { usernameKey: 'creds', passwordKey: 'creds' }) }))).toThrow(
      'test/orders: credentials usernameKey and passwordKey are both "creds". Use different keys for the user name and the password');
  });

  test('duplicate environment variable names', () => {
    const c = chart('shop');
    const orders = new ExternalDatabase(c, 'orders', pgProps(c));
    const billing = new ExternalDatabase(c, 'billing', pgProps(c, { name: 'billing-db' }));
    const workload = app(c);
    orders.connect(workload);
    expect(() => billing.connect(workload)).toThrow(
      'test/billing: container "app" of test/app already has environment variable(s) PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD, '
      + 'PGSSLMODE, PGSSLROOTCERT, DATABASE_URL. Connect each database once; for several databases of the same engine give each '
      + 'connect() an envPrefix, e.g. "ORDERS_"');
  });

  test('a variable the container already sets itself', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c));
    const workload = app(c);
    workload.containers[0].env.addVariable('DATABASE_URL', kplus.EnvValue.fromValue('postgresql://localhost'));
    expect(() => db.connect(workload)).toThrow(
      'test/orders: container "app" of test/app already has environment variable(s) DATABASE_URL.');
  });

  test('connecting the same workload twice', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c));
    const workload = app(c);
    db.connect(workload);
    expect(() => db.connect(workload, { envPrefix: 'AGAIN_' })).toThrow(
      'test/orders: workload test/app is already connected. Call connect() once per workload');
  });

  test('a workload in a namespace when the database has none', () => {
    const c = chart();
    const db = new ExternalDatabase(c, 'orders', pgProps(c));
    expect(() => db.connect(app(c, 'app', 'payments'))).toThrow(
      'test/orders: workload test/app is in namespace "payments", but the database Service has no namespace. '
      + 'Give the ExternalDatabase namespace "payments" (or put both in a chart with that namespace)');
  });

  test('a workload in another namespace than the database', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c));
    expect(() => db.connect(app(c, 'app', 'payments'))).toThrow(
      'test/orders: workload test/app is in namespace "payments", but the database is in "shop". '
      + 'Pods read the credentials and CA Secrets from their own namespace: create the ExternalDatabase in the namespace of the workloads that connect to it');
  });

  test('neither env nor serviceBinding', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c));
    expect(() => db.connect(app(c), { env: false })).toThrow(
      'test/orders: connect() of workload test/app has both env and serviceBinding off. '
      + 'Leave env on (the default) or set serviceBinding: true; the workload would get no connection settings');
  });

  test('an envPrefix that cannot start a variable name', () => {
    const c = chart('shop');
    const db = new ExternalDatabase(c, 'orders', pgProps(c));
    expect(() => db.connect(app(c), { envPrefix: '1-ORDERS' })).toThrow(
      'test/orders: envPrefix "1-ORDERS" is not a valid start of an environment variable name. '
      + 'Use letters, digits and "_", not starting with a digit, e.g. "ORDERS_"');
  });
});
