// The two builders: docker buildx where a Docker daemon answers, buildah (daemonless, unprivileged) elsewhere.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistryLogin } from '../ecr/login.ts';
import { type Manifest, readManifest } from '../ecr/registry.ts';
import { ActionError, inputError } from '../errors.ts';
import { answers, mustRun, runTool } from '../process.ts';

export type BuilderKind = 'docker' | 'buildah';

export interface AvailableBuilders {
  /** A Docker daemon answers. */
  docker: boolean;
  /** docker buildx is installed (BuildKit: multi-platform builds, a registry cache of every stage). */
  buildx: boolean;
  buildah: boolean;
}

export async function detectBuilders(): Promise<AvailableBuilders> {
  const [docker, buildx, buildah] = await Promise.all([
    answers('docker', ['version', '--format', '{{.Server.Version}}']),
    answers('docker', ['buildx', 'version']),
    answers('buildah', ['--version']),
  ]);
  return { docker, buildx, buildah };
}

/**
 * The builder to use, or a clear refusal naming the `builder` input and what to install. auto takes docker
 * with buildx, else buildah, else docker's classic builder (a daemon without buildx, as Debian packages it).
 */
export function chooseBuilder(requested: 'auto' | BuilderKind, available: AvailableBuilders): BuilderKind {
  if (requested === 'docker' && !available.docker) {
    throw inputError('builder', 'is docker, but no Docker daemon answers on this runner.', 'use builder: buildah (or auto), or run on a runner with Docker.');
  }
  if (requested === 'buildah' && !available.buildah) {
    throw inputError('builder', 'is buildah, but buildah is not installed.', 'install it first (sudo apt-get install -y buildah), or use builder: auto.');
  }
  if (requested !== 'auto') return requested;
  if (available.docker && available.buildx) return 'docker';
  if (available.buildah) return 'buildah';
  if (available.docker) return 'docker';
  throw inputError(
    'builder',
    'is auto, but neither a Docker daemon nor buildah is available.',
    'install buildah (sudo apt-get install -y buildah), which needs no daemon or privileges, or run on a runner with Docker.',
  );
}

export interface BuildRequest {
  builder: BuilderKind;
  contextDir: string;
  dockerfile: string;
  buildArgs: [string, string][];
  target: string | undefined;
  platforms: string[];
  labels: [string, string][];
  /** Where to push: without it the image is only built. */
  push: { repository: string; tag: string; login: RegistryLogin } | undefined;
  /** Repository name of the layer cache in the same registry (one-platform builds); undefined: no cache. */
  cacheRepository: string | undefined;
  /** Builder state for the steps of one job (RUNNER_TEMP): layers a later step of the job reuses. */
  stateDir: string;
  onLine: (line: string) => void;
}

export type BuildResult =
  /** Built, and pushed by the builder (digest) or only built (undefined); with the image's copy in the cache repository, if any. */
  | { kind: 'pushed'; digest: string | undefined; cacheImage?: Manifest }
  /** Built into the cache repository without the labels: the caller labels it and pushes it to the image repository. */
  | { kind: 'cached'; manifest: Manifest };

export async function buildImage(request: BuildRequest): Promise<BuildResult> {
  return request.builder === 'buildah' ? buildWithBuildah(request) : buildWithDocker(request);
}

function commonBuildFlags(request: BuildRequest, labels = true): string[] {
  return [
    '--file',
    request.dockerfile,
    ...request.buildArgs.flatMap(([name, value]) => ['--build-arg', `${name}=${value}`]),
    ...(request.target ? ['--target', request.target] : []),
    ...(labels ? request.labels.flatMap(([name, value]) => ['--label', `${name}=${value}`]) : []),
  ];
}

/** buildah's lines naming a cache image it pushed or pulled, in step order: the last one is the final image's. */
const CACHE_LINE = /^--> (?:Pushing cache|Cache pulled from remote) \S+:([0-9a-f]{64})$/;

