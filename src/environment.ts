// The naming contract: what an environment's resources are called and how they are marked as ours.
import { createHash } from 'node:crypto';
import { ActionError } from './errors.ts';
import type { PullRequestRef } from './github.ts';

export const TAG_ENVIRONMENT = 'ecs-deploy-actions:environment';
export const TAG_CLUSTER = 'ecs-deploy-actions:cluster';
/** The GitHub repository (owner/name) whose workflow created the environment. */
export const TAG_REPOSITORY = 'ecs-deploy-actions:repository';
export const TAG_MANAGED_BY = 'ecs-deploy-actions:managed-by';
export const TAG_CREATED_BY_RUN = 'ecs-deploy-actions:created-by-run';
export const MANAGED_BY = 'ecs-deploy-actions';
/** When the environment may be swept (ISO time), from provision-platform's ttl. */
export const TAG_EXPIRES_AT = 'ecs-deploy-actions:expires-at';
/** The pull request the environment previews, so a sweep can ask GitHub whether it is closed. */
export const TAG_PULL_REQUEST = 'ecs-deploy-actions:pull-request';
/** Hash of the spec provision-platform registered a revision from: a re-run with the same spec leaves that revision alone. */
export const TAG_SPEC = 'ecs-deploy-actions:spec';
// What a sleeping service had, kept on the service itself so any later run (or a re-run of an
// interrupted one) knows what to restore.
export const TAG_ASLEEP_DESIRED_COUNT = 'ecs-deploy-actions:asleep-desired-count';
export const TAG_ASLEEP_MIN_CAPACITY = 'ecs-deploy-actions:asleep-min-capacity';
export const TAG_ASLEEP_MAX_CAPACITY = 'ecs-deploy-actions:asleep-max-capacity';
export const SLEEP_TAGS = [TAG_ASLEEP_DESIRED_COUNT, TAG_ASLEEP_MIN_CAPACITY, TAG_ASLEEP_MAX_CAPACITY];

export type Tags = Record<string, string>;

/** The URL of the workflow run this process belongs to, when it runs on a runner. */
export function runUrl(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const { GITHUB_SERVER_URL, GITHUB_REPOSITORY, GITHUB_RUN_ID } = env;
  if (!GITHUB_REPOSITORY || !GITHUB_RUN_ID) return undefined;
  return `${GITHUB_SERVER_URL || 'https://github.com'}/${GITHUB_REPOSITORY}/actions/runs/${GITHUB_RUN_ID}`;
}

/**
 * An environment is a name in a cluster, made by one repository: many repositories share an account,
 * a cluster and a listener, and every one of them has a pr-1.
 */
export interface Identity {
  repository: string;
  cluster: string;
  environment: string;
}

/** The repository this run acts for; an environment is never touched without knowing it. */
export function currentRepository(env: NodeJS.ProcessEnv = process.env): string {
  const repository = env.GITHUB_REPOSITORY ?? '';
  if (!/^[A-Za-z0-9-]+\/[A-Za-z0-9._-]+$/.test(repository)) {
    throw new ActionError(
      `GITHUB_REPOSITORY is ${repository ? `"${repository}", not owner/name` : 'not set'}: an environment belongs to the repository that made it, so this step cannot tell which environments are its own.`,
      'run the step in a GitHub Actions workflow, or set GITHUB_REPOSITORY=owner/name when running it elsewhere.',
    );
  }
  return repository;
}

/** How `identity.environment` of `identity.repository`, in one place, reads in messages. */
export function describeIdentity(identity: Identity): string {
  return `environment ${identity.environment} of cluster ${identity.cluster} (repository ${identity.repository})`;
}

/** The tags every resource created for an environment carries. */
export function ownershipTags(identity: Identity, createdByRun = runUrl()): Tags {
  const tags: Tags = {
    [TAG_ENVIRONMENT]: identity.environment,
    [TAG_CLUSTER]: identity.cluster,
    [TAG_REPOSITORY]: identity.repository,
    [TAG_MANAGED_BY]: MANAGED_BY,
  };
  if (createdByRun) tags[TAG_CREATED_BY_RUN] = createdByRun;
  return tags;
}

/** The identity our tags record on a resource; none unless all three parts are there. */
export function identityOf(tags: Tags): Identity | undefined {
  const { [TAG_REPOSITORY]: repository, [TAG_CLUSTER]: cluster, [TAG_ENVIRONMENT]: environment } = tags;
  if (tags[TAG_MANAGED_BY] !== MANAGED_BY || !repository || !cluster || !environment) return undefined;
  return { repository, cluster, environment };
}

/**
 * `ours`: made for exactly this environment (pr-1 never owns pr-10's, team-c's pr-2 never team-d's).
 * `other-repository`: the same cluster and name, made by another repository: refused, never adopted.
 */
export type Ownership = 'ours' | 'other-repository' | 'not-ours';

