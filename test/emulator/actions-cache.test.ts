// The Actions cache service in the emulator, end to end through @actions/cache (behind src/cache/):
// service v2 as github.com offers it, and v1 alone as GitHub Enterprise Server offers it. Real
// directories saved with the system tar and zstd, matched by key, version and restore keys.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, jest, test } from '@jest/globals';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { type CacheService, cacheServiceFromEnv, restoreDirectory, saveDirectory } from '../../src/cache/actions-cache.ts';
import { PROXIED_DOMAIN, startForwardProxy } from '../helpers/forward-proxy.ts';

let emu: RunningEmulator;
let work: string;
let directory: string;
const saved = { ...process.env };

beforeAll(async () => {
  emu = await startEmulator({ registry: false });
});
afterAll(async () => {
  await emu.stop();
});
beforeEach(async () => {
  await fetch(`${emu.endpoint}/_emulator/reset`, { method: 'POST' });
  work = mkdtempSync(join(tmpdir(), 'actions-cache-emu-'));
  directory = join(work, 'storage');
  mkdirSync(join(work, 'temp'));
  // @actions/cache logs each step; the tests read the emulator, not the log.
  jest.spyOn(process.stdout, 'write').mockImplementation(() => true);
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
  process.env = { ...saved };
  jest.restoreAllMocks();
});

/** The runner's variables for each service: github.com with v2, and GHES with v1 only. */
const runners = {
  v2: (base: string) => ({ GITHUB_SERVER_URL: 'https://github.com', ACTIONS_CACHE_SERVICE_V2: 'True', ACTIONS_RESULTS_URL: base }),
  v1: (base: string) => ({ GITHUB_SERVER_URL: 'https://ghe.example.com', ACTIONS_CACHE_URL: base }),
} as const;

function useRunner(version: keyof typeof runners, endpoint = emu.endpoint): CacheService {
  for (const name of ['ACTIONS_CACHE_SERVICE_V2', 'ACTIONS_RESULTS_URL', 'ACTIONS_CACHE_URL', 'ACTIONS_CACHE_MODE']) delete process.env[name];
  Object.assign(process.env, runners[version](`${endpoint}/_actions-cache/`), { ACTIONS_RUNTIME_TOKEN: 'runtime-token', RUNNER_TEMP: join(work, 'temp') });
  const service = cacheServiceFromEnv();
  if (!service) throw new Error(`no cache service for ${version}`);
  return service;
}

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

const expectedOperations = {
  v2: ['CreateCacheEntry', 'PutBlob', 'FinalizeCacheEntryUpload', 'GetCacheEntryDownloadURL', 'GetBlob'],
  v1: ['ReserveCache', 'UploadCacheChunk', 'CommitCache', 'GetCacheEntry', 'GetBlob'],
};

