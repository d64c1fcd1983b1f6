// The registry API (OCI distribution) for pushing an image whose blobs are in another repository of the
// same registry: each blob is checked with HEAD first and only missing ones move, in parallel; then the manifest.
import { createHash } from 'node:crypto';
import { ActionError } from '../errors.ts';
import type { RegistryLogin } from './login.ts';

/** Manifest types of one platform's image: the only kind the layer cache holds. */
const IMAGE_MANIFEST_TYPES = ['application/vnd.oci.image.manifest.v1+json', 'application/vnd.docker.distribution.manifest.v2+json'];

export interface Manifest {
  body: string;
  mediaType: string;
  /** The config blob's digest: the local image ID of the image this manifest describes. */
  configDigest: string;
  blobs: { digest: string; size: number }[];
}

export interface CopyResult {
  digest: string;
  /** Bytes of blobs the destination already had (not uploaded). */
  reusedBytes: number;
  /** Bytes of blobs uploaded to the destination. */
  uploadedBytes: number;
}

function registryUrl(login: RegistryLogin, path: string): string {
  return `${login.insecure ? 'http' : 'https'}://${login.host}/v2/${path}`;
}

/** The password goes only into this header, never into a URL or a message. */
function call(login: RegistryLogin, url: string, init: RequestInit = {}): Promise<Response> {
  const auth = `Basic ${Buffer.from(`AWS:${login.password}`).toString('base64')}`;
  return fetch(url, { ...init, headers: { ...(init.headers as Record<string, string>), authorization: auth } });
}

async function refuse(what: string, response: Response): Promise<never> {
  const text = (await response.text()).slice(0, 500);
  throw new ActionError(`The registry refused ${what}: HTTP ${response.status} ${text}`, 'run the step again; if it persists, report it with this log.');
}

/** An image manifest's parts, or undefined for another kind (an index: the cache never holds one). */
export function parseManifest(body: string, mediaType: string | undefined): Manifest | undefined {
  if (!mediaType || !IMAGE_MANIFEST_TYPES.includes(mediaType)) return undefined;
  const parsed = JSON.parse(body) as { config: { digest: string; size: number }; layers: { digest: string; size: number }[] };
  return { body, mediaType, configDigest: parsed.config.digest, blobs: [parsed.config, ...parsed.layers].map(({ digest, size }) => ({ digest, size })) };
}

/** The image manifest a tag names, or undefined when the tag or the repository does not exist. */
export async function readManifest(login: RegistryLogin, repository: string, reference: string): Promise<Manifest | undefined> {
  const response = await call(login, registryUrl(login, `${repository}/manifests/${reference}`), {
    headers: { accept: IMAGE_MANIFEST_TYPES.join(', ') },
  });
  if (response.status === 404) return undefined;
  if (!response.ok) return refuse(`reading ${repository}:${reference}`, response);
  return parseManifest(await response.text(), response.headers.get('content-type') ?? undefined);
}

async function hasBlob(login: RegistryLogin, repository: string, digest: string): Promise<boolean> {
  const what = `checking ${repository}@${digest}`;
  const response = await call(login, registryUrl(login, `${repository}/blobs/${digest}`), { method: 'HEAD' });
  if (response.status === 404) return false;
  if (!response.ok) return refuse(what, response);
  return true;
}

/** One blob from `from` to `to`: mounted where the registry allows it (ECR with blob mounting on), else streamed through. */
async function copyBlob(login: RegistryLogin, from: string, to: string, digest: string): Promise<void> {
  const what = `uploading ${digest} to ${to}`;
  const start = await call(login, registryUrl(login, `${to}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`), {
    method: 'POST',
  });
  if (start.status === 201) return;
  if (start.status !== 202) return refuse(what, start);
  const location = new URL(start.headers.get('location') ?? '', registryUrl(login, ''));
  const source = await call(login, registryUrl(login, `${from}/blobs/${digest}`));
  if (!source.ok || !source.body) return refuse(`reading ${from}@${digest}`, source);
  const part = await call(login, location.href, {
    method: 'PATCH',
    headers: { 'content-type': 'application/octet-stream' },
    body: source.body,
    duplex: 'half',
  } as RequestInit);
  if (part.status !== 202) return refuse(what, part);
  const done = new URL(part.headers.get('location') ?? location.href, registryUrl(login, ''));
  done.searchParams.set('digest', digest);
  const finish = await call(login, done.href, { method: 'PUT' });
  if (finish.status !== 201) return refuse(what, finish);
}

