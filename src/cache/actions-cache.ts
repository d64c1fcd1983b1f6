// Restores and saves one directory with the GitHub Actions cache (service v2, the twirp API the runner
// offers JavaScript actions), interoperable with actions/cache. Our own client because @actions/cache
// alone bundles to 1.48 MB minified, over the per-bundle budget. A cache failure never fails the
// build: every one comes back as a miss or a skipped save with a reason to log as a warning.
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VERSION } from '../version.ts';
import { archiveFileName, cacheVersion, createArchive, detectCompression, extractArchive, type TarSettings, UnsafeArchiveError } from './archive.ts';
import { downloadBlob, uploadBlob } from './blob.ts';
import { CacheFailure, DEFAULT_RETRY_DELAYS_MS, withRetries } from './http.ts';

/** ACTIONS_CACHE_MODE as the runner sets it; unset or unknown allows both reading and writing. */
export type CacheMode = 'read' | 'write' | 'write-only' | 'none';
const MODES: readonly string[] = ['read', 'write', 'write-only', 'none'];

export interface CacheService {
  /** ACTIONS_RESULTS_URL; the twirp paths are resolved relative to it. */
  resultsUrl: string;
  /** ACTIONS_RUNTIME_TOKEN, a secret: sent only as the bearer token, never put in a reason. */
  token: string;
  mode?: CacheMode;
}

export interface CacheOptions {
  /** The directory, as a workflow would write it under actions/cache's `path:` (it is part of the version). */
  directory: string;
  key: string;
  /** A command prefix for tar, such as ['buildah', 'unshare'] for storage owned by mapped uids. */
  wrap?: readonly string[];
  /** The base of the archive's member names; default GITHUB_WORKSPACE, else the working directory (as actions/cache). */
  workspace?: string;
  /** Waits before each retry of a request that failed in a retryable way (default 1 s, 5 s). */
  retryDelaysMs?: readonly number[];
}

export interface RestoreOptions extends CacheOptions {
  /** Key prefixes to fall back on, in order; the newest entry matching one wins. */
  restoreKeys?: readonly string[];
}

export interface SaveOptions extends CacheOptions {
  /** Archives up to this size go up in one Put Blob, larger ones in blocks of this size (default 64 MiB). */
  blockBytes?: number;
}

export interface RestoreResult {
  /** hit: `key` itself; partial: a prefix or restore-key match; miss: nothing restored (see reason). */
  outcome: 'hit' | 'partial' | 'miss';
  matchedKey?: string;
  /** The archive's size. */
  bytes?: number;
  /** Why a miss was not a plain miss (a failure, a mode that forbids reading); safe to log. */
  reason?: string;
}

export interface SaveResult {
  /** exists: an entry with this key and version was saved already (by another job, or an earlier run). */
  outcome: 'saved' | 'exists' | 'skipped';
  bytes?: number;
  reason?: string;
}

const CACHE_SERVICE = 'github.actions.results.api.v1.CacheService';
const DEFAULT_BLOCK_BYTES = 64 * 1024 * 1024;
// The service's limit per entry (@actions/cache checks it before reserving).
const MAX_ARCHIVE_BYTES = 10 * 1024 ** 3;
const TWIRP_TIMEOUT_MS = 30_000;

/**
 * The cache service the runner offers, read as @actions/cache reads it: v2 needs ACTIONS_CACHE_SERVICE_V2,
 * ACTIONS_RESULTS_URL and ACTIONS_RUNTIME_TOKEN, and is not offered on GitHub Enterprise Server.
 * undefined: no cache here (not an error; a local run, or a server with only the older service).
 */
export function cacheServiceFromEnv(env: NodeJS.ProcessEnv = process.env): CacheService | undefined {
  if (isEnterpriseServer(env.GITHUB_SERVER_URL)) return undefined;
  const resultsUrl = env.ACTIONS_RESULTS_URL;
  const token = env.ACTIONS_RUNTIME_TOKEN;
  if (!env.ACTIONS_CACHE_SERVICE_V2 || !resultsUrl || !token) return undefined;
  const mode = env.ACTIONS_CACHE_MODE?.trim().toLowerCase() ?? '';
  return MODES.includes(mode) ? { resultsUrl, token, mode: mode as CacheMode } : { resultsUrl, token };
}

