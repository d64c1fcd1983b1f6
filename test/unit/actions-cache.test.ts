// Exact request shapes of the Actions cache client (twirp JSON and Azure Blob), at the real hostnames
// with nock; archives are made and extracted with the system tar, as on a runner.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, test } from '@jest/globals';
import nock from 'nock';
import { type CacheService, cacheServiceFromEnv, restoreDirectory, saveDirectory } from '../../src/cache/actions-cache.ts';
import { archiveFileName, cacheVersion, createArchive, detectCompression } from '../../src/cache/archive.ts';
import { useNock } from '../helpers/nock.ts';

const RESULTS = 'https://results-receiver.actions.githubusercontent.com';
const TWIRP = '/twirp/github.actions.results.api.v1.CacheService';
const BLOB_HOST = 'https://productionresultssa7.blob.core.windows.net';
const BLOB_PATH = '/actions-cache/7f3c-cache.tzst';
// A SAS query with characters that must reach Azure exactly as signed.
const SAS = 'sv=2024-11-04&sr=b&sp=cw&se=2026-01-01T00%3A00%3A00Z&sig=ab%2Bcd%2Fef%3D';
const TOKEN = 'eyJhbGciOi.runtime-token-secret';
const service: CacheService = { resultsUrl: `${RESULTS}/`, token: TOKEN };
const noWaits = { retryDelaysMs: [0, 0] };

let work: string;
let directory: string;
let version: string;

useNock();
beforeEach(async () => {
  work = mkdtempSync(join(tmpdir(), 'actions-cache-unit-'));
  directory = join(work, 'storage');
  mkdirSync(join(directory, 'overlay'), { recursive: true });
  writeFileSync(join(directory, 'overlay', 'layer'), 'layer bytes');
  version = cacheVersion([directory], await detectCompression());
});
afterEach(() => {
  rmSync(work, { recursive: true, force: true });
});

describe('cacheServiceFromEnv', () => {
  const runner = { ACTIONS_CACHE_SERVICE_V2: 'True', ACTIONS_RESULTS_URL: `${RESULTS}/`, ACTIONS_RUNTIME_TOKEN: TOKEN };

  test('reads the results URL and token when the runner offers cache service v2', () => {
    expect(cacheServiceFromEnv(runner)).toEqual({ resultsUrl: `${RESULTS}/`, token: TOKEN });
    expect(cacheServiceFromEnv({ ...runner, GITHUB_SERVER_URL: 'https://octo.ghe.com', ACTIONS_CACHE_MODE: ' Read ' })).toEqual({
      resultsUrl: `${RESULTS}/`,
      token: TOKEN,
      mode: 'read',
    });
  });

  test('no service without the v2 flag, the URL or the token, nor on GitHub Enterprise Server', () => {
    expect(cacheServiceFromEnv({ ...runner, ACTIONS_CACHE_SERVICE_V2: '' })).toBeUndefined();
    expect(cacheServiceFromEnv({ ...runner, ACTIONS_RESULTS_URL: undefined })).toBeUndefined();
    expect(cacheServiceFromEnv({ ...runner, ACTIONS_RUNTIME_TOKEN: '' })).toBeUndefined();
    expect(cacheServiceFromEnv({ ...runner, GITHUB_SERVER_URL: 'https://github.example.com' })).toBeUndefined();
  });
});

test("the version equals @actions/cache 6.3.0's for the same path and compression", () => {
  // Computed with @actions/cache's getCacheVersion(['/home/runner/work/_temp/buildah'], method).
  expect(cacheVersion(['/home/runner/work/_temp/buildah'], 'zstd-without-long')).toBe('af539b085b126d2379f6b5feec48f1b1acfee7bea1605d4094d1998a4481bb96');
  expect(cacheVersion(['/home/runner/work/_temp/buildah'], 'gzip')).toBe('1a8964fc0bd25b8b6a51e3c4f582da088d0eefa2de04125c1de4831c2de58c9e');
});

