// The Actions cache service v2 in the emulator, end to end with our client: real directories saved
// with the system tar and zstd, uploaded as blobs, matched by key, version and restore keys.
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { type CacheService, restoreDirectory, saveDirectory } from '../../src/cache/actions-cache.ts';

let emu: RunningEmulator;
let service: CacheService;
let work: string;
let directory: string;

beforeAll(async () => {
  emu = await startEmulator({ registry: false });
  service = { resultsUrl: `${emu.endpoint}/_actions-cache/`, token: 'runtime-token' };
});
afterAll(async () => {
  await emu.stop();
});
beforeEach(async () => {
  await fetch(`${emu.endpoint}/_emulator/reset`, { method: 'POST' });
  work = mkdtempSync(join(tmpdir(), 'actions-cache-emu-'));
  directory = join(work, 'storage');
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

/** Files, a symlink, nested and empty directories, an executable: what a builder's storage holds. */
function fill(tag: string): Buffer {
  const blob = randomBytes(40_000);
  mkdirSync(join(directory, 'overlay', 'l', 'diff'), { recursive: true });
  mkdirSync(join(directory, 'empty'));
  writeFileSync(join(directory, 'overlay', 'l', 'diff', 'blob'), blob);
  writeFileSync(join(directory, 'tag'), tag);
  writeFileSync(join(directory, 'overlay', 'run.sh'), '#!/bin/sh\n');
  chmodSync(join(directory, 'overlay', 'run.sh'), 0o755);
  symlinkSync('overlay/l/diff/blob', join(directory, 'current'));
  return blob;
}

interface CacheView {
  entries: { key: string; version: string; sizeBytes: number; finalized: boolean; createdAt: string }[];
}

async function control<T>(path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${emu.endpoint}${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  return (await res.json()) as T;
}

async function operations(): Promise<string[]> {
  const { calls } = await control<{ calls: { service: string; operation: string; error?: string }[] }>('/_emulator/calls');
  return calls.filter((c) => c.service === 'actions-cache').map((c) => c.operation + (c.error ? `:${c.error}` : ''));
}

const options = { workspace: tmpdir(), retryDelaysMs: [0] };

test('a directory survives save, removal and restore: contents, symlink, empty and nested directories, modes', async () => {
  const blob = fill('v1');
  const saved = await saveDirectory(service, { ...options, directory, key: 'buildah-linux-abc' });
  expect(saved).toEqual({ outcome: 'saved', bytes: expect.any(Number) });
  rmSync(directory, { recursive: true });

  const restored = await restoreDirectory(service, { ...options, directory, key: 'buildah-linux-abc' });

  expect(restored).toEqual({ outcome: 'hit', matchedKey: 'buildah-linux-abc', bytes: saved.bytes });
  expect(readdirSync(directory, { recursive: true }).sort()).toEqual(
    ['current', 'empty', 'overlay', 'overlay/l', 'overlay/l/diff', 'overlay/l/diff/blob', 'overlay/run.sh', 'tag'].sort(),
  );
  expect(readFileSync(join(directory, 'overlay', 'l', 'diff', 'blob')).equals(blob)).toBe(true);
  expect(readlinkSync(join(directory, 'current'))).toBe('overlay/l/diff/blob');
  expect(statSync(join(directory, 'overlay', 'run.sh')).mode & 0o777).toBe(0o755);
  expect(await operations()).toEqual(['CreateCacheEntry', 'PutBlob', 'FinalizeCacheEntryUpload', 'GetCacheEntryDownloadURL', 'GetBlob']);
  expect((await control<CacheView>('/_emulator/actions-cache')).entries).toEqual([
    { key: 'buildah-linux-abc', version: expect.stringMatching(/^[0-9a-f]{64}$/), sizeBytes: saved.bytes, finalized: true, createdAt: expect.any(String) },
  ]);
});

test('a large archive goes up in blocks and comes back byte for byte', async () => {
  const blob = fill('blocks');
  const saved = await saveDirectory(service, { ...options, directory, key: 'blocks', blockBytes: 8192 });
  expect(saved.outcome).toBe('saved');
  rmSync(directory, { recursive: true });
  expect((await restoreDirectory(service, { ...options, directory, key: 'blocks' })).outcome).toBe('hit');
  expect(readFileSync(join(directory, 'overlay', 'l', 'diff', 'blob')).equals(blob)).toBe(true);
  const ops = await operations();
  expect(ops.filter((op) => op === 'PutBlock')).toHaveLength(Math.ceil((saved.bytes ?? 0) / 8192));
  expect(ops).toContain('PutBlockList');
});

test('tar runs under the wrap prefix (buildah unshare for storage owned by mapped uids)', async () => {
  fill('wrapped');
  // A stand-in for ['buildah', 'unshare']: notes each run, then runs the command it was given.
  const wrap = ['sh', '-c', `echo "$0" >> ${join(work, 'runs')}; exec "$0" "$@"`];
  expect((await saveDirectory(service, { ...options, directory, key: 'wrapped', wrap })).outcome).toBe('saved');
  rmSync(directory, { recursive: true });
  expect((await restoreDirectory(service, { ...options, directory, key: 'wrapped', wrap })).outcome).toBe('hit');
  expect(readFileSync(join(directory, 'tag'), 'utf8')).toBe('wrapped');
  expect(readFileSync(join(work, 'runs'), 'utf8')).toBe('tar\ntar\n');
});

describe('matching', () => {
  beforeEach(async () => {
    for (const key of ['deps-main-1', 'deps-main-2', 'deps-feature-1']) {
      rmSync(directory, { recursive: true, force: true });
      fill(key);
      expect((await saveDirectory(service, { ...options, directory, key })).outcome).toBe('saved');
    }
    rmSync(directory, { recursive: true });
  });

  const restore = (key: string, restoreKeys: string[] = []) => restoreDirectory(service, { ...options, directory, key, restoreKeys });
  const tag = () => readFileSync(join(directory, 'tag'), 'utf8');

  test('the exact key wins over newer entries sharing its prefix', async () => {
    expect(await restore('deps-main-1', ['deps-'])).toMatchObject({ outcome: 'hit', matchedKey: 'deps-main-1' });
    expect(tag()).toBe('deps-main-1');
  });

  test('then the newest entry the key is a prefix of, then restore keys in order, newest first', async () => {
    expect(await restore('deps-main-')).toMatchObject({ outcome: 'partial', matchedKey: 'deps-main-2' });
    expect(await restore('deps-main-9', ['nothing-', 'deps-main-', 'deps-'])).toMatchObject({ outcome: 'partial', matchedKey: 'deps-main-2' });
    expect(await restore('deps-main-9', ['deps-'])).toMatchObject({ outcome: 'partial', matchedKey: 'deps-feature-1' });
    expect(tag()).toBe('deps-feature-1');
  });

  test('no match is a plain miss; another directory is another version, so a miss too', async () => {
    expect(await restore('other', ['other-'])).toEqual({ outcome: 'miss' });
    expect(await restoreDirectory(service, { ...options, directory: join(work, 'elsewhere'), key: 'deps-main-1' })).toEqual({ outcome: 'miss' });
  });

  test('saving an existing key and version is "exists"; reset forgets every entry', async () => {
    fill('again');
    expect(await saveDirectory(service, { ...options, directory, key: 'deps-main-1' })).toEqual({ outcome: 'exists' });
    expect(await operations()).toContain('CreateCacheEntry:already_exists');
    expect((await control<{ actionsCache: CacheView }>('/_emulator/state')).actionsCache.entries).toHaveLength(3);
    await control('/_emulator/reset', {});
    expect((await control<CacheView>('/_emulator/actions-cache')).entries).toEqual([]);
    expect(await restore('deps-main-1')).toEqual({ outcome: 'miss' });
  });
});

describe('what the service refuses', () => {
  const twirp = (method: string, body: unknown, token = 'runtime-token') =>
    fetch(`${service.resultsUrl}twirp/github.actions.results.api.v1.CacheService/${method}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify(body),
    });

  test('a request without a bearer token: 401 unauthenticated, and the client reports a miss', async () => {
    const res = await twirp('GetCacheEntryDownloadURL', { key: 'k', version: 'v' }, '');
    expect(res.status).toBe(401);
    expect(await res.json()).toEqual({ code: 'unauthenticated', msg: 'missing or malformed bearer token' });
    expect(await restoreDirectory({ ...service, token: '' }, { ...options, directory, key: 'k' })).toEqual({
      outcome: 'miss',
      reason: 'GetCacheEntryDownloadURL answered 401 unauthenticated: missing or malformed bearer token',
    });
  });

  test('a second CreateCacheEntry for a key and version being uploaded: 409 already_exists', async () => {
    expect((await twirp('CreateCacheEntry', { key: 'k', version: 'v' })).status).toBe(200);
    const res = await twirp('CreateCacheEntry', { key: 'k', version: 'v' });
    expect(res.status).toBe(409);
    expect(await res.json()).toEqual({ code: 'already_exists', msg: 'cache entry with the same key, version, and scope already exists' });
  });

  test('blob URLs need their signature and permission; finalizing needs the uploaded archive, of the size said', async () => {
    const { signed_upload_url: upload } = (await (await twirp('CreateCacheEntry', { key: 'k', version: 'v' })).json()) as { signed_upload_url: string };
    const put = (url: string, headers: Record<string, string> = { 'x-ms-blob-type': 'BlockBlob' }) => fetch(url, { method: 'PUT', headers, body: 'archive' });
    expect((await put(upload.replace(/sig=[^&]+/, 'sig=forged'))).status).toBe(403);
    expect((await fetch(upload)).status).toBe(403);
    expect((await put(upload, {})).headers.get('x-ms-error-code')).toBe('MissingRequiredHeader');
    expect((await twirp('FinalizeCacheEntryUpload', { key: 'k', version: 'v', size_bytes: '7' })).status).toBe(412);
    const list = await fetch(`${upload}&comp=blocklist`, { method: 'PUT', body: '<?xml version="1.0"?><BlockList><Latest>bm9uZQ==</Latest></BlockList>' });
    expect([list.status, list.headers.get('x-ms-error-code')]).toEqual([400, 'InvalidBlockList']);
    expect((await put(upload)).status).toBe(201);
    expect((await twirp('FinalizeCacheEntryUpload', { key: 'k', version: 'v', size_bytes: '8' })).status).toBe(400);
    expect(await (await twirp('FinalizeCacheEntryUpload', { key: 'k', version: 'v', size_bytes: '7' })).json()).toEqual({
      ok: true,
      entry_id: '1',
      message: '',
    });
    // Finalized entries are immutable.
    expect((await put(upload)).status).toBe(403);
  });

  test('injected faults turn into a miss or a skipped save with the reason, never a failure', async () => {
    fill('faults');
    await control('/_emulator/faults', { service: 'actions-cache', operation: 'PutBlob', error: 'InternalFailure' });
    await control('/_emulator/faults', { service: 'actions-cache', operation: 'GetCacheEntryDownloadURL', error: 'ThrottlingException' });
    expect(await saveDirectory(service, { ...options, directory, key: 'k' })).toEqual({
      outcome: 'skipped',
      reason: 'Put Blob failed: 500 InternalError: Server encountered an internal error. Please try again after some time. (after 2 attempts)',
    });
    expect(await restoreDirectory(service, { ...options, directory, key: 'k' })).toEqual({
      outcome: 'miss',
      reason: 'GetCacheEntryDownloadURL answered 429 resource_exhausted: rate limited (after 2 attempts)',
    });
  });
});
