import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Testing } from 'cdk8s';
import { CachedApp, CachePassword, ExternalCacheCluster } from '../src';
import { appContainer, chart, secret } from './cache-fixtures';
import { libraryVersion } from '../src/_version';
import { CacheImage } from '../src/cache-image';

const DEFAULT_CACHE_REPOSITORY = CacheImage.DEFAULT_REPOSITORY;

const pkgVersion: string = JSON.parse(readFileSync(join(__dirname, '..', 'package.json'), 'utf8')).version;

test('the default image is pinned to the library version', () => {
  expect(libraryVersion()).toBe(pkgVersion);
  expect(CacheImage.default().reference).toBe(`${DEFAULT_CACHE_REPOSITORY}:${pkgVersion}`);
});

test('the image every construct emits by default is tagged with package.json\'s version, the one a release publishes', () => {
  // The release bumps package.json and nothing else; _version.ts reads it at run time from
  // next to lib/, so the published package and the image tag cannot disagree.
  expect(readFileSync(join(__dirname, '..', 'src', '_version.ts'), 'utf8')).toContain("join(__dirname, '..', 'package.json')");
  const c = chart('shop');
  new CachedApp(c, 'web', { app: appContainer() });
  new ExternalCacheCluster(c, 'cache', { password: CachePassword.fromSecret(secret(c, 'pw')) });
  const images = Testing.synth(c)
    .filter((m) => m.kind === 'Deployment' || m.kind === 'StatefulSet')
    .flatMap((m) => [...(m.spec.template.spec.initContainers ?? []), ...m.spec.template.spec.containers])
    .filter((x: any) => x.name === 'state-cache')
    .map((x: any) => x.image);
  expect(images).toEqual([`ghcr.io/cdk8s-state/state-cache:${pkgVersion}`, `ghcr.io/cdk8s-state/state-cache:${pkgVersion}`]);
});

test('a mirror keeps the version; tags and digests override it', () => {
  expect(CacheImage.fromRepository('registry.example.com:5000/mirror/state-cache').reference)
    .toBe(`registry.example.com:5000/mirror/state-cache:${pkgVersion}`);
  expect(CacheImage.fromTag('1.2.3').reference).toBe(`${DEFAULT_CACHE_REPOSITORY}:1.2.3`);
  const digest = 'sha256:' + 'a'.repeat(64);
  expect(CacheImage.fromDigest(digest, 'registry.example.com/state-cache').reference)
    .toBe(`registry.example.com/state-cache@${digest}`);
});

test('latest, malformed digests and repositories are refused with the fix', () => {
  expect(() => CacheImage.fromTag('latest')).toThrow(`CacheImage: tag "latest" is not allowed. Pin a version tag such as "${pkgVersion}" (never "latest"), or use CacheImage.fromDigest`);
  expect(() => CacheImage.fromDigest('sha256:abc')).toThrow('CacheImage: digest "sha256:abc" is not a sha256 digest. Give "sha256:" followed by 64 lower-case hex digits');
  expect(() => CacheImage.fromRepository('Registry/State Cache')).toThrow('CacheImage: repository "Registry/State Cache" is not a valid image repository');
});