function isEnterpriseServer(serverUrl: string | undefined): boolean {
  let host: string;
  try {
    host = new URL(serverUrl || 'https://github.com').hostname.toLowerCase();
  } catch {
    // A server URL that does not parse is no github.com.
    return true;
  }
  return host !== 'github.com' && !host.endsWith('.ghe.com') && !host.endsWith('.localhost');
}

/** Restores the newest entry for `key` (exact, then by prefix), else for the first restore key that matches one. */
export async function restoreDirectory(service: CacheService, options: RestoreOptions): Promise<RestoreResult> {
  if (service.mode === 'write-only' || service.mode === 'none') {
    return { outcome: 'miss', reason: `the runner's cache mode "${service.mode}" does not allow restoring` };
  }
  const restoreKeys = options.restoreKeys ?? [];
  const problem = keysProblem([options.key, ...restoreKeys]);
  if (problem) return { outcome: 'miss', reason: problem };
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  let temp: string | undefined;
  try {
    const compression = await detectCompression();
    const found = await twirp(service, 'GetCacheEntryDownloadURL', delays, {
      key: options.key,
      ...(restoreKeys.length ? { restore_keys: restoreKeys } : {}),
      version: cacheVersion([options.directory], compression),
    });
    // A miss is ok=false (twirp omits false and "" fields, so `{}` is a miss too).
    if (found.ok !== true) return { outcome: 'miss' };
    const url = text(found, 'signed_download_url', 'signedDownloadUrl');
    if (!url) return { outcome: 'miss', reason: 'the cache service found an entry but gave no download URL' };
    const matchedKey = text(found, 'matched_key', 'matchedKey');
    temp = await temporaryDirectory();
    const archive = join(temp, archiveFileName(compression));
    const bytes = await downloadBlob(url, archive, { retryDelaysMs: delays });
    try {
      await extractArchive(archive, options.directory, compression, tarSettings(options));
    } catch (error) {
      if (error instanceof UnsafeArchiveError) throw error;
      throw new Error(`extracting the archive failed, the directory may be partly restored: ${(error as Error).message}`);
    }
    const result: RestoreResult = { outcome: matchedKey === options.key ? 'hit' : 'partial', bytes };
    if (matchedKey) result.matchedKey = matchedKey;
    return result;
  } catch (error) {
    return { outcome: 'miss', reason: reasonOf(error, service) };
  } finally {
    if (temp) await removeQuietly(temp);
  }
}

/** Saves `directory` under `key`, unless an entry with this key and version exists. */
export async function saveDirectory(service: CacheService, options: SaveOptions): Promise<SaveResult> {
  if (service.mode === 'read' || service.mode === 'none') {
    return { outcome: 'skipped', reason: `the runner's cache mode "${service.mode}" does not allow saving` };
  }
  const problem = keysProblem([options.key]);
  if (problem) return { outcome: 'skipped', reason: problem };
  const delays = options.retryDelaysMs ?? DEFAULT_RETRY_DELAYS_MS;
  let temp: string | undefined;
  try {
    const info = await stat(options.directory).catch(() => undefined);
    if (!info?.isDirectory()) return { outcome: 'skipped', reason: `${options.directory} is not a directory` };
    const compression = await detectCompression();
    temp = await temporaryDirectory();
    const archive = join(temp, archiveFileName(compression));
    await createArchive(archive, options.directory, compression, tarSettings(options));
    const { size } = await stat(archive);
    if (size > MAX_ARCHIVE_BYTES) {
      return { outcome: 'skipped', bytes: size, reason: `the archive is ${size} bytes, over the cache's limit of ${MAX_ARCHIVE_BYTES} bytes per entry` };
    }
    const entry = { key: options.key, version: cacheVersion([options.directory], compression) };
    const created = await twirp(service, 'CreateCacheEntry', delays, entry);
    if (created.ok !== true) {
      // A read-only token answers ok=false with "cache write denied: ...".
      return { outcome: 'skipped', reason: `the cache service did not reserve the key: ${text(created, 'message') || 'no reason given'}` };
    }
    const url = text(created, 'signed_upload_url', 'signedUploadUrl');
    if (!url) return { outcome: 'skipped', reason: 'the cache service reserved the key but gave no upload URL' };
    await uploadBlob(url, archive, size, { retryDelaysMs: delays, blockBytes: options.blockBytes ?? DEFAULT_BLOCK_BYTES });
    const finalized = await twirp(service, 'FinalizeCacheEntryUpload', delays, { key: entry.key, size_bytes: String(size), version: entry.version });
    if (finalized.ok !== true) {
      return { outcome: 'skipped', bytes: size, reason: `the cache service did not finalize the entry: ${text(finalized, 'message') || 'no reason given'}` };
    }
    return { outcome: 'saved', bytes: size };
  } catch (error) {
    // The service answers 409 already_exists when another job (or an earlier run) saved this key and version.
    if (error instanceof CacheFailure && (error.code === 'already_exists' || error.status === 409)) return { outcome: 'exists' };
    return { outcome: 'skipped', reason: reasonOf(error, service) };
  } finally {
    if (temp) await removeQuietly(temp);
  }
}

