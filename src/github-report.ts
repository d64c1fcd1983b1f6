// What a pull request shows about its environment: one sticky comment per environment (created once,
// then edited in place) and a GitHub Deployment with statuses. GitHub trouble never fails a deploy:
// the AWS work is what the step is for, so a refused call becomes a warning that names the permission.
import { runUrl } from './environment.ts';
import { GithubClient, GithubError, type PullRequestRef, pullRequestName, pullRequestOfEvent } from './github.ts';
import { table } from './report.ts';
import { warning } from './runner.ts';

export interface EnvironmentFacts {
  url?: string;
  image?: string;
  revision?: string;
  status?: string;
  monthlyCost?: string;
  /** The ECS Exec command line for a running task; "" when there is none (it names a task that is gone). */
  shell?: string;
}

const MARKER = 'ecs-deploy-actions:environment-comment';
const PRODUCTION_NAMES = ['prod', 'production'];

interface CommentState extends EnvironmentFacts {
  environment: string;
  destroyed?: boolean;
  updatedBy?: string;
  updatedAt?: string;
}

export class GithubReport {
  readonly #client: GithubClient;
  readonly #environment: string;
  readonly #repository: { owner: string; repo: string };
  readonly #pullRequest: PullRequestRef | undefined;
  readonly #env: NodeJS.ProcessEnv;
  /** The deployment `deploying` created, which `deployed` ends. */
  #deploymentId: number | undefined;
  /** Who the token writes as, asked once. */
  #login: Promise<string> | undefined;

  /**
   * undefined without a token or a repository: the step then works without GitHub. The pull request is
   * the event's, unless given (a sweep acts on environments of other pull requests).
   */
  static forRun(
    token: string | undefined,
    environment: string,
    options: { env?: NodeJS.ProcessEnv; pullRequest?: PullRequestRef } = {},
  ): GithubReport | undefined {
    const env = options.env ?? process.env;
    const [owner, repo] = (env.GITHUB_REPOSITORY ?? '').split('/');
    if (!token || !owner || !repo) return undefined;
    const client = new GithubClient(token, env.GITHUB_API_URL || 'https://api.github.com', env.GITHUB_GRAPHQL_URL);
    return new GithubReport(client, environment, { owner, repo }, options.pullRequest ?? pullRequestOfEvent(env), env);
  }

  private constructor(
    client: GithubClient,
    environment: string,
    repository: { owner: string; repo: string },
    pullRequest: PullRequestRef | undefined,
    env: NodeJS.ProcessEnv,
  ) {
    this.#client = client;
    this.#environment = environment;
    this.#repository = repository;
    this.#pullRequest = pullRequest;
    this.#env = env;
  }

