import { libraryVersion } from './_version';

const DIGEST = /^sha256:[a-f0-9]{64}$/;
const TAG = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const REPOSITORY = /^[a-z0-9]+([._-][a-z0-9]+)*(:[0-9]+)?(\/[a-z0-9]+([._-][a-z0-9]+)*)*$/;

/**
 * The state-cache container image. By default the image built from the same
 * release as this library, pinned to its version, so constructs and runtime
 * always agree on the config format. Override the registry (a mirror), the
 * tag, or pin a digest.
 */
export class CacheImage {
  /** The repository state-cache images are published to. */
  public static readonly DEFAULT_REPOSITORY = 'ghcr.io/cdk8s-state/state-cache';

  /** The image of this library's own version from the public repository. */
  public static default(): CacheImage {
    return new CacheImage(CacheImage.DEFAULT_REPOSITORY, libraryVersion());
  }

  /**
   * The same image from another registry or repository (e.g. a pull-through
   * mirror), still pinned to this library's version.
   * @param repository e.g. `registry.example.com/mirror/state-cache`
   */
  public static fromRepository(repository: string): CacheImage {
    return new CacheImage(repository, libraryVersion());
  }

  /**
   * A specific tag. Tags can move: prefer `fromDigest` in production.
   * @param tag e.g. `1.2.3`; `latest` is refused
   * @param repository default: the public repository
   */
  public static fromTag(tag: string, repository?: string): CacheImage {
    return new CacheImage(repository ?? CacheImage.DEFAULT_REPOSITORY, tag);
  }

  /**
   * An image pinned by digest, immune to moved tags.
   * @param digest `sha256:` followed by 64 hex digits
   * @param repository default: the public repository
   */
  public static fromDigest(digest: string, repository?: string): CacheImage {
    return new CacheImage(repository ?? CacheImage.DEFAULT_REPOSITORY, undefined, digest);
  }

  /** The full image reference, as it goes into the pod spec. */
  public readonly reference: string;

  private constructor(public readonly repository: string, public readonly tag?: string, public readonly digest?: string) {
    if (!REPOSITORY.test(repository)) {
      throw new Error(`CacheImage: repository "${repository}" is not a valid image repository. Use lower-case host/path components, e.g. "registry.example.com/team/state-cache"`);
    }
    if (tag !== undefined && (!TAG.test(tag) || tag === 'latest')) {
      throw new Error(`CacheImage: tag "${tag}" is not allowed. Pin a version tag such as "${libraryVersion()}" (never "latest"), or use CacheImage.fromDigest`);
    }
    if (digest !== undefined && !DIGEST.test(digest)) {
      throw new Error(`CacheImage: digest "${digest}" is not a sha256 digest. Give "sha256:" followed by 64 lower-case hex digits`);
    }
    this.reference = digest ? `${repository}@${digest}` : `${repository}:${tag}`;
  }
}