async function buildWithBuildah(request: BuildRequest): Promise<BuildResult> {
  // vfs storage and chroot isolation: no daemon, no overlay mounts, no privileges.
  const runRoot = mkdtempSync(join(tmpdir(), 'buildah-run-'));
  const global = ['--storage-driver', 'vfs', '--root', join(request.stateDir, 'root'), '--runroot', runRoot];
  const env = { ...process.env, BUILDAH_ISOLATION: 'chroot' };
  let lastCacheKey: string | undefined;
  const options = {
    env,
    onLine: (line: string) => {
      lastCacheKey = CACHE_LINE.exec(line.trim())?.[1] ?? lastCacheKey;
      request.onLine(line);
    },
  };
  const multiPlatform = request.platforms.length > 1;
  const login = request.push?.login;
  const registryFlags = login ? ['--authfile', login.authFile, ...(login.insecure ? ['--tls-verify=false'] : [])] : [];
  // buildah's layer cache ignores the platform: in one multi-platform build every platform would get the first one's layers.
  const cacheRepository = !multiPlatform && login ? request.cacheRepository : undefined;
  const cache = cacheRepository && login ? `${login.host}/${cacheRepository}` : undefined;
  // A manifest list takes a fresh name (an existing list would be added to); an image a stable one, which
  // each build moves on. Never rmi: it would delete the untagged layer images that a later step reuses.
  const local = multiPlatform ? `localhost/ecs-deploy-actions-build:${randomBytes(6).toString('hex')}` : 'localhost/ecs-deploy-actions-build:latest';
  const imageIdFile = join(runRoot, 'image-id');
  try {
    await mustRun(
      'The image build',
      'buildah',
      [
        ...global,
        'build',
        '--isolation',
        'chroot',
        ...(multiPlatform ? [] : ['--layers']),
        ...(cache ? ['--cache-from', cache, '--cache-to', cache, '--iidfile', imageIdFile, ...registryFlags] : []),
        '--platform',
        request.platforms.join(','),
        ...(multiPlatform ? ['--manifest', local] : ['--tag', local]),
        // With a cache the labels (commit, run) are set after the build, or every build's last step would differ.
        ...commonBuildFlags(request, !cache),
        request.contextDir,
      ],
      options,
    );
    if (cache && cacheRepository && login) {
      const imageId = readFileSync(imageIdFile, 'utf8').trim();
      // The final image is the last step's cache image: buildah pushes (or pulls) one for the final commit too.
      const last = lastCacheKey ? await readManifest(login, cacheRepository, lastCacheKey) : undefined;
      if (last?.configDigest !== imageId) {
        throw new ActionError(
          `buildah built ${imageId}, but its cache image is not in ${cacheRepository} (last cache key: ${lastCacheKey ?? 'none'}).`,
          'run the step again; if it persists, use cache: false and report it with this log.',
        );
      }
      return { kind: 'cached', manifest: last };
    }
    if (!request.push || !login) return { kind: 'pushed', digest: undefined };
    const digestFile = join(runRoot, 'digest');
    const pushFlags = [...registryFlags, '--digestfile', digestFile];
    const destination = `docker://${login.host}/${request.push.repository}:${request.push.tag}`;
    if (multiPlatform) await mustRun('The image push', 'buildah', [...global, 'manifest', 'push', '--all', ...pushFlags, local, destination], options);
    else await mustRun('The image push', 'buildah', [...global, 'push', ...pushFlags, local, destination], options);
    const digest = readFileSync(digestFile, 'utf8').trim();
    if (!digest) throw new ActionError('buildah finished the push but reported no digest.', 'run the step again; if it persists, report it with this log.');
    return { kind: 'pushed', digest };
  } finally {
    // The list only; its images stay in the storage for a later step of the job.
    if (multiPlatform) await runTool('buildah', [...global, 'manifest', 'rm', local], { env });
    rmSync(runRoot, { recursive: true, force: true });
  }
}