  /** A Deployment for this environment, in progress. */
  async deploying(description: string): Promise<void> {
    // The head commit the run is about: a pull request's head, else the pushed commit.
    const ref = this.#pullRequest?.headSha ?? this.#env.GITHUB_SHA;
    if (!ref) return;
    const preview = this.#pullRequest !== undefined;
    await this.#attempt('create the GitHub deployment', 'deployments: write', async () => {
      const deployment = await this.#client.request<{ id: number }>('POST', `${this.#repoPath()}/deployments`, {
        ref,
        environment: this.#environment,
        description: description.slice(0, 140),
        auto_merge: false,
        required_contexts: [],
        transient_environment: preview,
        production_environment: PRODUCTION_NAMES.includes(this.#environment),
      });
      this.#deploymentId = deployment.id;
      await this.#status(deployment.id, 'in_progress', description);
    });
  }

  /** The deployment's end, and the pull request's comment with what the environment is now. */
  async deployed(ok: boolean, facts: EnvironmentFacts, description: string): Promise<void> {
    const deploymentId = this.#deploymentId;
    if (deploymentId !== undefined) {
      await this.#attempt('update the GitHub deployment', 'deployments: write', () =>
        this.#status(deploymentId, ok ? 'success' : 'failure', description, facts.url),
      );
    }
    await this.#updateComment({ ...facts, destroyed: false });
  }

  /** After a teardown: every deployment of the environment inactive, the comment marked destroyed. */
  async destroyed(): Promise<void> {
    await this.#attempt('mark the GitHub deployments inactive', 'deployments: write', async () => {
      const deployments = await this.#client.request<{ id: number }[]>(
        'GET',
        `${this.#repoPath()}/deployments?environment=${encodeURIComponent(this.#environment)}&per_page=100`,
      );
      for (const deployment of deployments) await this.#status(deployment.id, 'inactive', 'Environment torn down');
    });
    await this.#updateComment({ status: 'destroyed', destroyed: true });
  }

  #repoPath(): string {
    return `/repos/${encodeURIComponent(this.#repository.owner)}/${encodeURIComponent(this.#repository.repo)}`;
  }

  async #status(deploymentId: number, state: string, description: string, environmentUrl?: string): Promise<void> {
    await this.#client.request('POST', `${this.#repoPath()}/deployments/${deploymentId}/statuses`, {
      state,
      description: description.slice(0, 140),
      log_url: runUrl(this.#env),
      ...(environmentUrl ? { environment_url: environmentUrl } : {}),
    });
  }

  async #updateComment(update: Partial<CommentState>): Promise<void> {
    const pull = this.#pullRequest;
    if (!pull) return;
    await this.#attempt(`update the comment on ${pullRequestName(pull)}`, 'pull-requests: write', async () => {
      const path = `/repos/${encodeURIComponent(pull.owner)}/${encodeURIComponent(pull.repo)}/issues/${pull.number}/comments`;
      const existing = await this.#findComment(path);
      const state: CommentState = {
        ...(existing?.state ?? { environment: this.#environment }),
        ...definedOnly(update),
        environment: this.#environment,
        updatedBy: runUrl(this.#env),
        updatedAt: new Date().toISOString(),
      };
      const body = renderComment(state);
      if (existing)
        await this.#client.request('PATCH', `/repos/${encodeURIComponent(pull.owner)}/${encodeURIComponent(pull.repo)}/issues/comments/${existing.id}`, {
          body,
        });
      else await this.#client.request('POST', path, { body });
    });
  }

  /**
   * Our comment for this environment, found by its marker on any page of the pull request's comments.
   * Only one the token's own identity wrote: anyone can paste the marker, and a token that may edit
   * comments may edit theirs.
   */
  async #findComment(path: string): Promise<{ id: number; state: CommentState } | undefined> {
    this.#login ??= this.#client.login();
    const login = (await this.#login).toLowerCase();
    for (let page = 1; page <= 30; page++) {
      const comments = await this.#client.request<{ id: number; body?: string; user?: { login?: string } | null }[]>(
        'GET',
        `${path}?per_page=100&page=${page}`,
      );
      for (const comment of comments) {
        if (comment.user?.login?.toLowerCase() !== login) continue;
        const state = parseState(comment.body ?? '');
        if (state?.environment === this.#environment) return { id: comment.id, state };
      }
      if (comments.length < 100) return undefined;
    }
    return undefined;
  }

  async #attempt(what: string, permission: string, call: () => Promise<void>): Promise<void> {
    try {
      await call();
    } catch (error) {
      if (!(error instanceof GithubError)) throw error;
      const fix =
        error.status === 401
          ? 'Check the github-token input (an expired or wrong token).'
          : error.status === 403 || error.status === 404
            ? `Give the workflow's token \`permissions: ${permission}\`.`
            : 'GitHub may be having trouble; the AWS side is unaffected.';
      warning(`Could not ${what}: ${error.message}. ${fix}`, 'GitHub');
    }
  }
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as Partial<T>;
}

function parseState(body: string): CommentState | undefined {
  const match = new RegExp(`<!-- ${MARKER} (\\{.*?\\}) -->`).exec(body);
  if (!match?.[1]) return undefined;
  try {
    return JSON.parse(match[1]) as CommentState;
  } catch {
    // Someone edited the marker by hand: treat the comment as not ours rather than fail.
    return undefined;
  }
}

export function renderComment(state: CommentState): string {
  // "<" escaped so nothing in the state can close the HTML comment early.
  const marker = `<!-- ${MARKER} ${JSON.stringify(state).replace(/</g, '\\u003c').replace(/>/g, '\\u003e')} -->`;
  const url = state.url ? (state.destroyed ? `~~${state.url}~~` : state.url) : undefined;
  const heading = state.destroyed ? `### Preview environment \`${state.environment}\`: destroyed` : `### Preview environment \`${state.environment}\``;
  const rows: [string, string | undefined][] = [
    ['URL', url],
    ['Status', state.status],
    ['Image', state.image ? `\`${state.image}\`` : undefined],
    ['Revision', state.revision],
    ['Shell', state.shell && !state.destroyed ? `\`${state.shell}\`` : undefined],
    ['Estimated cost', state.monthlyCost && !state.destroyed ? `$${state.monthlyCost} a month` : undefined],
    ['Updated', [state.updatedAt?.replace(/^(\d{4}-\d\d-\d\d)T(\d\d:\d\d).*$/, '$1 $2 UTC'), state.updatedBy ? `by ${state.updatedBy}` : ''].join(' ').trim()],
  ];
  return [
    marker,
    heading,
    table(
      ['', ''],
      rows.filter(([, value]) => value !== undefined),
    ),
  ].join('\n\n');
}

/** The first line of an error's message, for a status that must stay short. */
export function firstLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}
