// Transfers to and from the signed Azure Blob URLs the cache service hands out: Put Blob for a small
// archive, Put Block + Put Block List for a large one, and one streamed GET down.
import { createWriteStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ReadableStream } from 'node:stream/web';
import { CacheFailure, withRetries } from './http.ts';

// A REST version every Azure Storage account serves; the SAS names its own in `sv`.
const AZURE_VERSION = '2024-11-04';
const PARALLEL_BLOCKS = 4;
const REQUEST_TIMEOUT_MS = 5 * 60_000;
// A download that receives nothing for this long is stalled: retry it rather than hang the job.
const DOWNLOAD_IDLE_MS = 60_000;

export interface TransferSettings {
  retryDelaysMs: readonly number[];
  /** Archives up to this size go up in one Put Blob; larger ones in blocks of this size. */
  blockBytes: number;
}

/** Uploads `file` (of `size` bytes) to the signed URL as a block blob. */
export async function uploadBlob(url: string, file: string, size: number, settings: TransferSettings): Promise<void> {
  const handle = await open(file, 'r');
  try {
    const read = async (offset: number, length: number): Promise<Buffer> => {
      const buffer = Buffer.alloc(length);
      const { bytesRead } = await handle.read(buffer, 0, length, offset);
      if (bytesRead !== length) throw new CacheFailure(`the archive ended after ${offset + bytesRead} of ${size} bytes while uploading`);
      return buffer;
    };
    if (size <= settings.blockBytes) {
      const body = await read(0, size);
      await withRetries('Put Blob', settings.retryDelaysMs, () => put('Put Blob', url, body, { 'x-ms-blob-type': 'BlockBlob' }));
      return;
    }
    const count = Math.ceil(size / settings.blockBytes);
    const ids = Array.from({ length: count }, (_, i) => blockId(i));
    let next = 0;
    let failed = false;
    const worker = async (): Promise<void> => {
      // One failed block fails the upload: the others stop taking blocks.
      for (let i = next++; i < count && !failed; i = next++) {
        const offset = i * settings.blockBytes;
        const what = `Put Block ${i + 1} of ${count}`;
        const blockUrl = withQuery(url, `comp=block&blockid=${encodeURIComponent(ids[i] as string)}`);
        try {
          const body = await read(offset, Math.min(settings.blockBytes, size - offset));
          await withRetries(what, settings.retryDelaysMs, () => put(what, blockUrl, body, {}));
        } catch (error) {
          failed = true;
          throw error;
        }
      }
    };
    // allSettled: the file stays open until every worker has stopped.
    const results = await Promise.allSettled(Array.from({ length: Math.min(PARALLEL_BLOCKS, count) }, worker));
    const rejected = results.find((r) => r.status === 'rejected');
    if (rejected) throw rejected.reason;
    const list = `<?xml version="1.0" encoding="utf-8"?><BlockList>${ids.map((id) => `<Latest>${id}</Latest>`).join('')}</BlockList>`;
    await withRetries('Put Block List', settings.retryDelaysMs, () =>
      put('Put Block List', withQuery(url, 'comp=blocklist'), Buffer.from(list), { 'content-type': 'application/xml' }),
    );
  } finally {
    await handle.close();
  }
}

/** Streams the blob at the signed URL into `file`; returns its size. */
export async function downloadBlob(url: string, file: string, settings: Pick<TransferSettings, 'retryDelaysMs'>): Promise<number> {
  return withRetries('Downloading the cache archive', settings.retryDelaysMs, async () => {
    const controller = new AbortController();
    const idle = setTimeout(() => controller.abort(), DOWNLOAD_IDLE_MS);
    try {
      const res = await fetch(url, { headers: { 'x-ms-version': AZURE_VERSION }, signal: controller.signal });
      if (res.status !== 200 || !res.body) throw await azureFailure('Downloading the cache archive', res);
      const watch = new Transform({
        transform(chunk, _encoding, done) {
          idle.refresh();
          done(null, chunk);
        },
      });
      await pipeline(Readable.fromWeb(res.body as ReadableStream), watch, createWriteStream(file));
      const { size } = await stat(file);
      const expected = res.headers.get('content-length');
      // No status: a short body is worth another attempt.
      if (expected !== null && Number(expected) !== size) throw new CacheFailure(`the download ended after ${size} of ${expected} bytes`);
      return size;
    } finally {
      clearTimeout(idle);
    }
  });
}

/** Block ids are base64 of equal-length strings, as Azure requires within one blob. */
function blockId(index: number): string {
  return Buffer.from(`block-${String(index).padStart(6, '0')}`).toString('base64');
}

/** Appends to the signed URL's query without re-encoding it, so its signature stays valid. */
function withQuery(url: string, query: string): string {
  return `${url}${url.includes('?') ? '&' : '?'}${query}`;
}

async function put(what: string, url: string, body: Buffer, headers: Record<string, string>): Promise<void> {
  const res = await fetch(url, {
    method: 'PUT',
    headers: { 'x-ms-version': AZURE_VERSION, ...headers },
    body,
    signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS),
  });
  if (res.status !== 201) throw await azureFailure(what, res);
  await res.body?.cancel();
}

/** Azure's XML error as "<what> failed: <status> <Code>: <first line of Message>". */
async function azureFailure(what: string, res: Response): Promise<CacheFailure> {
  const text = await res.text().catch(() => '');
  const code = /<Code>([^<]*)<\/Code>/.exec(text)?.[1] ?? res.headers.get('x-ms-error-code') ?? undefined;
  const message = /<Message>([^<\n]*)/.exec(text)?.[1]?.trim();
  return new CacheFailure(`${what} failed: ${res.status}${code ? ` ${code}` : ''}${message ? `: ${message}` : ''}`, res.status, code);
}
