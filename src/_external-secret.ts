import { ApiObject, Duration } from 'cdk8s';
import { Construct } from 'constructs';
import { fail, isDnsSubdomain } from './_validation';
import { SecretStoreRef } from './database-credentials';

/*
 * The `external-secrets.io/v1` ExternalSecret that CachePassword and
 * DatabaseCredentials have the External Secrets Operator write a Secret
 * with, and the checks of where it reads from.
 */

/** Where the operator reads the secret: what both `fromExternalSecret` options have. */
export interface ExternalSecretSource {
  readonly store: SecretStoreRef;
  readonly remoteKey: string;
  readonly refreshInterval?: Duration;
}

export interface ExternalSecretProps {
  /** The name of the ExternalSecret and of the Secret it writes. */
  readonly name: string;
  readonly namespace?: string;
  readonly source: ExternalSecretSource;
  /** What the secret is, for errors: e.g. "the credentials". */
  readonly what: string;
  /** How to fix an empty remoteKey, with an example key. */
  readonly remoteKeyFix: string;
  /** Each key of the Secret and the property of the remote secret it comes from (the whole value when undefined). */
  readonly data: Array<{ readonly secretKey: string; readonly property?: string }>;
}

/** Checks the source, then creates the ExternalSecret (owner of the Secret it writes). */
export function addExternalSecret(scope: Construct, id: string, props: ExternalSecretProps): ApiObject {
  const { source, what } = props;
  if (source.store === undefined || source.store === null) {
    fail(scope, `the ExternalSecret for ${what} has no store`, 'Give store: SecretStoreRef.secretStore(name) or SecretStoreRef.clusterSecretStore(name)');
  }
  if (!isDnsSubdomain(source.store.name)) {
    fail(scope, `secret store name "${source.store.name}" is not a valid Kubernetes name`,
      'Use the name of an existing SecretStore or ClusterSecretStore (lower-case letters, digits, "-" and ".")');
  }
  if (!source.remoteKey) {
    fail(scope, `the ExternalSecret for ${what} has an empty remoteKey`, props.remoteKeyFix);
  }
  const refresh = source.refreshInterval ?? Duration.hours(1);
  return new ApiObject(scope, id, {
    apiVersion: 'external-secrets.io/v1',
    kind: 'ExternalSecret',
    metadata: { name: props.name, namespace: props.namespace },
    spec: {
      refreshInterval: `${refresh.toSeconds()}s`,
      secretStoreRef: { kind: source.store.kind, name: source.store.name },
      target: { name: props.name, creationPolicy: 'Owner' },
      data: props.data.map((d) => ({
        secretKey: d.secretKey,
        remoteRef: { key: source.remoteKey, ...(d.property !== undefined ? { property: d.property } : {}) },
      })),
    },
  });
}
