// Retries and failures shared by the cache service's requests and the blob transfers.

/** A cache request that failed. The message is safe to log: it never holds the token or a signed URL. */
export class CacheFailure extends Error {
  /** The HTTP status, when there was a response. */
  readonly status: number | undefined;
  /** The service's error code (twirp `code`, Azure `Code`), when it sent one. */
  readonly code: string | undefined;
  constructor(message: string, status?: number, code?: string) {
    super(message);
    this.name = 'CacheFailure';
    this.status = status;
    this.code = code;
  }
}

// What @actions/cache retries (plus 408), and every failure without a response (network, timeout).
const RETRYABLE = new Set([408, 429, 500, 502, 503, 504]);

/** The waits between attempts unless the caller sets its own. */
export const DEFAULT_RETRY_DELAYS_MS: readonly number[] = [1000, 5000];

/** Runs `request` again after each wait in `delaysMs` while it fails in a retryable way. */
export async function withRetries<T>(what: string, delaysMs: readonly number[], request: () => Promise<T>): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    let failure: CacheFailure;
    try {
      return await request();
    } catch (error) {
      failure = asFailure(what, error);
    }
    const wait = delaysMs[attempt - 1];
    const retryable = failure.status === undefined || RETRYABLE.has(failure.status);
    if (!retryable || wait === undefined) {
      if (attempt === 1) throw failure;
      throw new CacheFailure(`${failure.message} (after ${attempt} attempts)`, failure.status, failure.code);
    }
    await new Promise((resolve) => setTimeout(resolve, wait));
  }
}

function asFailure(what: string, error: unknown): CacheFailure {
  if (error instanceof CacheFailure) return error;
  const e = error as { name?: string; message?: string; cause?: { message?: string } };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return new CacheFailure(`${what} timed out`);
  // fetch says only "fetch failed"; the cause says why (ECONNREFUSED, ENOTFOUND, a reset) without the URL.
  const cause = e?.cause?.message ? `: ${withoutQueries(e.cause.message)}` : '';
  return new CacheFailure(`${what} failed: ${withoutQueries(e?.message ?? String(error))}${cause}`);
}

/** Drops the query of every URL in text: a signed URL's query is its credential. */
function withoutQueries(text: string): string {
  return text.replace(/(https?:\/\/[^\s?#'"]*)\?[^\s#'"]*/g, '$1?…');
}