/** A blob made here (a relabelled config): uploaded in one request. */
async function uploadBlob(login: RegistryLogin, to: string, digest: string, bytes: Buffer): Promise<void> {
  const what = `uploading ${digest} to ${to}`;
  const start = await call(login, registryUrl(login, `${to}/blobs/uploads/`), { method: 'POST' });
  if (start.status !== 202) return refuse(what, start);
  const done = new URL(start.headers.get('location') ?? '', registryUrl(login, ''));
  done.searchParams.set('digest', digest);
  const finish = await call(login, done.href, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: bytes });
  if (finish.status !== 201) return refuse(what, finish);
}

/** An image to push: its manifest, the repository its blobs are in, and blobs made here. */
export interface ImageToPush {
  from: string;
  manifest: Manifest;
  made: Map<string, Buffer>;
}

/**
 * The image with `labels` set in its config, and a history entry saying so. The builder never sees the
 * labels (they name the commit and run, so a LABEL step would differ in every build): the layers and
 * every cache key stay the same, and only this small config is new.
 */
export async function withLabels(login: RegistryLogin, repository: string, manifest: Manifest, labels: [string, string][]): Promise<ImageToPush> {
  if (labels.length === 0) return { from: repository, manifest, made: new Map() };
  const what = `reading ${repository}@${manifest.configDigest}`;
  const response = await call(login, registryUrl(login, `${repository}/blobs/${manifest.configDigest}`));
  if (!response.ok) return refuse(what, response);
  const config = (await response.json()) as { config?: { Labels?: Record<string, string> }; history?: unknown[] };
  config.config = { ...config.config, Labels: { ...config.config?.Labels, ...Object.fromEntries(labels) } };
  config.history = [
    ...(config.history ?? []),
    {
      created: new Date().toISOString(),
      created_by: `LABEL ${labels.map(([name, value]) => `${name}=${JSON.stringify(value)}`).join(' ')}`,
      empty_layer: true,
    },
  ];
  const bytes = Buffer.from(JSON.stringify(config));
  const digest = `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const parsed = JSON.parse(manifest.body) as { config: { digest: string; size: number } };
  parsed.config = { ...parsed.config, digest, size: bytes.length };
  const blobs = [{ digest, size: bytes.length }, ...manifest.blobs.filter((blob) => blob.digest !== manifest.configDigest)];
  return { from: repository, manifest: { ...manifest, body: JSON.stringify(parsed), configDigest: digest, blobs }, made: new Map([[digest, bytes]]) };
}

/** Pushes the image to a tag: blobs the repository has are skipped (HEAD first), the others move in parallel. */
export async function pushImage(login: RegistryLogin, image: ImageToPush, to: string, tag: string): Promise<CopyResult> {
  const { manifest } = image;
  const present = await Promise.all(manifest.blobs.map((blob) => hasBlob(login, to, blob.digest)));
  const missing = manifest.blobs.filter((_, index) => !present[index]);
  await Promise.all(
    missing.map((blob) => {
      const made = image.made.get(blob.digest);
      return made ? uploadBlob(login, to, blob.digest, made) : copyBlob(login, image.from, to, blob.digest);
    }),
  );
  const digest = await putManifest(login, to, tag, manifest);
  const total = (blobs: { size: number }[]) => blobs.reduce((sum, blob) => sum + blob.size, 0);
  return { digest, reusedBytes: total(manifest.blobs) - total(missing), uploadedBytes: total(missing) };
}

/** Puts a manifest under a tag (its blobs must be in the repository); returns its digest. */
export async function putManifest(login: RegistryLogin, repository: string, tag: string, manifest: Manifest): Promise<string> {
  const response = await call(login, registryUrl(login, `${repository}/manifests/${tag}`), {
    method: 'PUT',
    headers: { 'content-type': manifest.mediaType },
    body: manifest.body,
  });
  if (response.status !== 201) return refuse(`pushing ${repository}:${tag}`, response);
  const digest = response.headers.get('docker-content-digest');
  if (!digest) throw new ActionError(`The registry stored ${repository}:${tag} but returned no digest.`, 'run the step again.');
  return digest;
}