describe.each(['v2', 'v1'] as const)('cache service %s', (version) => {
  let service: CacheService;
  beforeEach(() => {
    service = useRunner(version);
  });

  test('a directory survives save, removal and restore: contents, symlink, empty and nested directories, modes', async () => {
    expect(service.version).toBe(version);
    const blob = fill('first');
    expect(await saveDirectory(service, { directory, key: 'buildah-linux-abc' })).toEqual({ outcome: 'saved' });
    rmSync(directory, { recursive: true });

    expect(await restoreDirectory(service, { directory, key: 'buildah-linux-abc' })).toEqual({ outcome: 'hit', matchedKey: 'buildah-linux-abc' });
    expect(readdirSync(directory, { recursive: true }).sort()).toEqual(
      ['current', 'empty', 'overlay', 'overlay/l', 'overlay/l/diff', 'overlay/l/diff/blob', 'overlay/run.sh', 'tag'].sort(),
    );
    expect(readFileSync(join(directory, 'overlay', 'l', 'diff', 'blob')).equals(blob)).toBe(true);
    expect(readlinkSync(join(directory, 'current'))).toBe('overlay/l/diff/blob');
    expect(statSync(join(directory, 'overlay', 'run.sh')).mode & 0o777).toBe(0o755);
    expect(await operations()).toEqual(expectedOperations[version]);
    expect((await control<CacheView>('/_emulator/actions-cache')).entries).toEqual([
      {
        key: 'buildah-linux-abc',
        version: expect.stringMatching(/^[0-9a-f]{64}$/),
        sizeBytes: expect.any(Number),
        finalized: true,
        createdAt: expect.any(String),
      },
    ]);
  });

  describe('matching', () => {
    beforeEach(async () => {
      for (const key of ['deps-main-1', 'deps-main-2', 'deps-feature-1']) {
        rmSync(directory, { recursive: true, force: true });
        fill(key);
        expect((await saveDirectory(service, { directory, key })).outcome).toBe('saved');
      }
      rmSync(directory, { recursive: true });
    });

    const restore = (key: string, restoreKeys: string[] = []) => restoreDirectory(service, { directory, key, restoreKeys });
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
      expect(await restoreDirectory(service, { directory: join(work, 'elsewhere'), key: 'deps-main-1' })).toEqual({ outcome: 'miss' });
    });

    test('saving a key and version that exist stores nothing new', async () => {
      fill('again');
      expect(await saveDirectory(service, { directory, key: 'deps-main-1' })).toMatchObject({ outcome: 'skipped' });
      expect(await operations()).toContain(version === 'v2' ? 'CreateCacheEntry:already_exists' : 'ReserveCache:ArtifactCacheAlreadyExists');
      expect((await control<CacheView>('/_emulator/actions-cache')).entries).toHaveLength(3);
      await restore('deps-main-1');
      expect(tag()).toBe('deps-main-1');
    });
  });
});

test.each(['v2', 'v1'] as const)('behind a proxy (%s): HTTP_PROXY carries every cache call, blobs included', async (version) => {
  const proxy = await startForwardProxy();
  try {
    // A host only the proxy resolves: a save and restore that work went through it.
    const service = useRunner(version, `http://cache.${PROXIED_DOMAIN}:${new URL(emu.endpoint).port}`);
    process.env.HTTP_PROXY = proxy.url;
    fill('proxied');
    expect(await saveDirectory(service, { directory, key: 'proxied' })).toEqual({ outcome: 'saved' });
    rmSync(directory, { recursive: true });
    expect(await restoreDirectory(service, { directory, key: 'proxied' })).toEqual({ outcome: 'hit', matchedKey: 'proxied' });
    expect(readFileSync(join(directory, 'tag'), 'utf8')).toBe('proxied');
    expect(proxy.hosts()).toEqual([`cache.${PROXIED_DOMAIN}`]);
    expect(await operations()).toEqual(expectedOperations[version]);
  } finally {
    await proxy.stop();
  }
});

test('tar runs under the wrap prefix (buildah unshare for storage owned by mapped uids)', async () => {
  const service = useRunner('v2');
  fill('wrapped');
  // A stand-in for ['buildah', 'unshare']: notes each run, then runs the command it was given.
  const wrap = ['sh', '-c', `echo "$0" >> ${join(work, 'runs')}; exec "$0" "$@"`];
  expect((await saveDirectory(service, { directory, key: 'wrapped', wrap })).outcome).toBe('saved');
  rmSync(directory, { recursive: true });
  expect((await restoreDirectory(service, { directory, key: 'wrapped', wrap })).outcome).toBe('hit');
  expect(readFileSync(join(directory, 'tag'), 'utf8')).toBe('wrapped');
  expect(readFileSync(join(work, 'runs'), 'utf8').trim().split('\n')).toEqual([expect.stringMatching(/\/tar$/), expect.stringMatching(/\/tar$/)]);
});

test('no cache service without a runtime token, or without the URL its version needs', () => {
  expect(cacheServiceFromEnv({ ACTIONS_CACHE_SERVICE_V2: 'True', ACTIONS_RESULTS_URL: 'http://x/' })).toBeUndefined();
  expect(cacheServiceFromEnv({ ACTIONS_RUNTIME_TOKEN: 't', ACTIONS_CACHE_SERVICE_V2: 'True' })).toBeUndefined();
  // GHES: v1 even when the runner advertises v2.
  expect(
    cacheServiceFromEnv({
      ACTIONS_RUNTIME_TOKEN: 't',
      GITHUB_SERVER_URL: 'https://ghe.example.com',
      ACTIONS_CACHE_SERVICE_V2: 'True',
      ACTIONS_CACHE_URL: 'http://x/',
    }),
  ).toEqual({
    version: 'v1',
  });
  expect(cacheServiceFromEnv({})).toBeUndefined();
});

