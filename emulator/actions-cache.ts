// The GitHub Actions cache service as the runner offers it to actions, both versions @actions/cache
// speaks. v2 (ACTIONS_RESULTS_URL = <endpoint>/_actions-cache/): the twirp JSON API (CreateCacheEntry,
// FinalizeCacheEntryUpload, GetCacheEntryDownloadURL), also at /twirp/... where @actions/cache resolves
// it from the root, and the Azure Blob operations its signed URLs allow (Put Blob, Put Block, Put Block
// List, Get Blob). v1, the one GitHub Enterprise Server has (ACTIONS_CACHE_URL = the same base): the
// _apis/artifactcache REST API (GET cache, POST caches, PATCH and POST caches/{id}), whose archive
// location is the same signed Get Blob. Archives are kept in a temporary directory, removed on reset and stop.
import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import { createReadStream, createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { rm, stat } from 'node:fs/promises';
import type http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type { FaultStore } from './core/faults.ts';
import type { EmulatorContext } from './core/types.ts';

export const ACTIONS_CACHE_PREFIX = '/_actions-cache/';
const TWIRP_SERVICE = 'twirp/github.actions.results.api.v1.CacheService/';
const ARTIFACT_CACHE = '_apis/artifactcache/';
// The service's limit per entry, which v1 checks at reservation.
const MAX_ENTRY_BYTES = 10 * 1024 ** 3;
const AZURE_VERSION = '2024-11-04';

interface Entry {
  id: number;
  key: string;
  version: string;
  created: number;
  blob: string;
  finalized: boolean;
  sizeBytes: number;
}

interface Blob {
  /** Staged blocks by id, each in its own file. */
  blocks: Map<string, string>;
  /** Decoded length shared by every block id of the blob (Azure requires equal lengths). */
  blockIdLength?: number;
  /** The committed content's file and size, once Put Blob or Put Block List succeeded. */
  committed?: { file: string; size: number };
}

/** A twirp error: the code names the HTTP status. */
class TwirpError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.code = code;
  }
}
const TWIRP_STATUS: Record<string, number> = {
  invalid_argument: 400,
  malformed: 400,
  unauthenticated: 401,
  permission_denied: 403,
  bad_route: 404,
  not_found: 404,
  already_exists: 409,
  failed_precondition: 412,
  resource_exhausted: 429,
  internal: 500,
  unavailable: 503,
};