export function ownership(tags: Tags, identity: Identity): Ownership {
  const owner = identityOf(tags);
  if (!owner || owner.cluster !== identity.cluster || owner.environment !== identity.environment) return 'not-ours';
  return owner.repository === identity.repository ? 'ours' : 'other-repository';
}

export function isOwnedBy(tags: Tags, identity: Identity): boolean {
  return ownership(tags, identity) === 'ours';
}

/** The refusal when another repository made an environment of this cluster and name. */
export function otherRepositoryError(identity: Identity, owner: string, what: string): ActionError {
  return new ActionError(
    `Environment ${identity.environment} of cluster ${identity.cluster} belongs to repository ${owner} (its ${what} is tagged ${TAG_REPOSITORY}=${owner}); this run is from ${identity.repository} and changed nothing.`,
    `pick another environment name (for example ${identity.environment}-${identity.repository.split('/')[1] ?? 'app'}) or another cluster for ${identity.repository}'s environments.`,
  );
}

/** Which repositories' environments a run may act on: its own unless a platform repository says `*` (or lists them). */
export function repositoryAllowed(repository: string, allowed: readonly string[]): boolean {
  return allowed.some((pattern) => pattern === '*' || pattern.toLowerCase() === repository.toLowerCase());
}

// Tag values may not contain "#" (AWS allows letters, digits, spaces and + - = . _ : / @), hence owner/repo/pull/N.
export function pullRequestTag(ref: PullRequestRef): string {
  return `${ref.owner}/${ref.repo}/pull/${ref.number}`;
}

export function parsePullRequestTag(value: string | undefined): PullRequestRef | undefined {
  const match = /^([A-Za-z0-9-]+)\/([A-Za-z0-9._-]+)\/pull\/([1-9]\d*)$/.exec(value ?? '');
  if (!match) return undefined;
  return { owner: match[1] ?? '', repo: match[2] ?? '', number: Number(match[3]) };
}

/** Shortens a name to `max` characters, keeping it unique with a stable hash of the whole. */
export function fitName(name: string, max: number): string {
  if (name.length <= max) return name;
  const hash = createHash('sha256').update(name).digest('hex').slice(0, 7);
  const head = name.slice(0, max - hash.length - 1).replace(/-+$/, '');
  return `${head}-${hash}`;
}

/** A name unique to its parts, readable up front: `<parts joined by ->-<hash of the parts>`, at most `max` characters. */
function uniqueName(parts: string[], max: number): string {
  const hash = createHash('sha256').update(parts.join('\n')).digest('hex').slice(0, 6);
  const head = parts
    .join('-')
    .replace(/[^A-Za-z0-9-]/g, '-')
    .replace(/^-+/, '')
    .slice(0, max - hash.length - 1)
    .replace(/-+$/, '');
  return `${head}-${hash}`;
}

export interface EnvironmentNames {
  /** ECS service name, unique within the cluster. */
  service: string;
  /** Task-definition family; families are region-wide, so the cluster is part of it (`_` joins: environments have none). */
  family: string;
  /** Target group names are region-wide and at most 32 characters: the hash keeps team-c/pr-2 apart from team/c-pr-2. */
  targetGroup: string;
  /** The second target group of a blue/green environment, which ECS shifts traffic to and back. */
  alternateTargetGroup: string;
  logGroup: string;
}

export function environmentNames(cluster: string, environment: string): EnvironmentNames {
  return {
    service: environment,
    family: fitName(`${cluster}_${environment}`, 255),
    targetGroup: uniqueName([cluster, environment], 32),
    alternateTargetGroup: uniqueName([cluster, environment, 'alt'], 32),
    logGroup: `/ecs/${cluster}/${environment}`,
  };
}

/**
 * Whether an environment name matches a glob such as pr-* (only * and ? are special). No RegExp: a
 * pattern like *a*a*a*b would backtrack exponentially. The pieces between stars are placed left to
 * right, each at its leftmost fit (which leaves the most room for the rest), so no star is revisited:
 * O(n·s) time for a name of length n and a longest piece of length s.
 */
export function matchesPattern(environment: string, pattern: string): boolean {
  const fitsAt = (piece: string, at: number) => {
    for (let i = 0; i < piece.length; i++) if (piece[i] !== '?' && piece[i] !== environment[at + i]) return false;
    return true;
  };
  const pieces = pattern.split('*');
  const first = pieces[0] ?? '';
  if (pieces.length === 1) return environment.length === first.length && fitsAt(first, 0);
  const last = pieces.at(-1) ?? '';
  const end = environment.length - last.length;
  if (end < first.length || !fitsAt(first, 0) || !fitsAt(last, end)) return false;
  let from = first.length;
  for (const piece of pieces.slice(1, -1)) {
    while (from + piece.length <= end && !fitsAt(piece, from)) from++;
    if (from + piece.length > end) return false;
    from += piece.length;
  }
  return true;
}

/** Protected environments are refused by destructive actions unless explicitly allowed. */
export function isProtected(environment: string, protectedPatterns: readonly string[]): boolean {
  return protectedPatterns.some((pattern) => matchesPattern(environment, pattern));
}
