// One directory in the GitHub Actions cache through @actions/cache: service v2, and v1 as GitHub
// Enterprise Server offers it. Loaded only when a cache is used (it is the largest dependency we have).
// A cache failure never fails the build: @actions/cache logs it, and it comes back as a miss or a skip.
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';

export interface CacheService {
  /** v2 (ACTIONS_RESULTS_URL), or v1 (ACTIONS_CACHE_URL): what @actions/cache will talk to. */
  version: 'v1' | 'v2';
}

export interface CacheOptions {
  directory: string;
  key: string;
  /** A command prefix for tar, such as ['buildah', 'unshare'] for storage owned by mapped uids. */
  wrap?: readonly string[];
}

export interface RestoreOptions extends CacheOptions {
  /** Key prefixes to fall back on, in order; the newest entry matching one wins. */
  restoreKeys?: readonly string[];
}

export type SaveOptions = CacheOptions;

export interface RestoreResult {
  /** hit: `key` itself; partial: a prefix or restore-key match; miss: nothing restored. */
  outcome: 'hit' | 'partial' | 'miss';
  matchedKey?: string;
  /** The archive's size, when known. */
  bytes?: number;
  /** Why a miss was not a plain miss, when @actions/cache has not logged it already; safe to log. */
  reason?: string;
}

export interface SaveResult {
  outcome: 'saved' | 'exists' | 'skipped';
  bytes?: number;
  reason?: string;
}

/**
 * The cache service the runner offers, decided as @actions/cache decides it (GHES has only v1), without
 * loading it. undefined: no cache here (a local run), not an error.
 */
export function cacheServiceFromEnv(env: NodeJS.ProcessEnv = process.env): CacheService | undefined {
  if (!env.ACTIONS_RUNTIME_TOKEN) return undefined;
  const version = env.ACTIONS_CACHE_SERVICE_V2 && !isEnterpriseServer(env.GITHUB_SERVER_URL) ? 'v2' : 'v1';
  if (version === 'v2') return env.ACTIONS_RESULTS_URL ? { version } : undefined;
  return env.ACTIONS_CACHE_URL ? { version } : undefined;
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
export async function restoreDirectory(_service: CacheService, options: RestoreOptions): Promise<RestoreResult> {
  const cache = await import('@actions/cache');
  try {
    const matchedKey = await withTar(options, () => cache.restoreCache([options.directory], options.key, [...(options.restoreKeys ?? [])]));
    if (!matchedKey) return { outcome: 'miss' };
    return { outcome: matchedKey === options.key ? 'hit' : 'partial', matchedKey };
  } catch (error) {
    // Only a key @actions/cache refuses (ValidationError) gets here; it logs every other failure itself.
    return { outcome: 'miss', reason: error instanceof Error ? error.message : String(error) };
  }
}

/** Saves `directory` under `key`, unless an entry with this key and version exists. */
export async function saveDirectory(_service: CacheService, options: SaveOptions): Promise<SaveResult> {
  const cache = await import('@actions/cache');
  try {
    const id = await withTar(options, () => cache.saveCache([options.directory], options.key));
    // -1: not stored (a reservation another run holds, a mode that forbids writing, a failure), and logged as such.
    return id === -1 ? { outcome: 'skipped', reason: 'the Actions cache did not store it (its message above says why)' } : { outcome: 'saved' };
  } catch (error) {
    return { outcome: 'skipped', reason: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * Runs one @actions/cache call with the directory's parent as the workspace, so member names never need
 * `..`, and with a `tar` first on PATH that extracts without -P: GNU tar then refuses absolute and `..`
 * members and never writes through a symlink the archive made, so an entry can only fill the directory.
 * The same `tar` runs the real one under `wrap`.
 */
async function withTar<T>(options: CacheOptions, call: () => Promise<T>): Promise<T> {
  const { which } = await import('@actions/io');
  const realTar = await which('tar', true);
  const bin = await mkdtemp(join(process.env.RUNNER_TEMP || tmpdir(), 'ecs-deploy-actions-tar-'));
  const command = [...(options.wrap ?? []), realTar].map(shellQuote).join(' ');
  await writeFile(
    join(bin, 'tar'),
    [
      '#!/bin/sh',
      'extract=',
      'for arg do [ "$arg" = -xf ] && extract=1; done',
      'if [ -n "$extract" ]; then for arg do shift; [ "$arg" = -P ] || set -- "$@" "$arg"; done; fi',
      `exec ${command} "$@"`,
      '',
    ].join('\n'),
  );
  await chmod(join(bin, 'tar'), 0o755);
  const saved = { PATH: process.env.PATH, GITHUB_WORKSPACE: process.env.GITHUB_WORKSPACE };
  process.env.PATH = `${bin}:${saved.PATH ?? ''}`;
  process.env.GITHUB_WORKSPACE = dirname(resolve(options.directory));
  try {
    return await call();
  } finally {
    for (const [name, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
    await rm(bin, { recursive: true, force: true });
  }
}

function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}
