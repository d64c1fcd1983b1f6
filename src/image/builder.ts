// The two builders: docker buildx where a Docker daemon answers, buildah (daemonless, unprivileged) elsewhere.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistryLogin } from '../ecr/login.ts';
import { copyImage, readManifest } from '../ecr/registry.ts';
import { ActionError, inputError } from '../errors.ts';
import { answers, mustRun, runTool } from '../process.ts';
import { formatBytes } from '../report.ts';

export type BuilderKind = 'docker' | 'buildah';

export interface AvailableBuilders {
  /** A Docker daemon answers and buildx is installed. */
  docker: boolean;
  buildah: boolean;
}

export async function detectBuilders(): Promise<AvailableBuilders> {
  const [daemon, buildx, buildah] = await Promise.all([
    answers('docker', ['version', '--format', '{{.Server.Version}}']),
    answers('docker', ['buildx', 'version']),
    answers('buildah', ['--version']),
  ]);
  return { docker: daemon && buildx, buildah };
}

/** The builder to use, or a clear refusal naming the `builder` input and what to install. */
export function chooseBuilder(requested: 'auto' | BuilderKind, available: AvailableBuilders): BuilderKind {
  if (requested === 'docker' && !available.docker) {
    throw inputError(
      'builder',
      'is docker, but no Docker daemon with buildx answers on this runner.',
      'use builder: buildah (or auto), or run on a runner with Docker.',
    );
  }
  if (requested === 'buildah' && !available.buildah) {
    throw inputError('builder', 'is buildah, but buildah is not installed.', 'install it first (sudo apt-get install -y buildah), or use builder: auto.');
  }
  if (requested !== 'auto') return requested;
  if (available.docker) return 'docker';
  if (available.buildah) return 'buildah';
  throw inputError(
    'builder',
    'is auto, but neither a Docker daemon with buildx nor buildah is available.',
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

export interface BuildResult {
  /** Manifest digest of what was pushed; undefined when only built. */
  digest: string | undefined;
  /** What moved to and from the registry, for the summary; undefined where the builder does not say. */
  transfer: string | undefined;
}

export async function buildImage(request: BuildRequest): Promise<BuildResult> {
  return request.builder === 'buildah' ? buildWithBuildah(request) : buildWithDocker(request);
}

function commonBuildFlags(request: BuildRequest): string[] {
  return [
    '--file',
    request.dockerfile,
    ...request.buildArgs.flatMap(([name, value]) => ['--build-arg', `${name}=${value}`]),
    ...(request.target ? ['--target', request.target] : []),
    ...request.labels.flatMap(([name, value]) => ['--label', `${name}=${value}`]),
  ];
}

/** buildah's lines naming a cache image it pushed or pulled, in step order: the last one is the final image's. */
const CACHE_LINE = /^--> (?:Pushing cache|Cache pulled from remote) \S+:([0-9a-f]{64})$/;

async function buildWithBuildah(request: BuildRequest): Promise<BuildResult> {
  // vfs storage and chroot isolation: no daemon, no overlay mounts, no privileges.
  const runRoot = mkdtempSync(join(tmpdir(), 'buildah-run-'));
  // buildah keeps its blob-info cache (which registry holds which layer) under --root too.
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
  const cache = !multiPlatform && login && request.cacheRepository ? `${login.host}/${request.cacheRepository}` : undefined;
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
        ...(cache ? ['--cache-from', cache, '--cache-to', cache, ...registryFlags] : []),
        ...(cache ? ['--iidfile', imageIdFile] : []),
        '--platform',
        request.platforms.join(','),
        ...(multiPlatform ? ['--manifest', local] : ['--tag', local]),
        ...commonBuildFlags(request),
        request.contextDir,
      ],
      options,
    );
    if (!request.push || !login) return { digest: undefined, transfer: undefined };
    const { repository, tag } = request.push;
    if (cache && lastCacheKey && request.cacheRepository) {
      // The final image is the last step's cache image: copying it sends only the blobs the repository lacks,
      // where buildah push would upload every layer it only knows in the cache repository.
      const cached = await readManifest(login, request.cacheRepository, lastCacheKey);
      const imageId = readFileSync(imageIdFile, 'utf8').trim();
      if (cached && cached.configDigest === imageId) {
        const copied = await copyImage(login, request.cacheRepository, cached, repository, tag);
        return {
          digest: copied.digest,
          transfer: `image push: ${formatBytes(copied.uploadedBytes)} uploaded, ${formatBytes(copied.reusedBytes)} already in ${repository}`,
        };
      }
    }
    const digestFile = join(runRoot, 'digest');
    const pushFlags = [...registryFlags, '--digestfile', digestFile];
    const destination = `docker://${login.host}/${repository}:${tag}`;
    if (multiPlatform) await mustRun('The image push', 'buildah', [...global, 'manifest', 'push', '--all', ...pushFlags, local, destination], options);
    else await mustRun('The image push', 'buildah', [...global, 'push', ...pushFlags, local, destination], options);
    const digest = readFileSync(digestFile, 'utf8').trim();
    if (!digest) throw new ActionError('buildah finished the push but reported no digest.', 'run the step again; if it persists, report it with this log.');
    return { digest, transfer: undefined };
  } finally {
    // The list only; its images stay in the storage for a later step of the job.
    if (multiPlatform) await runTool('buildah', [...global, 'manifest', 'rm', local], { env });
    rmSync(runRoot, { recursive: true, force: true });
  }
}

async function buildWithDocker(request: BuildRequest): Promise<BuildResult> {
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
  if (!request.push) return { digest: undefined, transfer: undefined };
  const digest = (JSON.parse(readFileSync(metadataFile, 'utf8')) as { 'containerimage.digest'?: string })['containerimage.digest'];
  if (!digest) throw new ActionError('docker buildx pushed the image but reported no digest.', 'run the step again; if it persists, report it with this log.');
  return { digest, transfer: undefined };
}

const BUILDX_BUILDER = 'ecs-deploy-actions';

async function dockerContainerBuilder(options: { onLine: (line: string) => void }): Promise<string> {
  if (!(await answers('docker', ['buildx', 'inspect', BUILDX_BUILDER]))) {
    await mustRun('Creating a buildx builder', 'docker', ['buildx', 'create', '--name', BUILDX_BUILDER, '--driver', 'docker-container'], options);
  }
  return BUILDX_BUILDER;
}
