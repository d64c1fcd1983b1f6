// Amazon ECR (JSON 1.1, AmazonEC2ContainerRegistry_V20150921). Repository metadata lives here; image
// data lives in the real registry (emulator/registry.ts), so what DescribeImages reports is what
// buildah or docker actually pushed. repositoryUri is `<registry host>/<name>` rather than
// `<account>.dkr.ecr.<region>.amazonaws.com/<name>` because real tools must be able to push to it.
import { createHash, randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { AwsError, type EmulatorContext, type ImageResolution, type ImageResolver, type ServiceModule } from '../core/types.ts';
import { deniedMessage, registryPermissions } from '../iam.ts';
import type { GateRejection, GateRequest, RegistryGate, RegistryHandle } from '../registry.ts';

const MANIFEST_TYPES = [
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.docker.distribution.manifest.v2+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
];
const INDEX_TYPES = new Set(['application/vnd.oci.image.index.v1+json', 'application/vnd.docker.distribution.manifest.list.v2+json']);
const NAME_RE = /^(?:[a-z0-9]+(?:[._-][a-z0-9]+)*\/)*[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const TAG_RE = /^[\w][\w.-]{0,127}$/;
const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;
const TOKEN_HOURS = 12;

interface Tag {
  Key: string;
  Value: string;
}
interface Repository {
  name: string;
  arn: string;
  createdAt: number;
  imageTagMutability: string;
  scanOnPush: boolean;
  tags: Map<string, string>;
  lifecyclePolicy?: string;
  /** First time the emulator saw each manifest digest: the registry does not record push times. */
  pushedAt: Map<string, number>;
}
interface ImageId {
  imageDigest?: string;
  imageTag?: string;
}
interface Manifest {
  body: string;
  mediaType: string;
  digest: string;
}
interface ImageRecord {
  digest: string;
  tags: string[];
  manifest: Manifest;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const seconds = (ms: number) => ms / 1000;

function requireString(input: Record<string, unknown>, field: string): string {
  const v = input[field];
  if (typeof v !== 'string' || v === '') {
    throw new AwsError('InvalidParameterException', `Invalid parameter at '${field}' failed to satisfy constraint: 'Member must not be null'`);
  }
  return v;
}

function parseTags(v: unknown): Tag[] {
  if (v === undefined) return [];
  if (!Array.isArray(v)) throw new AwsError('InvalidParameterException', "Invalid parameter at 'tags' failed to satisfy constraint: 'must be a list'");
  return v.map((t: { Key?: unknown; Value?: unknown }) => {
    if (typeof t?.Key !== 'string' || t.Key === '') throw new AwsError('InvalidParameterException', 'Invalid parameter: tag key must not be empty');
    return { Key: t.Key, Value: typeof t.Value === 'string' ? t.Value : '' };
  });
}

/** Splits an image reference into registry host, repository, tag and digest (Docker's rules). */
export function parseImageRef(image: string): { host?: string; repository: string; tag?: string; digest?: string } {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let host: string | undefined;
  const slash = rest.indexOf('/');
  if (slash >= 0) {
    const first = rest.slice(0, slash);
    if (first.includes('.') || first.includes(':') || first === 'localhost') {
      host = first;
      rest = rest.slice(slash + 1);
    }
  }
  let tag: string | undefined;
  const colon = rest.lastIndexOf(':');
  if (colon >= 0) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
  }
  if (!tag && !digest) tag = 'latest';
  return { host, repository: rest, tag, digest };
}

export function createEcrService(ctx: EmulatorContext, registry: RegistryHandle | null): ServiceModule & ImageResolver {
  const repos = new Map<string, Repository>();
  /** Passwords handed out by GetAuthorizationToken: expiry (emulated ms), and who asked in which region (registry calls act as them). */
  const tokens = new Map<string, { expiresAt: number; caller?: string; region: string }>();
  const registryId = ctx.accountId;
  const uriHost = registry?.host ?? `${ctx.accountId}.dkr.ecr.${ctx.region}.amazonaws.com`;

  const notFound = (name: string) =>
    new AwsError('RepositoryNotFoundException', `The repository with name '${name}' does not exist in the registry with id '${registryId}'`);

  function getRepo(input: Record<string, unknown>): Repository {
    const name = requireString(input, 'repositoryName');
    const registryIdIn = str(input.registryId);
    const repo = repos.get(name);
    if (!repo || (registryIdIn && registryIdIn !== registryId)) throw notFound(name);
    return repo;
  }

  function needRegistry(): RegistryHandle {
    if (!registry) {
      throw new AwsError(
        'ServerException',
        'The emulator runs without an image registry (docker-registry is not installed), so image data is unavailable',
        500,
      );
    }
    return registry;
  }

  // --- the registry's HTTP API (distribution spec), always through the backend: no auth, no gate ---
  async function listTags(name: string): Promise<string[]> {
    const r = needRegistry();
    const res = await fetch(`${r.backendUrl}/v2/${name}/tags/list`);
    if (res.status === 404) return [];
    if (!res.ok) throw new AwsError('ServerException', `registry tags/list for ${name}: HTTP ${res.status}`, 500);
    const body = (await res.json()) as { tags?: string[] | null };
    return body.tags ?? [];
  }

  async function getManifest(name: string, reference: string, accept = MANIFEST_TYPES): Promise<Manifest | null> {
    const r = needRegistry();
    const res = await fetch(`${r.backendUrl}/v2/${name}/manifests/${reference}`, { headers: { accept: accept.join(', ') } });
    if (res.status === 404) return null;
    if (!res.ok) throw new AwsError('ServerException', `registry manifest ${name}:${reference}: HTTP ${res.status}`, 500);
    const body = await res.text();
    const mediaType = res.headers.get('content-type') ?? '';
    const digest = res.headers.get('docker-content-digest') ?? `sha256:${createHash('sha256').update(body).digest('hex')}`;
    return { body, mediaType, digest };
  }

  /** Every manifest revision of a repository, tagged or not. The API has no listing of untagged
   * manifests, so this reads the registry's own storage layout. */
  async function revisions(name: string): Promise<string[]> {
    const r = needRegistry();
    const dir = join(r.storageDir, 'docker/registry/v2/repositories', name, '_manifests/revisions/sha256');
    const entries = await readdir(dir).catch(() => [] as string[]);
    const out: string[] = [];
    for (const hex of entries) {
      // A deleted manifest keeps its directory but loses its link file.
      const link = await readFile(join(dir, hex, 'link'), 'utf8').catch(() => undefined);
      if (link) out.push(`sha256:${hex}`);
    }
    return out;
  }

  async function images(repo: Repository): Promise<ImageRecord[]> {
    const byDigest = new Map<string, ImageRecord>();
    for (const tag of await listTags(repo.name)) {
      const m = await getManifest(repo.name, tag);
      if (!m) continue;
      const rec = byDigest.get(m.digest) ?? { digest: m.digest, tags: [], manifest: m };
      rec.tags.push(tag);
      byDigest.set(m.digest, rec);
    }
    for (const digest of await revisions(repo.name)) {
      if (byDigest.has(digest)) continue;
      const m = await getManifest(repo.name, digest);
      if (m) byDigest.set(digest, { digest, tags: [], manifest: m });
    }
    const now = ctx.clock.now();
    for (const d of byDigest.keys()) if (!repo.pushedAt.has(d)) repo.pushedAt.set(d, now);
    return [...byDigest.values()].sort((a, b) => (repo.pushedAt.get(a.digest) ?? 0) - (repo.pushedAt.get(b.digest) ?? 0));
  }

  async function imageSize(name: string, m: Manifest): Promise<number> {
    const parsed = JSON.parse(m.body) as { layers?: { size?: number }[]; manifests?: { digest: string }[] };
    if (parsed.layers) return parsed.layers.reduce((n, l) => n + (l.size ?? 0), 0);
    let total = 0;
    for (const child of parsed.manifests ?? []) {
      const cm = await getManifest(name, child.digest);
      if (cm) total += await imageSize(name, cm);
    }
    return total;
  }

  function matches(img: ImageRecord, id: ImageId): boolean {
    if (id.imageDigest && id.imageDigest !== img.digest) return false;
    if (id.imageTag && !img.tags.includes(id.imageTag)) return false;
    return Boolean(id.imageDigest || id.imageTag);
  }

  const idText = (id: ImageId) => `{imageDigest:'${id.imageDigest ?? 'null'}', imageTag:'${id.imageTag ?? 'null'}'}`;

  function parseImageIds(v: unknown): ImageId[] {
    if (!Array.isArray(v) || v.length === 0) {
      throw new AwsError(
        'InvalidParameterException',
        "Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length greater than or equal to 1'",
      );
    }
    return v.map((x: Record<string, unknown>) => ({ imageDigest: str(x?.imageDigest), imageTag: str(x?.imageTag) }));
  }

  async function deleteManifest(name: string, digest: string): Promise<void> {
    const r = needRegistry();
    const res = await fetch(`${r.backendUrl}/v2/${name}/manifests/${digest}`, { method: 'DELETE' });
    if (res.status !== 202 && res.status !== 404) throw new AwsError('ServerException', `registry delete ${name}@${digest}: HTTP ${res.status}`, 500);
  }

  /** Removes one tag and leaves the image: the registry API can only delete whole manifests. */
  async function untag(name: string, tag: string): Promise<void> {
    const r = needRegistry();
    await rm(join(r.storageDir, 'docker/registry/v2/repositories', name, '_manifests/tags', tag), { recursive: true, force: true });
  }

  function repoView(r: Repository) {
    return {
      repositoryArn: r.arn,
      registryId,
      repositoryName: r.name,
      repositoryUri: `${uriHost}/${r.name}`,
      createdAt: seconds(r.createdAt),
      imageTagMutability: r.imageTagMutability,
      imageScanningConfiguration: { scanOnPush: r.scanOnPush },
      encryptionConfiguration: { encryptionType: 'AES256' },
    };
  }

  function repoByArn(arn: string): Repository {
    const prefix = `arn:aws:ecr:${ctx.region}:${registryId}:repository/`;
    if (!arn.startsWith(prefix)) {
      throw new AwsError('InvalidParameterException', `Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid ARN'`);
    }
    const repo = repos.get(arn.slice(prefix.length));
    if (!repo) throw notFound(arn.slice(prefix.length));
    return repo;
  }

  function checkMutability(v: unknown): string {
    if (v === undefined) return 'MUTABLE';
    if (v !== 'MUTABLE' && v !== 'IMMUTABLE') {
      throw new AwsError(
        'ValidationException',
        `1 validation error detected: Value '${String(v)}' at 'imageTagMutability' failed to satisfy constraint: Member must satisfy enum value set: [MUTABLE, IMMUTABLE]`,
      );
    }
    return v;
  }

  function paginate<T>(items: T[], input: Record<string, unknown>, max = 1000): { page: T[]; nextToken?: string } {
    const maxResults = typeof input.maxResults === 'number' ? input.maxResults : 100;
    if (maxResults < 1 || maxResults > max) {
      throw new AwsError(
        'InvalidParameterException',
        `Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value between 1 and ${max}'`,
      );
    }
    const start = typeof input.nextToken === 'string' ? Number(Buffer.from(input.nextToken, 'base64').toString()) : 0;
    if (!Number.isInteger(start) || start < 0) throw new AwsError('InvalidParameterException', 'Invalid parameter at nextToken');
    const page = items.slice(start, start + maxResults);
    const next = start + maxResults;
    return { page, nextToken: next < items.length ? Buffer.from(String(next)).toString('base64') : undefined };
  }

  // --- the front door's rules: ECR's auth, repository existence and tag immutability for direct pushes ---
  const gate: RegistryGate = {
    async check(req: GateRequest): Promise<GateRejection | null> {
      const unauthorized: GateRejection = {
        status: 401,
        code: 'UNAUTHORIZED',
        message: 'Not Authorized',
        headers: { 'www-authenticate': `Basic realm="${registry?.url ?? ''}",service="ecr.amazonaws.com"` },
      };
      const auth = req.authorization;
      if (!auth?.startsWith('Basic ')) return unauthorized;
      const [user, password] = Buffer.from(auth.slice(6), 'base64').toString().split(/:(.*)/s);
      const token = password ? tokens.get(password) : undefined;
      if (user !== 'AWS' || token === undefined) return unauthorized;
      if (token.expiresAt <= ctx.clock.now()) {
        return { status: 403, code: 'DENIED', message: 'Your authorization token has expired. Reauthenticate and try again.' };
      }
      if (token.caller) {
        const scope = { region: token.region, account: ctx.accountId };
        const denied = ctx.iam.authorize(
          token.caller,
          registryPermissions({ method: req.method, repository: req.repository, kind: req.kind, upload: req.upload ?? false }, scope),
        );
        if (denied) return { status: 403, code: 'DENIED', message: deniedMessage(ctx.accountId, denied) };
      }
      if (!req.repository) return null;
      const repo = repos.get(req.repository);
      if (!repo) {
        return {
          status: 404,
          code: 'NAME_UNKNOWN',
          message: `The repository with name '${req.repository}' does not exist in the registry with id '${registryId}'`,
        };
      }
      if (req.method === 'PUT' && req.kind === 'manifests' && req.reference && !DIGEST_RE.test(req.reference) && repo.imageTagMutability === 'IMMUTABLE') {
        const current = await getManifest(repo.name, req.reference);
        if (current && current.digest !== req.manifestDigest) {
          return {
            status: 400,
            code: 'TAG_INVALID',
            message: `The image tag '${req.reference}' already exists in the '${repo.name}' repository and cannot be overwritten because the repository is immutable.`,
          };
        }
      }
      return null;
    },
    pushed(repository, _reference, digest) {
      const repo = repos.get(repository);
      if (repo && !repo.pushedAt.has(digest)) repo.pushedAt.set(digest, ctx.clock.now());
    },
  };
  registry?.setGate(gate);

  async function resolve(image: string): Promise<ImageResolution> {
    const ref = parseImageRef(image);
    if (!registry || ref.host !== registry.host) return { found: true };
    const reason = `CannotPullContainerError: pull image manifest has been retried 5 time(s): failed to resolve ref ${image}: ${image}: not found`;
    if (!repos.has(ref.repository)) return { found: false, reason };
    let m = await getManifest(ref.repository, ref.digest ?? ref.tag ?? 'latest');
    if (!m) return { found: false, reason };
    const digest = m.digest;
    if (INDEX_TYPES.has(m.mediaType)) {
      // ECS runs linux/amd64 unless told otherwise.
      const index = JSON.parse(m.body) as { manifests?: { digest: string; platform?: { os?: string; architecture?: string } }[] };
      const pick = index.manifests?.find((x) => x.platform?.os === 'linux' && x.platform.architecture === 'amd64') ?? index.manifests?.[0];
      m = pick ? await getManifest(ref.repository, pick.digest) : null;
      if (!m) return { found: false, reason };
    }
    const configDigest = (JSON.parse(m.body) as { config?: { digest?: string } }).config?.digest;
    let labels: Record<string, string> = {};
    if (configDigest) {
      const res = await fetch(`${registry.backendUrl}/v2/${ref.repository}/blobs/${configDigest}`);
      if (res.ok) {
        const config = (await res.json()) as { config?: { Labels?: Record<string, string> | null } };
        labels = config.config?.Labels ?? {};
      }
    }
    return { found: true, digest, labels };
  }

  const operations: ServiceModule['operations'] = {
    CreateRepository: {
      mutating: true,
      handler(input) {
        const name = requireString(input, 'repositoryName');
        if (name.length < 2 || name.length > 256) {
          const bound = name.length < 2 ? 'greater than or equal to 2' : 'less than or equal to 256';
          throw new AwsError('InvalidParameterException', `Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must have length ${bound}'`);
        }
        if (!NAME_RE.test(name)) {
          throw new AwsError(
            'InvalidParameterException',
            `Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression '${NAME_RE.source.slice(1, -1)}''`,
          );
        }
        if (repos.has(name)) {
          throw new AwsError('RepositoryAlreadyExistsException', `The repository with name '${name}' already exists in the registry with id '${registryId}'`);
        }
        const scan = input.imageScanningConfiguration as { scanOnPush?: unknown } | undefined;
        const repo: Repository = {
          name,
          arn: `arn:aws:ecr:${ctx.region}:${registryId}:repository/${name}`,
          createdAt: ctx.clock.now(),
          imageTagMutability: checkMutability(input.imageTagMutability),
          scanOnPush: scan?.scanOnPush === true,
          tags: new Map(parseTags(input.tags).map((t) => [t.Key, t.Value])),
          pushedAt: new Map(),
        };
        repos.set(name, repo);
        return { repository: repoView(repo) };
      },
    },
    DescribeRepositories: {
      mutating: false,
      handler(input) {
        const names = input.repositoryNames;
        let list: Repository[];
        if (Array.isArray(names) && names.length > 0) {
          list = names.map((n) => {
            const r = repos.get(String(n));
            if (!r) throw notFound(String(n));
            return r;
          });
        } else {
          list = [...repos.values()].sort((a, b) => a.createdAt - b.createdAt);
        }
        const { page, nextToken } = paginate(list, input);
        return { repositories: page.map(repoView), nextToken };
      },
    },
    DeleteRepository: {
      mutating: true,
      async handler(input) {
        const repo = getRepo(input);
        if (registry) {
          const imgs = await images(repo);
          if (imgs.length > 0 && input.force !== true) {
            throw new AwsError(
              'RepositoryNotEmptyException',
              `The repository with name '${repo.name}' in registry with id '${registryId}' cannot be deleted because it still contains images`,
            );
          }
          // The registry has no API to delete a repository: remove its storage.
          await rm(join(registry.storageDir, 'docker/registry/v2/repositories', repo.name), { recursive: true, force: true });
        }
        repos.delete(repo.name);
        return { repository: repoView(repo) };
      },
    },
    PutLifecyclePolicy: {
      mutating: true,
      handler(input) {
        const repo = getRepo(input);
        const text = requireString(input, 'lifecyclePolicyText');
        let rules: unknown;
        try {
          rules = (JSON.parse(text) as { rules?: unknown }).rules;
        } catch {
          rules = undefined; // reported just below, as AWS does for any malformed policy
        }
        if (!Array.isArray(rules) || rules.length === 0) {
          throw new AwsError(
            'InvalidParameterException',
            "Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle policy validation failure: object has missing required properties ([\"rules\"])'",
          );
        }
        repo.lifecyclePolicy = text;
        return { registryId, repositoryName: repo.name, lifecyclePolicyText: text };
      },
    },
    GetLifecyclePolicy: {
      mutating: false,
      handler(input) {
        const repo = getRepo(input);
        if (repo.lifecyclePolicy === undefined) {
          throw new AwsError(
            'LifecyclePolicyNotFoundException',
            `Lifecycle policy does not exist for the repository with name '${repo.name}' in the registry with id '${registryId}'`,
          );
        }
        return { registryId, repositoryName: repo.name, lifecyclePolicyText: repo.lifecyclePolicy, lastEvaluatedAt: seconds(repo.createdAt) };
      },
    },
    DeleteLifecyclePolicy: {
      mutating: true,
      handler(input) {
        const repo = getRepo(input);
        const text = repo.lifecyclePolicy;
        if (text === undefined) {
          throw new AwsError(
            'LifecyclePolicyNotFoundException',
            `Lifecycle policy does not exist for the repository with name '${repo.name}' in the registry with id '${registryId}'`,
          );
        }
        repo.lifecyclePolicy = undefined;
        return { registryId, repositoryName: repo.name, lifecyclePolicyText: text, lastEvaluatedAt: seconds(repo.createdAt) };
      },
    },
    PutImageScanningConfiguration: {
      mutating: true,
      handler(input) {
        const repo = getRepo(input);
        const scan = input.imageScanningConfiguration as { scanOnPush?: unknown } | undefined;
        repo.scanOnPush = scan?.scanOnPush === true;
        return { registryId, repositoryName: repo.name, imageScanningConfiguration: { scanOnPush: repo.scanOnPush } };
      },
    },
    PutImageTagMutability: {
      mutating: true,
      handler(input) {
        const repo = getRepo(input);
        if (input.imageTagMutability === undefined) requireString(input, 'imageTagMutability');
        repo.imageTagMutability = checkMutability(input.imageTagMutability);
        return { registryId, repositoryName: repo.name, imageTagMutability: repo.imageTagMutability };
      },
    },
    TagResource: {
      mutating: true,
      handler(input) {
        const repo = repoByArn(requireString(input, 'resourceArn'));
        for (const t of parseTags(input.tags)) repo.tags.set(t.Key, t.Value);
        return {};
      },
    },
    UntagResource: {
      mutating: true,
      handler(input) {
        const repo = repoByArn(requireString(input, 'resourceArn'));
        for (const k of Array.isArray(input.tagKeys) ? input.tagKeys : []) repo.tags.delete(String(k));
        return {};
      },
    },
    ListTagsForResource: {
      mutating: false,
      handler(input) {
        const repo = repoByArn(requireString(input, 'resourceArn'));
        return { tags: [...repo.tags].map(([Key, Value]) => ({ Key, Value })) };
      },
    },
    DescribeImages: {
      mutating: false,
      async handler(input) {
        const repo = getRepo(input);
        const all = await images(repo);
        let selected: ImageRecord[];
        if (input.imageIds !== undefined) {
          selected = [];
          for (const id of parseImageIds(input.imageIds)) {
            const img = all.find((i) => matches(i, id));
            if (!img) {
              throw new AwsError(
                'ImageNotFoundException',
                `The image with imageId ${idText(id)} does not exist within the repository with name '${repo.name}' in the registry with id '${registryId}'`,
              );
            }
            if (!selected.includes(img)) selected.push(img);
          }
        } else {
          const status = str((input.filter as { tagStatus?: unknown } | undefined)?.tagStatus) ?? 'ANY';
          selected = all.filter((i) => status === 'ANY' || (status === 'TAGGED') === i.tags.length > 0);
        }
        const { page, nextToken } = paginate(selected, input);
        const imageDetails = [];
        for (const img of page) {
          const parsed = JSON.parse(img.manifest.body) as { config?: { mediaType?: string } };
          imageDetails.push({
            registryId,
            repositoryName: repo.name,
            imageDigest: img.digest,
            imageTags: img.tags.length > 0 ? img.tags : undefined,
            imageSizeInBytes: await imageSize(repo.name, img.manifest),
            imagePushedAt: seconds(repo.pushedAt.get(img.digest) ?? ctx.clock.now()),
            imageManifestMediaType: img.manifest.mediaType,
            artifactMediaType: parsed.config?.mediaType,
          });
        }
        return { imageDetails, nextToken };
      },
    },
    ListImages: {
      mutating: false,
      async handler(input) {
        const repo = getRepo(input);
        const status = str((input.filter as { tagStatus?: unknown } | undefined)?.tagStatus) ?? 'ANY';
        // One entry per tag, and the digest alone for an untagged image.
        const ids = (await images(repo))
          .filter((i) => status === 'ANY' || (status === 'TAGGED') === i.tags.length > 0)
          .flatMap((i) => (i.tags.length > 0 ? i.tags.map((t) => ({ imageDigest: i.digest, imageTag: t })) : [{ imageDigest: i.digest }]));
        const { page, nextToken } = paginate(ids, input);
        return { imageIds: page, nextToken };
      },
    },
    BatchGetImage: {
      mutating: false,
      async handler(input) {
        const repo = getRepo(input);
        const accepted = Array.isArray(input.acceptedMediaTypes) && input.acceptedMediaTypes.length > 0 ? input.acceptedMediaTypes.map(String) : MANIFEST_TYPES;
        const all = await images(repo);
        const out = [];
        const failures = [];
        for (const id of parseImageIds(input.imageIds)) {
          const img = all.find((i) => matches(i, id));
          if (!img) {
            failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
            continue;
          }
          if (!accepted.includes(img.manifest.mediaType)) {
            failures.push({ imageId: id, failureCode: 'UnsupportedImageType', failureReason: 'The requested media type is not supported' });
            continue;
          }
          out.push({
            registryId,
            repositoryName: repo.name,
            imageId: { imageDigest: img.digest, imageTag: id.imageTag },
            imageManifest: img.manifest.body,
            imageManifestMediaType: img.manifest.mediaType,
          });
        }
        return { images: out, failures };
      },
    },
    PutImage: {
      mutating: true,
      async handler(input) {
        const repo = getRepo(input);
        const r = needRegistry();
        const body = requireString(input, 'imageManifest');
        let parsed: { mediaType?: unknown };
        try {
          parsed = JSON.parse(body) as { mediaType?: unknown };
        } catch {
          throw new AwsError('InvalidParameterException', "Invalid parameter at 'ImageManifest' failed to satisfy constraint: 'Invalid JSON syntax'");
        }
        const mediaType = str(input.imageManifestMediaType) ?? str(parsed.mediaType);
        if (!mediaType || !MANIFEST_TYPES.includes(mediaType)) {
          throw new AwsError(
            'InvalidParameterException',
            "Invalid parameter at 'imageManifestMediaType' failed to satisfy constraint: 'Invalid parameter: Manifest media type'",
          );
        }
        const digest = `sha256:${createHash('sha256').update(body).digest('hex')}`;
        const givenDigest = str(input.imageDigest);
        if (givenDigest && givenDigest !== digest) {
          throw new AwsError(
            'ImageDigestDoesNotMatchException',
            `The provided image digest '${givenDigest}' does not match the digest of the image manifest '${digest}'`,
          );
        }
        const tag = str(input.imageTag);
        if (tag !== undefined && !TAG_RE.test(tag)) {
          throw new AwsError(
            'InvalidParameterException',
            `Invalid parameter at 'imageTag' failed to satisfy constraint: 'must satisfy regular expression '[a-zA-Z0-9-_.]+''`,
          );
        }
        const current = tag ? await getManifest(repo.name, tag) : await getManifest(repo.name, digest);
        if (current?.digest === digest) {
          throw new AwsError(
            'ImageAlreadyExistsException',
            `Image with digest '${digest}' and tag '${tag ?? 'null'}' already exists in the repository with name '${repo.name}' in registry with id '${registryId}'`,
          );
        }
        if (tag && current && repo.imageTagMutability === 'IMMUTABLE') {
          throw new AwsError(
            'ImageTagAlreadyExistsException',
            `The image tag '${tag}' already exists in the '${repo.name}' repository and cannot be overwritten because the repository is immutable.`,
          );
        }
        const res = await fetch(`${r.backendUrl}/v2/${repo.name}/manifests/${tag ?? digest}`, {
          method: 'PUT',
          headers: { 'content-type': mediaType },
          body,
        });
        if (res.status !== 201) {
          const text = await res.text();
          if (text.includes('BLOB_UNKNOWN') || text.includes('MANIFEST_BLOB_UNKNOWN')) {
            throw new AwsError(
              'LayersNotFoundException',
              `Layers required for pushing image into repository with name '${repo.name}' in the registry with id '${registryId}' do not exist`,
            );
          }
          throw new AwsError('InvalidParameterException', `Invalid parameter at 'ImageManifest' failed to satisfy constraint: '${text.trim()}'`);
        }
        if (!repo.pushedAt.has(digest)) repo.pushedAt.set(digest, ctx.clock.now());
        return {
          image: {
            registryId,
            repositoryName: repo.name,
            imageId: { imageDigest: digest, imageTag: tag },
            imageManifest: body,
            imageManifestMediaType: mediaType,
          },
        };
      },
    },
    BatchDeleteImage: {
      mutating: true,
      async handler(input) {
        const repo = getRepo(input);
        const ids = parseImageIds(input.imageIds);
        const imageIds = [];
        const failures = [];
        for (const id of ids) {
          const all = await images(repo);
          const img = all.find((i) => matches(i, id));
          if (!img) {
            failures.push({ imageId: id, failureCode: 'ImageNotFound', failureReason: 'Requested image not found' });
            continue;
          }
          if (id.imageTag && !id.imageDigest && img.tags.length > 1) {
            await untag(repo.name, id.imageTag);
            imageIds.push({ imageDigest: img.digest, imageTag: id.imageTag });
            continue;
          }
          await deleteManifest(repo.name, img.digest);
          repo.pushedAt.delete(img.digest);
          for (const t of img.tags) imageIds.push({ imageDigest: img.digest, imageTag: t });
          if (img.tags.length === 0) imageIds.push({ imageDigest: img.digest });
        }
        return { imageIds, failures };
      },
    },
    GetAuthorizationToken: {
      mutating: false,
      handler(_input, caller) {
        const r = needRegistry();
        const password = randomBytes(24).toString('base64url');
        const expiresAt = ctx.clock.now() + TOKEN_HOURS * 3600_000;
        tokens.set(password, { expiresAt, caller: caller.action, region: ctx.region });
        return {
          authorizationData: [{ authorizationToken: Buffer.from(`AWS:${password}`).toString('base64'), expiresAt: seconds(expiresAt), proxyEndpoint: r.url }],
        };
      },
    },
  };

  return {
    name: 'ecr',
    protocol: 'json',
    targetPrefix: 'AmazonEC2ContainerRegistry_V20150921',
    operations,
    resolve,
    resourceTags(arn) {
      const match = /^arn:aws:ecr:[^:]*:[^:]*:repository\/(.+)$/.exec(arn);
      const repo = match ? repos.get(match[1] ?? '') : undefined;
      return repo && Object.fromEntries(repo.tags);
    },

    state() {
      return {
        registry: registry?.url ?? null,
        repositories: [...repos.values()].map((r) => ({
          ...repoView(r),
          tags: Object.fromEntries(r.tags),
          lifecyclePolicy: r.lifecyclePolicy ?? null,
        })),
      };
    },
    reset() {
      repos.clear();
      tokens.clear();
      // A new account has no images either; blobs stay, unreachable without a repository link.
      if (registry) rmSync(join(registry.storageDir, 'docker/registry/v2/repositories'), { recursive: true, force: true });
    },
  };
}
