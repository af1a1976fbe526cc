import { Size } from 'cdk8s';
import * as kplus from 'cdk8s-plus-28';

/** The UID and GID state-cache runs as (the image's user); above 10000 so it never collides with a host user. */
export const CACHE_UID = 10001;

/** The container securityContext every container cdk8s-state creates gets. */
export function secureContainerContext(user: number = CACHE_UID, group: number = CACHE_UID): kplus.ContainerSecurityContextProps {
  return {
    user,
    group,
    ensureNonRoot: true,
    readOnlyRootFilesystem: true,
    allowPrivilegeEscalation: false,
    privileged: false,
    capabilities: { drop: [kplus.Capability.ALL] },
    seccompProfile: { type: kplus.SeccompProfileType.RUNTIME_DEFAULT },
  };
}

/**
 * The user's container securityContext on top of the secure defaults: a
 * setting the user gives wins, one they leave out is the secure one.
 */
export function withSecureDefaults(user: kplus.ContainerSecurityContextProps | undefined): kplus.ContainerSecurityContextProps {
  const base = secureContainerContext(user?.user ?? CACHE_UID, user?.group ?? CACHE_UID);
  return {
    ...base,
    ...Object.fromEntries(Object.entries(user ?? {}).filter(([, v]) => v !== undefined)),
  };
}

/** The pod securityContext: non-root with the state-cache UID/GID and fsGroup, so volumes are writable. */
export function securePodContext(): kplus.PodSecurityContextProps {
  return {
    user: CACHE_UID,
    group: CACHE_UID,
    fsGroup: CACHE_UID,
    ensureNonRoot: true,
    fsGroupChangePolicy: kplus.FsGroupChangePolicy.ON_ROOT_MISMATCH,
  };
}

/**
 * Resources for a container the user described without them. cdk8s-plus
 * renders ephemeral storage in whole gibibytes.
 */
export function defaultResources(memory: Size): kplus.ContainerResources {
  return {
    cpu: { request: kplus.Cpu.millis(100), limit: kplus.Cpu.millis(1000) },
    memory: { request: memory, limit: memory },
    ephemeralStorage: { request: Size.gibibytes(1), limit: Size.gibibytes(1) },
  };
}

/**
 * The user's resources with every missing request or limit filled from
 * `defaults`. A missing request under a given limit is the limit and a
 * missing limit over a given request is the request (CPU: no limit), so a
 * request never exceeds its limit.
 */
export function withDefaultResources(user: kplus.ContainerResources | undefined, defaults: kplus.ContainerResources): kplus.ContainerResources {
  return {
    cpu: {
      request: user?.cpu?.request ?? user?.cpu?.limit ?? defaults.cpu?.request,
      limit: user?.cpu?.limit ?? (user?.cpu?.request ? undefined : defaults.cpu?.limit),
    },
    memory: {
      request: user?.memory?.request ?? user?.memory?.limit ?? defaults.memory?.request,
      limit: user?.memory?.limit ?? user?.memory?.request ?? defaults.memory?.limit,
    },
    ephemeralStorage: {
      request: user?.ephemeralStorage?.request ?? user?.ephemeralStorage?.limit ?? defaults.ephemeralStorage?.request,
      limit: user?.ephemeralStorage?.limit ?? user?.ephemeralStorage?.request ?? defaults.ephemeralStorage?.limit,
    },
  };
}