async function buildWithDocker(request: BuildRequest): Promise<BuildResult> {
  if (!(await answers('docker', ['buildx', 'version']))) return buildWithClassicDocker(request);
  const options = { onLine: request.onLine };
  const login = request.push?.login;
  const cache = login && request.cacheRepository ? `${login.host}/${request.cacheRepository}:buildx` : undefined;
  // A registry cache in the cache repository: one image manifest (ECR stores OCI manifests), every stage (mode=max).
  const cacheFlags = cache
    ? [
        '--cache-from',
        `type=registry,ref=${cache}`,
        '--cache-to',
        `type=registry,ref=${cache},mode=max,image-manifest=true,oci-mediatypes=true,ignore-error=true`,
      ]
    : [];
  const metadataFile = join(request.stateDir, 'metadata.json');
  mkdirSync(request.stateDir, { recursive: true });
  if (login) {
    await mustRun('docker login', 'docker', ['login', '--username', 'AWS', '--password-stdin', login.host], { input: login.password });
  }
  try {
    await mustRun(
      'The image build',
      'docker',
      [
        'buildx',
        'build',
        // The default "docker" driver cannot export a cache: a docker-container builder can.
        ...(cache ? ['--builder', await dockerContainerBuilder(options)] : []),
        '--platform',
        request.platforms.join(','),
        ...commonBuildFlags(request),
        ...cacheFlags,
        ...(request.push ? ['--tag', `${login?.host}/${request.push.repository}:${request.push.tag}`, '--push', '--metadata-file', metadataFile] : []),
        request.contextDir,
      ],
      options,
    );
  } finally {
    if (login) await runTool('docker', ['logout', login.host]);
  }
  if (!request.push) return { kind: 'pushed', digest: undefined };
  const digest = (JSON.parse(readFileSync(metadataFile, 'utf8')) as { 'containerimage.digest'?: string })['containerimage.digest'];
  if (!digest) throw new ActionError('docker buildx pushed the image but reported no digest.', 'run the step again; if it persists, report it with this log.');
  return { kind: 'pushed', digest };
}

const BUILDX_BUILDER = 'ecs-deploy-actions';

async function dockerContainerBuilder(options: { onLine: (line: string) => void }): Promise<string> {
  if (!(await answers('docker', ['buildx', 'inspect', BUILDX_BUILDER]))) {
    await mustRun('Creating a buildx builder', 'docker', ['buildx', 'create', '--name', BUILDX_BUILDER, '--driver', 'docker-container'], options);
  }
  return BUILDX_BUILDER;
}

/**
 * A daemon without buildx (Debian's docker.io): the classic builder, which caches from a pulled image. The
 * last build's image, in the cache repository under one tag per platform, is pulled whole, then each step
 * whose instruction and inputs match it is reused; docker push skips the layers the repository has.
 */
async function buildWithClassicDocker(request: BuildRequest): Promise<BuildResult> {
  // One platform: the plan refuses more for this builder.
  const platform = request.platforms.join(',');
  // Credentials in a private config, never the user's ~/.docker, deleted with it.
  const config = mkdtempSync(join(tmpdir(), 'docker-config-'));
  const env = { ...process.env, DOCKER_CONFIG: config, DOCKER_BUILDKIT: '0' };
  const options = { env, onLine: request.onLine };
  const login = request.push?.login;
  const cache = login && request.cacheRepository ? `${login.host}/${request.cacheRepository}:docker-${platform.replace(/\//g, '-')}` : undefined;
  const target = login && request.push ? `${login.host}/${request.push.repository}:${request.push.tag}` : 'localhost/ecs-deploy-actions-build:latest';
  try {
    if (login) await mustRun('docker login', 'docker', ['login', '--username', 'AWS', '--password-stdin', login.host], { env, input: login.password });
    // A cold cache (no image yet) is not an error.
    const cached = cache ? (await runTool('docker', ['pull', '--quiet', cache], options)).exitCode === 0 : false;
    await mustRun(
      'The image build',
      'docker',
      ['build', '--platform', platform, ...(cached && cache ? ['--cache-from', cache] : []), '--tag', target, ...commonBuildFlags(request), request.contextDir],
      options,
    );
    if (!request.push) return { kind: 'pushed', digest: undefined };
    const pushed = await mustRun('The image push', 'docker', ['push', target], options);
    const digest = /digest: (sha256:[0-9a-f]{64})/.exec(pushed.stdout)?.[1];
    if (!digest) throw new ActionError('docker pushed the image but reported no digest.', 'run the step again; if it persists, report it with this log.');
    if (!cache || !login || !request.cacheRepository) return { kind: 'pushed', digest };
    await mustRun('Tagging the cache image', 'docker', ['tag', target, cache], options);
    await mustRun('The cache push', 'docker', ['push', cache], options);
    const cacheImage = await readManifest(login, request.cacheRepository, cache.slice(cache.lastIndexOf(':') + 1));
    return cacheImage ? { kind: 'pushed', digest, cacheImage } : { kind: 'pushed', digest };
  } finally {
    rmSync(config, { recursive: true, force: true });
  }
}