describe('an entry someone else wrote (cache poisoning) only ever fills the directory', () => {
  /** Uploads a hand-made archive as the entry a restore of `directory` under `key` finds, as @actions/cache versions it. */
  async function plant(key: string, archive: Buffer): Promise<void> {
    const version = createHash('sha256').update([directory, 'zstd-without-long', '1.0'].join('|')).digest('hex');
    const twirp = async (method: string, body: unknown) =>
      (await (
        await fetch(`${emu.endpoint}/twirp/github.actions.results.api.v1.CacheService/${method}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: 'Bearer attacker' },
          body: JSON.stringify(body),
        })
      ).json()) as Record<string, string>;
    const { signed_upload_url: url } = await twirp('CreateCacheEntry', { key, version });
    expect((await fetch(url as string, { method: 'PUT', headers: { 'x-ms-blob-type': 'BlockBlob' }, body: archive })).status).toBe(201);
    expect((await twirp('FinalizeCacheEntryUpload', { key, version, size_bytes: String(archive.length) })).ok).toBe(true);
  }

  /** tar with -P (names kept as given), compressed as @actions/cache compresses. */
  function archiveOf(base: string, members: string[], append?: { base: string; member: string; as: string }): Buffer {
    const tarFile = join(work, 'planted.tar');
    execFileSync('tar', ['--posix', '-cf', tarFile, '-P', '-C', base, ...members]);
    if (append) execFileSync('tar', ['--posix', '-rf', tarFile, '-P', '-C', append.base, `--transform=s,^${append.member}$,${append.as},`, append.member]);
    return execFileSync('zstd', ['-c', tarFile]);
  }

  test('a planted archive of the right shape is restored: the version is the one @actions/cache looks for', async () => {
    const service = useRunner('v2');
    const staging = join(work, 'staging');
    mkdirSync(join(staging, 'storage'), { recursive: true });
    writeFileSync(join(staging, 'storage', 'tag'), 'planted');
    await plant('k', archiveOf(staging, ['storage']));
    expect(await restoreDirectory(service, { directory, key: 'k' })).toMatchObject({ outcome: 'hit' });
    expect(readFileSync(join(directory, 'tag'), 'utf8')).toBe('planted');
  });

  test('members with .. or an absolute name, and files written through a planted symlink, land nowhere outside', async () => {
    const service = useRunner('v2');
    const staging = join(work, 'staging');
    const outside = join(work, 'outside');
    mkdirSync(join(staging, 'ws', 'storage'), { recursive: true });
    mkdirSync(outside);
    writeFileSync(join(staging, 'ws', 'storage', 'tag'), 'ok');
    writeFileSync(join(staging, 'dotdot.txt'), 'escaped');
    writeFileSync(join(staging, 'absolute.txt'), 'escaped');
    writeFileSync(join(staging, 'through-link.txt'), 'escaped');
    symlinkSync(outside, join(staging, 'ws', 'storage', 'link'));
    await plant('dotdot', archiveOf(join(staging, 'ws'), ['storage/tag', '../dotdot.txt']));
    await plant('absolute', archiveOf(join(staging, 'ws'), ['storage/tag', join(staging, 'absolute.txt')]));
    await plant('symlink', archiveOf(join(staging, 'ws'), ['storage/link'], { base: staging, member: 'through-link.txt', as: 'storage/link/pwned' }));

    for (const key of ['dotdot', 'absolute', 'symlink']) {
      rmSync(directory, { recursive: true, force: true });
      rmSync(join(staging, 'absolute.txt'), { force: true });
      await restoreDirectory(service, { directory, key });
    }
    // dotdot.txt would land beside storage/, in work/; absolute.txt back at its absolute path.
    expect(existsSync(join(work, 'dotdot.txt'))).toBe(false);
    expect(existsSync(join(staging, 'absolute.txt'))).toBe(false);
    expect(readdirSync(outside)).toEqual([]);
  });
});
