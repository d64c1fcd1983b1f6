// GitHub's REST API over fetch: only what the actions call. Not @actions/github, whose Octokit
// stack would not fit the bundle budget; one `request` method that later calls can share.
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

export class GithubClient {
  readonly #token: string;
  readonly #baseUrl: string;
  readonly #graphqlUrl: string;

  /**
   * The base URL comes from GITHUB_API_URL, which runners set (GitHub Enterprise and the emulator differ
   * from api.github.com); GraphQL's from GITHUB_GRAPHQL_URL, else beside it as on github.com.
   */
  constructor(token: string, baseUrl = process.env.GITHUB_API_URL || 'https://api.github.com', graphqlUrl = process.env.GITHUB_GRAPHQL_URL) {
    this.#token = token;
    this.#baseUrl = baseUrl.replace(/\/+$/, '');
    this.#graphqlUrl = graphqlUrl || `${this.#baseUrl}/graphql`;
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

  async #send<T>(method: string, url: string, what: string, body?: unknown): Promise<T> {
    let response: Response;
    try {
      response = await fetch(url, {
        method,
        headers: {
          accept: 'application/vnd.github+json',
          authorization: `Bearer ${this.#token}`,
          'user-agent': `ecs-deploy-actions/${VERSION}`,
          'x-github-api-version': '2022-11-28',
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(30_000),
      });
    } catch (error) {
      throw new GithubError(0, `${what}: GitHub could not be reached (${error instanceof Error ? error.message : String(error)})`);
    }
    const text = await response.text();
    if (!response.ok) {
      const message = (() => {
        try {
          return (JSON.parse(text) as { message?: string }).message ?? text;
        } catch {
          // Not JSON (a proxy's error page, say): the text itself is the best message there is.
          return text;
        }
      })();
      throw new GithubError(response.status, `${what}: ${response.status} ${message}`.trim());
    }
    try {
      return (text ? JSON.parse(text) : undefined) as T;
    } catch {
      // A proxy's page with 200: GitHub trouble, which never fails the step.
      throw new GithubError(response.status, `${what}: ${response.status} with a body that is not JSON`);
    }
  }

  async getPullRequest(ref: PullRequestRef): Promise<PullRequest> {
    const pull = await this.request<{ number: number; state: 'open' | 'closed'; merged?: boolean; closed_at?: string | null }>(
      'GET',
      `/repos/${encodeURIComponent(ref.owner)}/${encodeURIComponent(ref.repo)}/pulls/${ref.number}`,
    );
    return { number: pull.number, state: pull.state, merged: pull.merged === true, closedAt: pull.closed_at ?? undefined };
  }
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