/** An Azure Storage error: status, x-ms-error-code and the XML body's Code. */
class AzureError extends Error {
  readonly status: number;
  readonly code: string;
  constructor(status: number, code: string, message: string) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
const AUTH_FAILED = (): AzureError =>
  new AzureError(
    403,
    'AuthenticationFailed',
    'Server failed to authenticate the request. Make sure the value of Authorization header is formed correctly including the signature.',
  );

export interface ActionsCache {
  /** Serves a request under /_actions-cache/ (v1, v2 and the blobs) or /twirp/ (v2). */
  handle(req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void>;
  /** Every entry (key, version, size), for GET /_emulator/actions-cache and the state dump. */
  state(): unknown;
  reset(): void;
  /** Removes the archives; called when the emulator stops. */
  close(): void;
}

export function createActionsCache(ctx: EmulatorContext, faults: FaultStore): ActionsCache {
  let entries: Entry[] = [];
  let blobs = new Map<string, Blob>();
  let nextId = 1;
  let dir: string | undefined;
  // Signs the blob URLs; a fresh secret per emulator, so URLs from another instance are refused.
  const secret = randomBytes(32);

  const storage = (): string => {
    dir ??= mkdtempSync(join(tmpdir(), 'emulator-actions-cache-'));
    return dir;
  };
  const signature = (blob: string, permissions: string): string => createHmac('sha256', secret).update(`${blob}\n${permissions}`).digest('base64url');
  const signedUrl = (req: http.IncomingMessage, blob: string, permissions: 'r' | 'cw'): string =>
    `http://${req.headers.host ?? '127.0.0.1'}${ACTIONS_CACHE_PREFIX}blob/${blob}?sv=${AZURE_VERSION}&sr=b&sp=${permissions}&sig=${signature(blob, permissions)}`;

  const record = (operation: string, mutating: boolean, parameters: unknown, error?: string): void => {
    ctx.recordCall({ time: ctx.clock.now(), service: 'actions-cache', operation, mutating, parameters, ...(error ? { error } : {}) });
  };

  /** Applies the injected faults for this operation; true when one answered (or dropped) the request. */
  async function fault(operation: string, req: http.IncomingMessage, res: http.ServerResponse, kind: 'twirp' | 'azure'): Promise<boolean> {
    for (const rule of faults.pick('actions-cache', operation)) {
      if (rule.error === 'latency') {
        await new Promise((resolve) => setTimeout(resolve, rule.latencyMs ?? 1000));
        continue;
      }
      record(operation, false, {}, rule.error);
      if (rule.error === 'drop') {
        req.socket.destroy();
        return true;
      }
      const throttled = rule.error === 'ThrottlingException';
      if (kind === 'twirp') sendTwirpError(res, new TwirpError(throttled ? 'resource_exhausted' : 'internal', throttled ? 'rate limited' : 'internal error'));
      else
        sendAzureError(
          res,
          throttled
            ? new AzureError(503, 'ServerBusy', 'The server is busy.')
            : new AzureError(500, 'InternalError', 'Server encountered an internal error. Please try again after some time.'),
        );
      return true;
    }
    return false;
  }

  // --- twirp -----------------------------------------------------------------------------------

  function createCacheEntry(body: Record<string, unknown>, req: http.IncomingMessage): unknown {
    const { key, version } = keyAndVersion(body);
    if (entries.some((e) => e.key === key && e.version === version)) {
      throw new TwirpError('already_exists', 'cache entry with the same key, version, and scope already exists');
    }
    const entry: Entry = { id: nextId++, key, version, created: ctx.clock.now(), blob: randomUUID(), finalized: false, sizeBytes: 0 };
    entries.push(entry);
    blobs.set(entry.blob, { blocks: new Map() });
    return { ok: true, signed_upload_url: signedUrl(req, entry.blob, 'cw'), message: '' };
  }

  async function finalizeCacheEntryUpload(body: Record<string, unknown>): Promise<unknown> {
    const { key, version } = keyAndVersion(body);
    const entry = entries.find((e) => e.key === key && e.version === version);
    if (!entry) throw new TwirpError('not_found', 'cache entry not found');
    if (entry.finalized) throw new TwirpError('already_exists', 'cache entry with the same key, version, and scope already exists');
    const committed = blobs.get(entry.blob)?.committed;
    if (!committed) throw new TwirpError('failed_precondition', 'the cache archive has not been uploaded');
    const size = Number(field(body, 'size_bytes', 'sizeBytes'));
    if (size !== committed.size) throw new TwirpError('invalid_argument', `size_bytes ${size} does not match the uploaded archive (${committed.size} bytes)`);
    entry.finalized = true;
    entry.sizeBytes = size;
    return { ok: true, entry_id: String(entry.id), message: '' };
  }

  function getCacheEntryDownloadUrl(body: Record<string, unknown>, req: http.IncomingMessage): unknown {
    const { key, version } = keyAndVersion(body);
    const restoreKeys = field(body, 'restore_keys', 'restoreKeys') ?? [];
    if (!Array.isArray(restoreKeys) || !restoreKeys.every((k) => typeof k === 'string')) {
      throw new TwirpError('invalid_argument', 'restore_keys must be a list of strings');
    }
    // Newest first; only finalized entries of this version are visible.
    const match = findEntry(key, restoreKeys as string[], version);
    if (!match) return { ok: false, signed_download_url: '', matched_key: '' };
    return { ok: true, signed_download_url: signedUrl(req, match.blob, 'r'), matched_key: match.key };
  }

  const methods: Record<string, { mutating: boolean; handler(body: Record<string, unknown>, req: http.IncomingMessage): unknown }> = {
    CreateCacheEntry: { mutating: true, handler: createCacheEntry },
    FinalizeCacheEntryUpload: { mutating: true, handler: finalizeCacheEntryUpload },
    GetCacheEntryDownloadURL: { mutating: false, handler: getCacheEntryDownloadUrl },
  };

  async function handleTwirp(method: string, req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const op = methods[method];
    if (!op) return sendTwirpError(res, new TwirpError('bad_route', `no handler for path "/${TWIRP_SERVICE}${method}"`));
    if (req.method !== 'POST') return sendTwirpError(res, new TwirpError('bad_route', `unsupported method "${req.method}" (only POST is allowed)`));
    if (!String(req.headers['content-type'] ?? '').startsWith('application/json')) {
      // Twirp also speaks application/protobuf; the emulator serves JSON only.
      return sendTwirpError(res, new TwirpError('bad_route', `unexpected Content-Type: "${req.headers['content-type'] ?? ''}"`));
    }
    const token = /^Bearer (\S+)$/i.exec(String(req.headers.authorization ?? ''))?.[1];
    if (!token) return sendTwirpError(res, new TwirpError('unauthenticated', 'missing or malformed bearer token'));
    if (await fault(method, req, res, 'twirp')) return;
    let body: Record<string, unknown>;
    try {
      const parsed: unknown = JSON.parse(await readText(req));
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not an object');
      body = parsed as Record<string, unknown>;
    } catch {
      return sendTwirpError(res, new TwirpError('malformed', 'the request body is not a JSON object'));
    }
    try {
      const result = await op.handler(body, req);
      record(method, op.mutating, body);
      sendJson(res, 200, result);
    } catch (e) {
      if (!(e instanceof TwirpError)) throw e;
      record(method, op.mutating, body, e.code);
      sendTwirpError(res, e);
    }
  }

  // --- Azure Blob ------------------------------------------------------------------------------

  async function handleBlob(name: string, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const comp = url.searchParams.get('comp');
    const operation =
      req.method === 'GET' && !comp
        ? 'GetBlob'
        : req.method !== 'PUT'
          ? undefined
          : comp === 'block'
            ? 'PutBlock'
            : comp === 'blocklist'
              ? 'PutBlockList'
              : !comp
                ? 'PutBlob'
                : undefined;
    if (!operation) throw new AzureError(405, 'UnsupportedHttpVerb', "The resource doesn't support specified Http Verb.");
    const permissions = url.searchParams.get('sp') ?? '';
    if (url.searchParams.get('sig') !== signature(name, permissions)) throw AUTH_FAILED();
    const blob = blobs.get(name);
    const entry = entries.find((e) => e.blob === name);
    if (!blob || !entry) throw new AzureError(404, 'BlobNotFound', 'The specified blob does not exist.');
    // A finalized entry is immutable: its upload URL no longer authorizes anything.
    if (operation === 'GetBlob' ? !permissions.includes('r') : !permissions.includes('w') || entry.finalized) {
      throw new AzureError(403, 'AuthorizationPermissionMismatch', 'This request is not authorized to perform this operation using this permission.');
    }
    if (await fault(operation, req, res, 'azure')) return;
    const parameters: Record<string, unknown> = { key: entry.key, blob: name };
    if (operation === 'GetBlob') {
      if (!blob.committed) throw new AzureError(404, 'BlobNotFound', 'The specified blob does not exist.');
      record(operation, false, parameters);
      res.writeHead(200, {
        'content-type': 'application/octet-stream',
        'content-length': String(blob.committed.size),
        'x-ms-blob-type': 'BlockBlob',
        'x-ms-version': AZURE_VERSION,
        'x-ms-request-id': randomUUID(),
      });
      await pipeline(createReadStream(blob.committed.file), res).catch((e: NodeJS.ErrnoException) => {
        // The client hung up before the end: its problem to retry, not the emulator's failure.
        if (e.code !== 'ERR_STREAM_PREMATURE_CLOSE') throw e;
      });
      return;
    }
    if (operation === 'PutBlob') {
      const type = req.headers['x-ms-blob-type'];
      if (type === undefined) throw new AzureError(400, 'MissingRequiredHeader', "An HTTP header that's mandatory for this request is not specified.");
      if (type !== 'BlockBlob') throw new AzureError(400, 'InvalidHeaderValue', 'The value for one of the HTTP headers is not in the correct format.');
      const file = join(storage(), `${name}.blob`);
      await pipeline(req, createWriteStream(file));
      await discardBlocks(blob);
      blob.committed = { file, size: (await stat(file)).size };
      parameters.bytes = blob.committed.size;
    } else if (operation === 'PutBlock') {
      const id = url.searchParams.get('blockid') ?? '';
      const decoded = Buffer.from(id, 'base64');
      if (!id || decoded.toString('base64') !== id || decoded.length > 64) {
        throw new AzureError(400, 'InvalidQueryParameterValue', 'Value for one of the query parameters specified in the request URI is invalid.');
      }
      if (blob.blockIdLength !== undefined && blob.blockIdLength !== decoded.length) {
        throw new AzureError(400, 'InvalidBlobOrBlock', 'The specified blob or block content is invalid.');
      }
      blob.blockIdLength = decoded.length;
      const file = join(storage(), `${name}.${decoded.toString('hex')}`);
      await pipeline(req, createWriteStream(file));
      blob.blocks.set(id, file);
      parameters.blockid = id;
      parameters.bytes = (await stat(file)).size;
    } else {
      const xml = await readText(req);
      const ids = [...xml.matchAll(/<(Latest|Uncommitted|Committed)>([^<]*)<\/\1>/g)].map((m) => ({ list: m[1], id: m[2] ?? '' }));
      if (!/<BlockList>/.test(xml) || ids.some((b) => b.list === 'Committed' || !blob.blocks.has(b.id))) {
        throw new AzureError(400, 'InvalidBlockList', 'The specified block list is invalid.');
      }
      const file = join(storage(), `${name}.blob`);
      await rm(file, { force: true });
      for (const { id } of ids) await pipeline(createReadStream(blob.blocks.get(id) as string), createWriteStream(file, { flags: 'a' }));
      await discardBlocks(blob);
      blob.committed = { file, size: (await stat(file)).size };
      parameters.blocks = ids.length;
      parameters.bytes = blob.committed.size;
    }
    record(operation, true, parameters);
    res.writeHead(201, { 'content-length': '0', 'x-ms-version': AZURE_VERSION, 'x-ms-request-id': randomUUID() });
    res.end();
  }

  // --- v1 (_apis/artifactcache) ------------------------------------------------------------------

  /** v1 errors are Azure DevOps exceptions: a message, a type key, with the matching status. */
  function sendV1Error(res: http.ServerResponse, status: number, typeKey: string, message: string): void {
    sendJson(res, status, {
      $id: '1',
      innerException: null,
      message,
      typeName: `Microsoft.Azure.DevOps.PipelineCache.WebApi.${typeKey}`,
      typeKey,
      errorCode: 0,
      eventId: 3000,
    });
  }

  async function handleV1(resource: string, req: http.IncomingMessage, res: http.ServerResponse, url: URL): Promise<void> {
    const operation =
      req.method === 'GET' && resource === 'cache'
        ? 'GetCacheEntry'
        : req.method === 'POST' && resource === 'caches'
          ? 'ReserveCache'
          : /^caches\/\d+$/.test(resource)
            ? req.method === 'PATCH'
              ? 'UploadCacheChunk'
              : req.method === 'POST'
                ? 'CommitCache'
                : undefined
            : undefined;
    if (!operation) {
      req.resume();
      return sendJson(res, 404, { message: `no artifact cache route ${req.method} /${ARTIFACT_CACHE}${resource}` });
    }
    if (!/^Bearer \S+$/i.test(String(req.headers.authorization ?? ''))) {
      req.resume();
      return sendV1Error(res, 401, 'UnauthorizedRequestException', 'The user is not authorized to access this resource.');
    }
    // The API is versioned through Accept, as @actions/cache sends it.
    if (!/;\s*api-version=6\.0-preview\.1\b/.test(String(req.headers.accept ?? ''))) {
      req.resume();
      return sendV1Error(res, 400, 'VssInvalidApiVersionException', 'The api-version 6.0-preview.1 is required in the Accept header.');
    }
    if (await fault(operation, req, res, 'twirp')) return;
    const id = Number(resource.split('/')[1]);
    if (operation === 'GetCacheEntry') {
      const keys = (url.searchParams.get('keys') ?? '').split(',').filter(Boolean);
      const version = url.searchParams.get('version') ?? '';
      const [key, ...restoreKeys] = keys;
      if (!key || !version) return sendV1Error(res, 400, 'ArgumentException', 'keys and version are required.');
      const match = findEntry(key, restoreKeys, version);
      record(operation, false, { keys, version });
      if (!match) {
        res.writeHead(204);
        return void res.end();
      }
      return sendJson(res, 200, {
        scope: 'refs/heads/main',
        cacheKey: match.key,
        cacheVersion: match.version,
        creationTime: new Date(match.created).toISOString(),
        archiveLocation: signedUrl(req, match.blob, 'r'),
      });
    }
    if (operation === 'ReserveCache') {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(await readText(req)) as Record<string, unknown>;
      } catch {
        return sendV1Error(res, 400, 'ArgumentException', 'The request body is not JSON.');
      }
      const { key, version } = body;
      if (typeof key !== 'string' || !key || typeof version !== 'string' || !version) {
        return sendV1Error(res, 400, 'ArgumentException', 'key and version are required.');
      }
      if (typeof body.cacheSize === 'number' && body.cacheSize > MAX_ENTRY_BYTES) {
        record(operation, true, body, 'CacheSizeTooLarge');
        return sendV1Error(res, 400, 'ArgumentException', `Cache size of ${body.cacheSize} bytes is over the ${MAX_ENTRY_BYTES} bytes limit.`);
      }
      if (entries.some((e) => e.key === key && e.version === version)) {
        record(operation, true, body, 'ArtifactCacheAlreadyExists');
        return sendV1Error(res, 409, 'ArtifactCacheAlreadyExistsException', `Cache already exists. Scope: refs/heads/main, Key: ${key}, Version: ${version}`);
      }
      const entry: Entry = { id: nextId++, key, version, created: ctx.clock.now(), blob: randomUUID(), finalized: false, sizeBytes: 0 };
      entries.push(entry);
      blobs.set(entry.blob, { blocks: new Map() });
      record(operation, true, body);
      return sendJson(res, 201, { cacheId: entry.id });
    }
    const entry = entries.find((e) => e.id === id);
    if (!entry || entry.finalized) {
      req.resume();
      return sendV1Error(res, 404, 'ArtifactCacheNotFoundException', `No cache entry with id ${id} is being uploaded.`);
    }
    const file = join(storage(), `${entry.blob}.blob`);
    if (operation === 'UploadCacheChunk') {
      // Content-Range: bytes start-end/* (end inclusive), as @actions/cache sends each chunk.
      const range = /^bytes (\d+)-(\d+)\/\*$/.exec(String(req.headers['content-range'] ?? ''));
      if (!range) {
        req.resume();
        return sendV1Error(res, 400, 'ArgumentException', 'Content-Range must be "bytes start-end/*".');
      }
      const start = Number(range[1]);
      const length = Number(range[2]) - start + 1;
      const written = join(storage(), `${entry.blob}.${start}`);
      await pipeline(req, createWriteStream(written));
      const size = (await stat(written)).size;
      if (size !== length) {
        await rm(written, { force: true });
        return sendV1Error(res, 400, 'ArgumentException', `Content-Range says ${length} bytes, the body had ${size}.`);
      }
      const blob = blobs.get(entry.blob);
      blob?.blocks.set(String(start), written);
      record(operation, true, { key: entry.key, start, bytes: size });
      res.writeHead(204);
      return void res.end();
    }
    // CommitCache: the chunks, in offset order, must cover the archive with no gap, and add up to the size given.
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(await readText(req)) as Record<string, unknown>;
    } catch {
      return sendV1Error(res, 400, 'ArgumentException', 'The request body is not JSON.');
    }
    const blob = blobs.get(entry.blob) as Blob;
    const chunks = [...blob.blocks.entries()].map(([start, path]) => ({ start: Number(start), path })).sort((a, b) => a.start - b.start);
    await rm(file, { force: true });
    let offset = 0;
    for (const chunk of chunks) {
      if (chunk.start !== offset) break;
      await pipeline(createReadStream(chunk.path), createWriteStream(file, { flags: 'a' }));
      offset += (await stat(chunk.path)).size;
    }
    await discardBlocks(blob);
    if (typeof body.size !== 'number' || body.size !== offset) {
      await rm(file, { force: true });
      record(operation, true, { key: entry.key, size: body.size }, 'SizeMismatch');
      return sendV1Error(res, 400, 'ArgumentException', `The uploaded chunks make ${offset} contiguous bytes, not the ${String(body.size)} given.`);
    }
    blob.committed = { file, size: offset };
    entry.finalized = true;
    entry.sizeBytes = offset;
    record(operation, true, { key: entry.key, size: offset });
    res.writeHead(204);
    res.end();
  }

