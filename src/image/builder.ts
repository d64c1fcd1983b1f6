// The two builders: docker buildx where a Docker daemon answers, buildah (daemonless, unprivileged) elsewhere.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistryLogin } from '../ecr/login.ts';
import { ActionError, inputError } from '../errors.ts';
import { answers, mustRun, runTool } from '../process.ts';

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
  /** host/repository:tag to push to; without it the image is only built. */
  pushTo: string | undefined;
  login: RegistryLogin | undefined;
  /** Builder state kept between runs by the cache: buildah's storage, or buildx's local cache. */
  stateDir: string;
  /** Keep layers for the next run (buildx exports its cache; buildah keeps them in stateDir anyway). */
  cache: boolean;
  onLine: (line: string) => void;
}

export interface BuildResult {
  /** Manifest digest of what was pushed; undefined when only built. */
  digest: string | undefined;
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

async function buildWithBuildah(request: BuildRequest): Promise<BuildResult> {
  // vfs storage and chroot isolation: no daemon, no overlay mounts, no privileges.
  const runRoot = mkdtempSync(join(tmpdir(), 'buildah-run-'));
  const global = ['--storage-driver', 'vfs', '--root', join(request.stateDir, 'root'), '--runroot', runRoot];
  const env = { ...process.env, BUILDAH_ISOLATION: 'chroot' };
  const options = { env, onLine: request.onLine };
  const multiPlatform = request.platforms.length > 1;
  // A manifest list takes a fresh name (an existing list would be added to); an image a stable one, which
  // each build moves on. Never rmi: it would delete the untagged layer images that are the cache.
  const local = multiPlatform ? `localhost/ecs-deploy-actions-build:${randomBytes(6).toString('hex')}` : 'localhost/ecs-deploy-actions-build:latest';
  try {
    await mustRun(
      'The image build',
      'buildah',
      [
        ...global,
        'bud',
        '--isolation',
        'chroot',
        // buildah's layer cache ignores the platform: in one multi-platform build every platform would get the first one's layers.
        ...(multiPlatform ? [] : ['--layers']),
        '--platform',
        request.platforms.join(','),
        ...(multiPlatform ? ['--manifest', local] : ['--tag', local]),
        ...commonBuildFlags(request),
        request.contextDir,
      ],
      options,
    );
    if (!request.pushTo || !request.login) return { digest: undefined };
    const digestFile = join(runRoot, 'digest');
    const pushFlags = ['--authfile', request.login.authFile, '--digestfile', digestFile, ...(request.login.insecure ? ['--tls-verify=false'] : [])];
    const destination = `docker://${request.pushTo}`;
    if (multiPlatform) await mustRun('The image push', 'buildah', [...global, 'manifest', 'push', '--all', ...pushFlags, local, destination], options);
    else await mustRun('The image push', 'buildah', [...global, 'push', ...pushFlags, local, destination], options);
    const digest = readFileSync(digestFile, 'utf8').trim();
    if (!digest) throw new ActionError('buildah finished the push but reported no digest.', 'run the step again; if it persists, report it with this log.');
    return { digest };
  } finally {
    // The list only; its images stay in the storage for the next run's cache.
    if (multiPlatform) await runTool('buildah', [...global, 'manifest', 'rm', local], { env });
    rmSync(runRoot, { recursive: true, force: true });
  }
}

const BUILDX_BUILDER = 'ecs-deploy-actions';

async function buildWithDocker(request: BuildRequest): Promise<BuildResult> {
  const options = { onLine: request.onLine };
  const builderFlags: string[] = [];
  const cacheFlags: string[] = [];
  if (request.cache) {
    // The default "docker" driver cannot export a cache: use (or create once) a docker-container builder.
    if (!(await answers('docker', ['buildx', 'inspect', BUILDX_BUILDER]))) {
      await mustRun('Creating a buildx builder', 'docker', ['buildx', 'create', '--name', BUILDX_BUILDER, '--driver', 'docker-container'], options);
    }
    builderFlags.push('--builder', BUILDX_BUILDER);
    mkdirSync(join(request.stateDir, 'cache'), { recursive: true });
    // Exported to a new directory, then swapped in: exporting over the old one would grow it forever.
    cacheFlags.push(
      '--cache-from',
      `type=local,src=${join(request.stateDir, 'cache')}`,
      '--cache-to',
      `type=local,dest=${join(request.stateDir, 'cache-new')},mode=max`,
    );
  }
  const metadataFile = join(request.stateDir, 'metadata.json');
  mkdirSync(request.stateDir, { recursive: true });
  if (request.pushTo && request.login) {
    await mustRun('docker login', 'docker', ['login', '--username', 'AWS', '--password-stdin', request.login.host], { input: request.login.password });
  }
  try {
    await mustRun(
      'The image build',
      'docker',
      [
        'buildx',
        'build',
        ...builderFlags,
        '--platform',
        request.platforms.join(','),
        ...commonBuildFlags(request),
        ...cacheFlags,
        ...(request.pushTo ? ['--tag', request.pushTo, '--push', '--metadata-file', metadataFile] : []),
        request.contextDir,
      ],
      options,
    );
  } finally {
    if (request.pushTo && request.login) await runTool('docker', ['logout', request.login.host]);
  }
  if (request.cache) {
    rmSync(join(request.stateDir, 'cache'), { recursive: true, force: true });
    renameSync(join(request.stateDir, 'cache-new'), join(request.stateDir, 'cache'));
  }
  if (!request.pushTo) return { digest: undefined };
  const digest = (JSON.parse(readFileSync(metadataFile, 'utf8')) as { 'containerimage.digest'?: string })['containerimage.digest'];
  if (!digest) throw new ActionError('docker buildx pushed the image but reported no digest.', 'run the step again; if it persists, report it with this log.');
  return { digest };
}