describe('saveDirectory', () => {
  const twirpHeaders = { reqheaders: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } };

  test('reserves, uploads one Put Blob with the SAS query untouched, finalizes with the size', async () => {
    let uploaded: { url: string; headers: Headers; bytes: number } | undefined;
    nock(RESULTS, twirpHeaders)
      .post(`${TWIRP}/CreateCacheEntry`, { key: 'buildah-abc', version })
      .reply(200, { ok: true, signed_upload_url: `${BLOB_HOST}${BLOB_PATH}?${SAS}` });
    nock(BLOB_HOST)
      .put(BLOB_PATH)
      .query(true)
      .reply(async (req: Request) => {
        uploaded = { url: req.url, headers: req.headers, bytes: (await req.arrayBuffer()).byteLength };
        return [201, ''];
      });
    nock(RESULTS, twirpHeaders)
      .post(
        `${TWIRP}/FinalizeCacheEntryUpload`,
        (body) => body.key === 'buildah-abc' && body.version === version && body.size_bytes === String(uploaded?.bytes),
      )
      .reply(200, { ok: true, entry_id: '42' });

    const result = await saveDirectory(service, { directory, key: 'buildah-abc', workspace: work, ...noWaits });

    expect(result).toEqual({ outcome: 'saved', bytes: uploaded?.bytes });
    expect(uploaded?.url).toBe(`${BLOB_HOST}${BLOB_PATH}?${SAS}`);
    expect(uploaded?.headers.get('x-ms-blob-type')).toBe('BlockBlob');
    expect(uploaded?.headers.get('x-ms-version')).toMatch(/^\d{4}-\d\d-\d\d$/);
    expect(uploaded?.headers.get('authorization')).toBeNull();
  });

  test('an archive over the block size goes up as Put Block with equal-length ids, then Put Block List in order', async () => {
    writeFileSync(join(directory, 'random'), randomBytes(6000));
    const blocks = new Map<string, number>();
    let list: { body: string; type: string | null } | undefined;
    nock(RESULTS)
      .post(`${TWIRP}/CreateCacheEntry`)
      .reply(200, { ok: true, signed_upload_url: `${BLOB_HOST}${BLOB_PATH}?${SAS}` });
    // As many blocks as the archive needs: its exact size depends on the tar and zstd versions.
    nock(BLOB_HOST)
      .persist()
      .put(BLOB_PATH)
      .query((q) => q.comp === 'block')
      .reply(async (req: Request) => {
        const url = new URL(req.url);
        expect(req.url.startsWith(`${BLOB_HOST}${BLOB_PATH}?${SAS}&comp=block&blockid=`)).toBe(true);
        blocks.set(url.searchParams.get('blockid') ?? '', (await req.arrayBuffer()).byteLength);
        return [201, ''];
      });
    nock(BLOB_HOST)
      .put(BLOB_PATH)
      .query((q) => q.comp === 'blocklist')
      .reply(async (req: Request) => {
        list = { body: await req.text(), type: req.headers.get('content-type') };
        return [201, ''];
      });
    nock(RESULTS).post(`${TWIRP}/FinalizeCacheEntryUpload`).reply(200, { ok: true, entry_id: '43' });

    const result = await saveDirectory(service, { directory, key: 'buildah-big', workspace: work, blockBytes: 2048, ...noWaits });

    expect(result.outcome).toBe('saved');
    const ids = [...blocks.keys()].sort();
    expect(ids).toHaveLength(Math.ceil((result.bytes ?? 0) / 2048));
    expect(ids.length).toBeGreaterThan(2);
    expect(new Set(ids.map((id) => Buffer.from(id, 'base64').length)).size).toBe(1);
    expect([...blocks.values()].reduce((a, b) => a + b)).toBe(result.bytes);
    expect(list?.type).toBe('application/xml');
    expect(list?.body).toBe(`<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.map((id) => `<Latest>${id}</Latest>`).join('')}</BlockList>`);
  });

  test('409 already_exists on create means someone saved it already: exists, nothing uploaded', async () => {
    nock(RESULTS)
      .post(`${TWIRP}/CreateCacheEntry`)
      .reply(409, { code: 'already_exists', msg: 'cache entry with the same key, version, and scope already exists' });
    expect(await saveDirectory(service, { directory, key: 'buildah-abc', workspace: work, ...noWaits })).toEqual({ outcome: 'exists' });
  });

  test('a read-only token (ok=false with a message) skips the save with that message', async () => {
    nock(RESULTS).post(`${TWIRP}/CreateCacheEntry`).reply(200, { ok: false, message: 'cache write denied: token has no writable scopes' });
    expect(await saveDirectory(service, { directory, key: 'buildah-abc', workspace: work, ...noWaits })).toEqual({
      outcome: 'skipped',
      reason: 'the cache service did not reserve the key: cache write denied: token has no writable scopes',
    });
  });

  test('a failed block upload is retried, then skips the save with Azure’s error code', async () => {
    nock(RESULTS)
      .post(`${TWIRP}/CreateCacheEntry`)
      .reply(200, { ok: true, signed_upload_url: `${BLOB_HOST}${BLOB_PATH}?${SAS}` });
    nock(BLOB_HOST)
      .put(BLOB_PATH)
      .query(true)
      .times(3)
      .reply(503, '<?xml version="1.0" encoding="utf-8"?><Error><Code>ServerBusy</Code><Message>The server is busy.\nRequestId:1</Message></Error>');
    expect(await saveDirectory(service, { directory, key: 'buildah-abc', workspace: work, ...noWaits })).toEqual({
      outcome: 'skipped',
      reason: 'Put Blob failed: 503 ServerBusy: The server is busy. (after 3 attempts)',
    });
  });

  test('a read-only cache mode skips without calling the service; a missing directory too', async () => {
    expect(await saveDirectory({ ...service, mode: 'read' }, { directory, key: 'k' })).toEqual({
      outcome: 'skipped',
      reason: 'the runner\'s cache mode "read" does not allow saving',
    });
    expect(await saveDirectory(service, { directory: join(work, 'absent'), key: 'k' })).toEqual({
      outcome: 'skipped',
      reason: `${join(work, 'absent')} is not a directory`,
    });
    expect((await saveDirectory(service, { directory, key: 'a,b' })).reason).toBe('the cache key "a,b" contains a comma');
  });
});

