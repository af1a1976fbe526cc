import * as kplus from 'cdk8s-plus-28';
import { Construct } from 'constructs';
import { fail } from './_validation';

/*
 * What `connect()` of ExternalCacheCluster and ExternalDatabase share: the
 * checks of the workload, its containers and the env prefix, and of the
 * variables they add.
 */

const ENV_PREFIX = /^[A-Za-z_][A-Za-z0-9_]*$/;

function show(namespace: string | undefined): string {
  return namespace === undefined ? '(none)' : `"${namespace}"`;
}

export interface ConnectCheck {
  /** Whether this workload was connected before. */
  readonly connected: boolean;
  /** What is connected to, for errors: e.g. "the cluster". */
  readonly what: string;
  /** Its namespace: pods read its Secrets from their own. */
  readonly namespace: string | undefined;
  /** How to fix a workload in another namespace. */
  readonly namespaceFix: string;
  /** The containers given, or undefined for every container of the workload. */
  readonly containers: kplus.Container[] | undefined;
  /** The prefix of the variable names, and an example of one. */
  readonly envPrefix: string;
  readonly envPrefixExample: string;
}

/** Checks a workload and its containers before connecting them; returns the containers. */
export function checkConnect(scope: Construct, workload: kplus.AbstractPod, check: ConnectCheck): kplus.Container[] {
  if (check.connected) {
    fail(scope, `workload ${workload.node.path} is already connected`, 'Call connect() once per workload');
  }
  const ns = workload.metadata.namespace;
  if (ns !== check.namespace) {
    fail(scope, `workload ${workload.node.path} is in namespace ${show(ns)}, but ${check.what} is in ${show(check.namespace)}`, check.namespaceFix);
  }
  const containers = check.containers ?? workload.containers;
  if (containers.length === 0) {
    fail(scope, `workload ${workload.node.path} has no containers to connect`, 'Add its containers before calling connect()');
  }
  for (const c of containers) {
    if (!workload.containers.includes(c) && !workload.initContainers.includes(c)) {
      fail(scope, `container "${c.name}" does not belong to workload ${workload.node.path}`, 'Pass containers of that workload only');
    }
  }
  const prefix = check.envPrefix;
  if (prefix !== '' && !ENV_PREFIX.test(prefix)) {
    fail(scope, `envPrefix "${prefix}" is not a valid start of an environment variable name`,
      `Use letters, digits and "_", not starting with a digit, e.g. "${check.envPrefixExample}"`);
  }
  return containers;
}

/** Refuses variables a container already has (a second connection needs another prefix). */
export function checkEnvFree(scope: Construct, workload: kplus.AbstractPod, containers: kplus.Container[], names: string[], fix: string): void {
  for (const c of containers) {
    const clash = names.filter((n) => c.env.variables[n] !== undefined);
    if (clash.length > 0) {
      fail(scope, `container "${c.name}" of ${workload.node.path} already has environment variable(s) ${clash.join(', ')}`, fix);
    }
  }
}