/** The limits @actions/cache checks before calling the service. */
function keysProblem(keys: readonly string[]): string | undefined {
  if (keys.length > 10) return `at most 10 keys (the key and its restore keys) are allowed, got ${keys.length}`;
  for (const key of keys) {
    if (!key) return 'a cache key is empty';
    if (key.length > 512) return `the cache key "${key.slice(0, 40)}…" is longer than 512 characters`;
    if (key.includes(',')) return `the cache key "${key}" contains a comma`;
  }
  return undefined;
}

// A leftover archive is not worth a failed build, and the runner empties RUNNER_TEMP after the job.
async function removeQuietly(path: string): Promise<void> {
  await rm(path, { recursive: true, force: true }).catch(() => undefined);
}

/** Under RUNNER_TEMP, which the runner empties after the job, as @actions/cache does. */
function temporaryDirectory(): Promise<string> {
  return mkdtemp(join(process.env.RUNNER_TEMP || tmpdir(), 'actions-cache-'));
}

function tarSettings(options: CacheOptions): TarSettings {
  return { workspace: options.workspace ?? (process.env.GITHUB_WORKSPACE || process.cwd()), wrap: options.wrap };
}

type Message = Record<string, unknown>;

/** One twirp JSON call; request fields use the proto names, as @actions/cache sends them. */
async function twirp(service: CacheService, method: string, delays: readonly number[], body: Message): Promise<Message> {
  const base = service.resultsUrl.endsWith('/') ? service.resultsUrl : `${service.resultsUrl}/`;
  const url = new URL(`twirp/${CACHE_SERVICE}/${method}`, base);
  return withRetries(method, delays, async () => {
    const res = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${service.token}`,
        'content-type': 'application/json',
        accept: 'application/json',
        'user-agent': `ecs-deploy-actions/${VERSION}`,
      },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(TWIRP_TIMEOUT_MS),
    });
    const raw = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      // Not JSON (a proxy's HTML page, an empty body): the status says enough.
    }
    const message = typeof parsed === 'object' && parsed !== null ? (parsed as Message) : undefined;
    if (res.ok && message) return message;
    // Twirp errors are {"code": "already_exists", "msg": "..."} with the matching HTTP status.
    const code = message && typeof message.code === 'string' ? message.code : undefined;
    const msg = message && typeof message.msg === 'string' ? message.msg : undefined;
    const detail = res.ok ? 'a body that is not JSON' : [code, msg].filter(Boolean).join(': ');
    throw new CacheFailure(`${method} answered ${res.status}${detail ? ` ${detail}` : ''}`, res.status, code);
  });
}

/** A string field under its proto name or its JSON (camelCase) name; twirp servers may send either. */
function text(message: Message, ...names: string[]): string {
  for (const name of names) {
    const value = message[name];
    if (typeof value === 'string') return value;
  }
  return '';
}

function reasonOf(error: unknown, service: CacheService): string {
  const message = error instanceof Error ? error.message : String(error);
  return service.token ? message.replaceAll(service.token, '***') : message;
}