describe('restoreDirectory', () => {
  test('asks with key, restore_keys and version; downloads and extracts; a restore-key match is partial', async () => {
    const compression = await detectCompression();
    const archive = join(work, archiveFileName(compression));
    await createArchive(archive, directory, compression, { workspace: work });
    rmSync(directory, { recursive: true });
    nock(RESULTS, { reqheaders: { authorization: `Bearer ${TOKEN}` } })
      .post(`${TWIRP}/GetCacheEntryDownloadURL`, { key: 'buildah-new', restore_keys: ['buildah-'], version })
      .reply(200, { ok: true, signed_download_url: `${BLOB_HOST}${BLOB_PATH}?sp=r&sig=x`, matched_key: 'buildah-old' });
    nock(BLOB_HOST).get(BLOB_PATH).query({ sp: 'r', sig: 'x' }).reply(200, readFileSync(archive));

    const result = await restoreDirectory(service, { directory, key: 'buildah-new', restoreKeys: ['buildah-'], workspace: work, ...noWaits });

    expect(result).toEqual({ outcome: 'partial', matchedKey: 'buildah-old', bytes: readFileSync(archive).length });
    expect(readFileSync(join(directory, 'overlay', 'layer'), 'utf8')).toBe('layer bytes');
  });

  test('an entry whose archive reaches outside the directory is a miss saying so; nothing is written', async () => {
    const compression = await detectCompression();
    const archive = join(work, archiveFileName(compression));
    // Someone with write access to the cache saved an entry under our key with a member that climbs out.
    const compress = compression === 'gzip' ? ['-z'] : ['--use-compress-program', 'zstd -T0'];
    execFileSync('tar', [
      '--posix',
      '-cf',
      archive,
      '-P',
      '-C',
      work,
      ...compress,
      '--transform',
      's|^storage/overlay/layer$|storage/../planted|',
      'storage/overlay/layer',
    ]);
    rmSync(directory, { recursive: true });
    nock(RESULTS)
      .post(`${TWIRP}/GetCacheEntryDownloadURL`)
      .reply(200, { ok: true, signed_download_url: `${BLOB_HOST}${BLOB_PATH}?sp=r&sig=x`, matched_key: 'buildah-new' });
    nock(BLOB_HOST).get(BLOB_PATH).query(true).reply(200, readFileSync(archive));

    expect(await restoreDirectory(service, { directory, key: 'buildah-new', workspace: work, ...noWaits })).toEqual({
      outcome: 'miss',
      reason: 'the archive was not extracted: its member "storage/../planted" is outside the directory the cache restores.',
    });
    expect(existsSync(join(work, 'planted'))).toBe(false);
  });

  test('ok=false, or an empty message (twirp omits false fields), is a plain miss', async () => {
    nock(RESULTS)
      .post(`${TWIRP}/GetCacheEntryDownloadURL`, { key: 'k', version })
      .reply(200, { ok: false, signed_download_url: '', matched_key: '' })
      .post(`${TWIRP}/GetCacheEntryDownloadURL`)
      .reply(200, {});
    expect(await restoreDirectory(service, { directory, key: 'k', workspace: work })).toEqual({ outcome: 'miss' });
    expect(await restoreDirectory(service, { directory, key: 'k', workspace: work })).toEqual({ outcome: 'miss' });
  });

  test('a 500 is retried, then a miss whose reason never holds the token', async () => {
    nock(RESULTS)
      .post(`${TWIRP}/GetCacheEntryDownloadURL`)
      .times(3)
      .reply(500, { code: 'internal', msg: `could not verify Bearer ${TOKEN}` });
    const result = await restoreDirectory(service, { directory, key: 'k', workspace: work, ...noWaits });
    expect(result).toEqual({ outcome: 'miss', reason: 'GetCacheEntryDownloadURL answered 500 internal: could not verify Bearer *** (after 3 attempts)' });
  });

  test('a refused connection is retried, then a miss naming the cause', async () => {
    // A port nothing listens on: nock's replyWithError leaves fetch hanging, a real refusal does not.
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise((resolve) => server.close(resolve));
    nock.enableNetConnect(`127.0.0.1:${port}`);
    nock(RESULTS)
      .post(`${TWIRP}/GetCacheEntryDownloadURL`)
      .reply(200, { ok: true, signed_download_url: `http://127.0.0.1:${port}/blob?sp=r&sig=secret`, matched_key: 'k' });
    try {
      const result = await restoreDirectory(service, { directory, key: 'k', workspace: work, retryDelaysMs: [0] });
      expect(result).toEqual({
        outcome: 'miss',
        reason: `Downloading the cache archive failed: fetch failed: connect ECONNREFUSED 127.0.0.1:${port} (after 2 attempts)`,
      });
    } finally {
      nock.disableNetConnect();
    }
  });

  test("a URL in an error keeps its query (a signed URL's signature) out of the reason", async () => {
    nock(RESULTS).post(`${TWIRP}/GetCacheEntryDownloadURL`).reply(200, { ok: true, signed_download_url: 'http://[::1/blob?sp=r&sig=secret', matched_key: 'k' });
    const result = await restoreDirectory(service, { directory, key: 'k', workspace: work, retryDelaysMs: [] });
    expect(result).toEqual({ outcome: 'miss', reason: 'Downloading the cache archive failed: Failed to parse URL from http://[::1/blob?…: Invalid URL' });
  });

  test('a write-only cache mode restores nothing without calling the service', async () => {
    expect(await restoreDirectory({ ...service, mode: 'write-only' }, { directory, key: 'k' })).toEqual({
      outcome: 'miss',
      reason: 'the runner\'s cache mode "write-only" does not allow restoring',
    });
  });
});
