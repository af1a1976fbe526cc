/**
 * Two databases outside the cluster, connected to one app:
 * - orders: a managed PostgreSQL reached by DNS name, TLS verify-full against
 *   the provider's CA, credentials synced from a secret manager by the
 *   External Secrets Operator;
 * - billing: a MySQL on two VMs reached by IP address, the Service on the
 *   standard port while the database listens on 3307, credentials from an
 *   existing Secret.
 */
import { App, Chart, ChartProps, Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import {
  DatabaseCa, DatabaseCredentials, DatabaseEndpoint, DatabaseEngine, ExternalDatabase, SecretStoreRef, TlsMode,
} from '../src';

export default class ExternalDatabaseExample extends Chart {
  constructor(scope: Construct, id: string, props: ChartProps = {}) {
    super(scope, id, { namespace: 'shop', ...props });

    const orders = new ExternalDatabase(this, 'orders-db', {
      name: 'orders-db',
      engine: DatabaseEngine.POSTGRESQL,
      endpoint: DatabaseEndpoint.fromHostName('orders.c9akciq32.eu-west-1.rds.amazonaws.com'),
      databaseName: 'orders',
      credentials: DatabaseCredentials.fromExternalSecret({
        store: SecretStoreRef.clusterSecretStore('aws-secrets-manager'),
        remoteKey: 'prod/orders-db',
      }),
      tlsMode: TlsMode.POSTGRES_VERIFY_FULL,
      tlsCa: DatabaseCa.fromSecret(kplus.Secret.fromSecretName(this, 'rds-ca', 'rds-ca-bundle'), 'ca.pem'),
      // The database subnets of the VPC: NetworkPolicies cannot allow host names.
      egressCidrs: ['10.20.32.0/20', '10.20.48.0/20'],
    });

    const billing = new ExternalDatabase(this, 'billing-db', {
      name: 'billing-db',
      engine: DatabaseEngine.MYSQL,
      endpoint: DatabaseEndpoint.fromIpAddresses(['10.30.0.11', '10.30.0.12']),
      port: 3307,
      servicePort: 3306,
      databaseName: 'billing',
      credentials: DatabaseCredentials.fromSecret(kplus.Secret.fromSecretName(this, 'billing-credentials', 'billing-db-credentials'), {
        usernameKey: 'user',
        passwordKey: 'password',
      }),
      // The certificate names the VMs, not the Service: verify the CA only.
      tlsMode: TlsMode.MYSQL_VERIFY_CA,
      tlsCa: DatabaseCa.fromSecret(kplus.Secret.fromSecretName(this, 'billing-ca', 'billing-db-ca')),
    });

    const app = new kplus.Deployment(this, 'orders-api', {
      replicas: 2,
      securityContext: { user: 10001, group: 10001, ensureNonRoot: true },
      containers: [{
        name: 'api',
        image: 'ghcr.io/example/orders-api:2.3.1',
        portNumber: 8080,
        resources: {
          cpu: { request: kplus.Cpu.millis(200), limit: kplus.Cpu.millis(1000) },
          memory: { request: Size.mebibytes(256), limit: Size.mebibytes(512) },
          ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(2) },
        },
        securityContext: {
          user: 10001,
          group: 10001,
          ensureNonRoot: true,
          readOnlyRootFilesystem: true,
          allowPrivilegeEscalation: false,
          privileged: false,
          capabilities: { drop: [kplus.Capability.ALL] },
          seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
        },
        readiness: kplus.Probe.fromHttpGet('/readyz', { port: 8080 }),
        liveness: kplus.Probe.fromHttpGet('/healthz', { port: 8080 }),
      }],
    });
    // Two replicas: never on the same node, and at most one down at a time.
    app.scheduling.spread({ topology: kplus.Topology.HOSTNAME });
    new kplus.k8s.KubePodDisruptionBudget(this, 'orders-api-pdb', {
      metadata: { name: 'orders-api' },
      spec: {
        maxUnavailable: kplus.k8s.IntOrString.fromNumber(1),
        unhealthyPodEvictionPolicy: 'AlwaysAllow',
        selector: { matchLabels: app.matchLabels },
      },
    });

    // PGHOST ... DATABASE_URL for orders; BILLING_MYSQL_HOST ... BILLING_DATABASE_URL for billing.
    orders.connect(app);
    billing.connect(app, { envPrefix: 'BILLING_', serviceBinding: true });
  }
}

if (require.main === module) {
  const app = new App();
  new ExternalDatabaseExample(app, 'external-database');
  app.synth();
}
