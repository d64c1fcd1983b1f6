// GitHub's REST API through @actions/github's Octokit (GHES base URL from GITHUB_API_URL, the proxy
// settings @actions/http-client reads) with Octokit's retry; loaded on first use, as only some runs talk to GitHub.
import { readFileSync } from 'node:fs';
import { VERSION } from './version.ts';

export interface PullRequestRef {
  owner: string;
  repo: string;
  number: number;
  /** The head commit, when the event names it. */
  headSha?: string;
}

export interface PullRequest {
  number: number;
  state: 'open' | 'closed';
  merged: boolean;
  closedAt: string | undefined;
}

/** GitHub answered with an error status, or could not be reached (status 0). */
export class GithubError extends Error {
  readonly status: number;
  constructor(status: number, message: string) {
    super(message);
    this.name = 'GithubError';
    this.status = status;
  }
}

/** owner/repo#number, as people write it. */
export function pullRequestName(ref: PullRequestRef): string {
  return `${ref.owner}/${ref.repo}#${ref.number}`;
}

/** The bot GITHUB_TOKEN writes as: the github-actions app's. */
export const ACTIONS_BOT = 'github-actions[bot]';

type Octokit = ReturnType<typeof import('@actions/github').getOctokit>;

export interface GithubClientOptions {
  /** Octokit's retry of 5xx and network failures waits (retry count + 1)² times this; default 1 s. */
  retryAfterBaseMs?: number;
}

/** GitHub's failures, each bounded: a deploy never hangs on GitHub. */
const REQUEST_TIMEOUT_MS = 60_000;

export class GithubClient {
  readonly #token: string;
  readonly #baseUrl: string;
  readonly #graphqlUrl: string;
  readonly #retryAfterBaseMs: number;
  #octokit: Promise<Octokit> | undefined;

  /**
   * The base URL comes from GITHUB_API_URL, which runners set (GitHub Enterprise and the emulator differ
   * from api.github.com); GraphQL's from GITHUB_GRAPHQL_URL, else beside it as on github.com.
   */
  constructor(
    token: string,
    baseUrl = process.env.GITHUB_API_URL || 'https://api.github.com',
    graphqlUrl = process.env.GITHUB_GRAPHQL_URL,
    options: GithubClientOptions = {},
  ) {
    this.#token = token;
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
    this.#graphqlUrl = graphqlUrl || `${this.#baseUrl}/graphql`;
    this.#retryAfterBaseMs = options.retryAfterBaseMs ?? 1000;
  }

  request<T>(method: string, path: string, body?: unknown): Promise<T> {
    return this.#send(method, `${this.#baseUrl}${path}`, `${method} ${path}`, body);
  }

  /**
   * The login this token writes comments as. GET /user answers for a person's token; an installation
   * token (GITHUB_TOKEN, a GitHub App's) gets 403 there, and GraphQL's viewer names its bot instead.
   */
  async login(): Promise<string> {
    try {
      return (await this.request<{ login: string }>('GET', '/user')).login;
    } catch (error) {
      if (!(error instanceof GithubError) || error.status !== 403) throw error;
    }
    try {
      const answer = await this.#send<{ data?: { viewer?: { login?: unknown } } }>('POST', this.#graphqlUrl, 'POST /graphql', {
        query: 'query { viewer { login } }',
      });
      const login = answer.data?.viewer?.login;
      if (typeof login === 'string' && login) return login;
    } catch (error) {
      if (!(error instanceof GithubError)) throw error;
    }
    // No GraphQL answer (an Enterprise proxy passing REST only, say): the usual installation token is GITHUB_TOKEN.
    return ACTIONS_BOT;
  }

  #client(): Promise<Octokit> {
    this.#octokit ??= Promise.all([import('@actions/github'), import('@octokit/plugin-retry')]).then(([github, { retry }]) =>
      github.getOctokit(
        this.#token,
        { baseUrl: this.#baseUrl, userAgent: `ecs-deploy-actions/${VERSION}`, retry: { retryAfterBaseValue: this.#retryAfterBaseMs } },
        retry,
      ),
    );
    return this.#octokit;
  }

  async #send<T>(method: string, url: string, what: string, body?: unknown): Promise<T> {
    const octokit = await this.#client();
    let response: { status: number; data: unknown; headers: Record<string, unknown> };
    try {
      response = await octokit.request({
        method,
        url,
        headers: { accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' },
        ...(body === undefined ? {} : { data: body }),
        request: { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS) },
      });
    } catch (error) {
      throw asGithubError(what, error);
    }
    // A proxy's page with 200: GitHub trouble, which never fails the step.
    if (typeof response.data === 'string' && response.data !== '') {
      throw new GithubError(response.status, `${what}: ${response.status} with a body that is not JSON`);
    }
    return (response.data === '' ? undefined : response.data) as T;
  }

  async getPullRequest(ref: PullRequestRef): Promise<PullRequest> {
    const pull = await this.request<{ number: number; state: 'open' | 'closed'; merged?: boolean; closed_at?: string | null }>(
      'GET',
      `/repos/${encodeURIComponent(ref.owner)}/${encodeURIComponent(ref.repo)}/pulls/${ref.number}`,
    );
    return { number: pull.number, state: pull.state, merged: pull.merged === true, closedAt: pull.closed_at ?? undefined };
  }
}

/** Octokit's RequestError carries the status and GitHub's message; anything else never reached GitHub (status 0). */
function asGithubError(what: string, error: unknown): GithubError {
  const failure = error as { status?: unknown; message?: unknown; response?: { data?: unknown } };
  const status = typeof failure?.status === 'number' ? failure.status : 0;
  const data = failure?.response?.data;
  const githubMessage =
    typeof data === 'object' && data !== null && typeof (data as { message?: unknown }).message === 'string'
      ? (data as { message: string }).message
      : typeof data === 'string'
        ? data
        : undefined;
  const message = error instanceof Error ? error.message : String(error);
  // Octokit reports an unreachable host as status 500 with no response: that is not GitHub's answer.
  if (status === 0 || failure?.response === undefined) return new GithubError(0, `${what}: GitHub could not be reached (${message})`);
  return new GithubError(status, `${what}: ${status} ${githubMessage ?? message}`.trim());
}

/** The pull request this run belongs to, from the event payload (pull_request and pull_request_* events carry it). */
export function pullRequestOfEvent(env: NodeJS.ProcessEnv = process.env): PullRequestRef | undefined {
  if (!env.GITHUB_EVENT_PATH) return undefined;
  let event: { pull_request?: { number?: unknown; head?: { sha?: unknown } }; repository?: { full_name?: unknown } };
  try {
    event = JSON.parse(readFileSync(env.GITHUB_EVENT_PATH, 'utf8'));
  } catch {
    // No readable payload (a local run): there is no pull request to record.
    return undefined;
  }
  const number = event.pull_request?.number;
  const fullName = typeof event.repository?.full_name === 'string' ? event.repository.full_name : env.GITHUB_REPOSITORY;
  const [owner, repo] = (fullName ?? '').split('/');
  if (typeof number !== 'number' || !Number.isInteger(number) || !owner || !repo) return undefined;
  const headSha = event.pull_request?.head?.sha;
  return typeof headSha === 'string' ? { owner, repo, number, headSha } : { owner, repo, number };
}
