import * as kplus from 'cdk8s-plus-28';

/**
 * The container security context a user's own workload needs to pass the
 * manifest checks (UID/GID above 10000, non-root, read-only root, no
 * privilege escalation, all capabilities dropped, seccomp RuntimeDefault).
 * Tests that build such workloads share it.
 */
export const SECURE_CONTAINER_CONTEXT: kplus.ContainerSecurityContextProps = {
  user: 10001,
  group: 10001,
  ensureNonRoot: true,
  readOnlyRootFilesystem: true,
  allowPrivilegeEscalation: false,
  privileged: false,
  capabilities: { drop: [kplus.Capability.ALL] },
  seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
};