  /** The entry a restore gets, as both versions match: the key exactly, then newest by the key as a prefix, then each restore key as a prefix. */
  function findEntry(key: string, restoreKeys: readonly string[], version: string): Entry | undefined {
    const candidates = entries.filter((e) => e.finalized && e.version === version).sort((a, b) => b.created - a.created || b.id - a.id);
    return (
      candidates.find((e) => e.key === key) ??
      candidates.find((e) => e.key.startsWith(key)) ??
      restoreKeys.map((prefix) => candidates.find((e) => e.key.startsWith(prefix))).find((e) => e !== undefined)
    );
  }

  function reset(): void {
    entries = [];
    blobs = new Map();
    nextId = 1;
    if (dir) rmSync(dir, { recursive: true, force: true });
    dir = undefined;
  }

  async function discardBlocks(blob: Blob): Promise<void> {
    await Promise.all([...blob.blocks.values()].map((file) => rm(file, { force: true })));
    blob.blocks.clear();
    delete blob.blockIdLength;
  }

  return {
    async handle(req, res, url) {
      const path = url.pathname.startsWith(ACTIONS_CACHE_PREFIX) ? url.pathname.slice(ACTIONS_CACHE_PREFIX.length) : url.pathname.slice(1);
      if (path.startsWith(TWIRP_SERVICE)) return handleTwirp(path.slice(TWIRP_SERVICE.length), req, res);
      if (path.startsWith(ARTIFACT_CACHE)) return handleV1(path.slice(ARTIFACT_CACHE.length), req, res, url);
      const blob = /^blob\/([0-9a-f-]+)$/.exec(path)?.[1];
      if (blob) {
        try {
          await handleBlob(blob, req, res, url);
        } catch (e) {
          if (!(e instanceof AzureError)) throw e;
          req.resume();
          sendAzureError(res, e);
        }
        return;
      }
      if (path.startsWith('twirp/')) return sendTwirpError(res, new TwirpError('bad_route', `no handler for path "${url.pathname}"`));
      sendJson(res, 404, { error: `no actions cache route ${req.method} ${url.pathname}` });
    },

    state() {
      return {
        entries: entries.map((e) => ({
          key: e.key,
          version: e.version,
          sizeBytes: e.sizeBytes,
          finalized: e.finalized,
          createdAt: new Date(e.created).toISOString(),
        })),
      };
    },

    reset,
    close: reset,
  };
}

function keyAndVersion(body: Record<string, unknown>): { key: string; version: string } {
  const key = field(body, 'key');
  const version = field(body, 'version');
  if (typeof key !== 'string' || !key) throw new TwirpError('invalid_argument', 'key is required');
  if (typeof version !== 'string' || !version) throw new TwirpError('invalid_argument', 'version is required');
  return { key, version };
}

/** A request field under its proto name or its camelCase JSON name; protojson accepts both. */
function field(body: Record<string, unknown>, ...names: string[]): unknown {
  for (const name of names) if (body[name] !== undefined) return body[name];
  return undefined;
}

async function readText(req: http.IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(res: http.ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) });
  res.end(body);
}

function sendTwirpError(res: http.ServerResponse, error: TwirpError): void {
  sendJson(res, TWIRP_STATUS[error.code] ?? 500, { code: error.code, msg: error.message });
}

function sendAzureError(res: http.ServerResponse, error: AzureError): void {
  const requestId = randomUUID();
  const body = `<?xml version="1.0" encoding="utf-8"?><Error><Code>${error.code}</Code><Message>${error.message}\nRequestId:${requestId}\nTime:${new Date().toISOString()}</Message></Error>`;
  res.writeHead(error.status, {
    'content-type': 'application/xml',
    'content-length': String(Buffer.byteLength(body)),
    'x-ms-error-code': error.code,
    'x-ms-request-id': requestId,
    'x-ms-version': AZURE_VERSION,
  });
  res.end(body);
}
