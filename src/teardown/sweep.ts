// Sweep: the environments of a cluster whose pull request is closed or whose ttl has passed, torn
// down one by one. Both facts come from tags provision-platform wrote; an environment is never judged
// by its name, and one whose pull request cannot be read is kept.
import { type CloudWatchLogsClient, DescribeLogGroupsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-cloudwatch-logs';
import { awsCall } from '../aws.ts';
import { settleAll } from '../concurrency.ts';
import { listClusterServices, tagsOf } from '../ecs/services.ts';
import { allTargetGroups } from '../elb/describe.ts';
import { describeElbTags } from '../elb/tags.ts';
import {
  environmentNames,
  type Identity,
  identityOf,
  isProtected,
  parsePullRequestTag,
  repositoryAllowed,
  TAG_EXPIRES_AT,
  TAG_PULL_REQUEST,
  type Tags,
} from '../environment.ts';
import { GithubClient, type PullRequestRef, pullRequestName } from '../github.ts';
import { GithubReport } from '../github-report.ts';
import type { Progress, Summary } from '../report.ts';
import type { Clock } from '../watch.ts';
import { type EnvironmentTeardown, type TeardownClients, type TeardownOutcome, teardownEnvironment } from './teardown.ts';

export interface SweepCandidate {
  identity: Identity;
  environment: string;
  pullRequest: PullRequestRef | undefined;
  /** The expires-at tag as written (an ISO time). */
  expiresAt: string | undefined;
}

export interface SweepDecision extends SweepCandidate {
  sweep: boolean;
  reason: string;
}

/**
 * Every environment of the cluster our tags mark on these resources, once each, of the repositories the
 * sweep may act for (its own, unless `repositories` says otherwise). The first resource's ttl wins: the
 * service's, which every provision moves on.
 */
export function sweepCandidates(resources: Tags[], cluster: string, repositories: readonly string[]): SweepCandidate[] {
  const candidates = new Map<string, SweepCandidate>();
  for (const tags of resources) {
    const identity = identityOf(tags);
    if (!identity || identity.cluster !== cluster || !repositoryAllowed(identity.repository, repositories)) continue;
    const key = `${identity.repository}\n${identity.environment}`;
    const known = candidates.get(key);
    candidates.set(key, {
      identity,
      environment: identity.environment,
      pullRequest: known?.pullRequest ?? parsePullRequestTag(tags[TAG_PULL_REQUEST]),
      expiresAt: known?.expiresAt ?? tags[TAG_EXPIRES_AT],
    });
  }
  return [...candidates.values()].sort((a, b) => a.environment.localeCompare(b.environment) || a.identity.repository.localeCompare(b.identity.repository));
}

/**
 * The tags of the cluster's environments, from their services, target groups and log groups: a sweep
 * stopped or failed part-way leaves what teardown deletes later (the log group goes last), which the
 * next sweep must still find to finish the job. Target groups are region-wide: their cluster tag says whose.
 */
async function environmentTags(context: TeardownClients, cluster: string): Promise<Tags[]> {
  const services = (await listClusterServices(context.ecs, cluster, ['ACTIVE', 'DRAINING'])).map(tagsOf);
  const groups = await allTargetGroups(context.elb);
  const tags = await describeElbTags(
    context.elb,
    groups.map((group) => group.TargetGroupArn ?? ''),
  );
  return [...services, ...tags.values(), ...(await logGroupTags(context.logs, cluster))];
}

/** The tags of the log groups named for this cluster's environments (`/ecs/<cluster>/<environment>`). */
async function logGroupTags(logs: CloudWatchLogsClient, cluster: string): Promise<Tags[]> {
  const prefix = environmentNames(cluster, '').logGroup;
  const groups: { name: string; arn: string }[] = [];
  let nextToken: string | undefined;
  do {
    const page = await awsCall('DescribeLogGroups', `${prefix}*`, () => logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: prefix, nextToken })));
    for (const group of page.logGroups ?? []) groups.push({ name: group.logGroupName ?? '', arn: (group.arn ?? '').replace(/:\*$/, '') });
    nextToken = page.nextToken;
  } while (nextToken);
  const owned: Tags[] = [];
  // One at a time: CloudWatch Logs allows few ListTagsForResource calls a second.
  for (const group of groups) {
    const tags = (await awsCall('ListTagsForResource', group.name, () => logs.send(new ListTagsForResourceCommand({ resourceArn: group.arn })))).tags ?? {};
    const identity = identityOf(tags);
    if (identity && environmentNames(cluster, identity.environment).logGroup === group.name) owned.push(tags);
  }
  return owned;
}

async function decide(
  candidate: SweepCandidate,
  options: { github: GithubClient | undefined; now: Date; protectedPatterns: string[] },
): Promise<SweepDecision> {
  const keep = (reason: string) => ({ ...candidate, sweep: false, reason });
  if (isProtected(candidate.environment, options.protectedPatterns)) return keep('protected (protected-environments): never swept');
  const expiresAt = candidate.expiresAt === undefined ? undefined : new Date(candidate.expiresAt);
  if (expiresAt && !Number.isNaN(expiresAt.getTime()) && expiresAt <= options.now) {
    return { ...candidate, sweep: true, reason: `ttl passed at ${candidate.expiresAt}` };
  }
  const ttl =
    expiresAt && !Number.isNaN(expiresAt.getTime())
      ? `; ttl until ${candidate.expiresAt}`
      : candidate.expiresAt
        ? `; unreadable ttl tag ${JSON.stringify(candidate.expiresAt)}`
        : '';
  const pull = candidate.pullRequest;
  if (!pull) return keep(`no pull request recorded${ttl || '; no ttl'}`);
  const name = pullRequestName(pull);
  if (!options.github) return keep(`pull request ${name} not read: no github-token given${ttl}`);
  try {
    const state = await options.github.getPullRequest(pull);
    if (state.state === 'closed') return { ...candidate, sweep: true, reason: `pull request ${name} ${state.merged ? 'merged' : 'closed'}` };
    return keep(`pull request ${name} open${ttl}`);
  } catch (error) {
    return keep(`pull request ${name} could not be read (${error instanceof Error ? error.message : String(error)})${ttl}`);
  }
}

export async function decideSweep(
  candidates: SweepCandidate[],
  options: { github: GithubClient | undefined; now: Date; protectedPatterns: string[]; concurrency: number },
): Promise<SweepDecision[]> {
  const results = await settleAll(candidates, options.concurrency, (candidate) => decide(candidate, options));
  // decide() turns GitHub's failures into "keep"; anything else thrown keeps the environment too.
  return results.map((result, index) =>
    result.status === 'fulfilled' ? result.value : { ...(candidates[index] as SweepCandidate), sweep: false, reason: String(result.reason) },
  );
}

export interface SweepOptions extends Omit<EnvironmentTeardown, 'identity'> {
  cluster: string;
  /** Whose environments: owner/name of each repository, or `*` for every repository's. */
  repositories: string[];
  githubToken: string | undefined;
  protectedEnvironments: string[];
}

/** Every repository has a pr-1: a sweep over several repositories says whose. */
function labeller(repositories: readonly string[]): (candidate: SweepCandidate) => string {
  const several = repositories.length > 1 || repositories.includes('*');
  return (candidate) => (several ? `${candidate.environment} (${candidate.identity.repository})` : candidate.environment);
}

export interface SweptEnvironment extends SweepDecision {
  /** Set once torn down (or planned, in a dry run). */
  outcome: TeardownOutcome | undefined;
  /** Why the teardown failed. */
  error: string | undefined;
}

/**
 * Decides for every environment in the cluster, then tears down the stale ones one after another
 * with teardown's own code path. One that fails does not stop the others.
 */
export async function sweepEnvironments(context: TeardownClients & { clock: Clock; progress: Progress }, options: SweepOptions): Promise<SweptEnvironment[]> {
  const { progress, clock } = context;
  const named = labeller(options.repositories);
  progress.phase(`Finding environments in cluster ${options.cluster}; next: ask GitHub about their pull requests`);
  const candidates = sweepCandidates(await environmentTags(context, options.cluster), options.cluster, options.repositories);
  progress.line(`${candidates.length} environments: ${candidates.map(named).join(', ') || 'none'}`);
  if (!options.githubToken && candidates.some((candidate) => candidate.pullRequest)) {
    progress.line('no github-token given: environments recorded with a pull request are swept only when their ttl has passed');
  }
  const github = options.githubToken ? new GithubClient(options.githubToken) : undefined;
  const decisions = await decideSweep(candidates, { github, now: new Date(clock.now()), protectedPatterns: options.protectedEnvironments, concurrency: 5 });
  for (const decision of decisions)
    progress.line(`${named(decision)}: ${decision.sweep ? (options.dryRun ? 'would sweep' : 'sweep') : 'keep'}: ${decision.reason}`);

  const swept: SweptEnvironment[] = decisions.map((decision) => ({ ...decision, outcome: undefined, error: undefined }));
  for (const environment of swept.filter((candidate) => candidate.sweep)) {
    try {
      environment.outcome = await teardownEnvironment(context, { ...options, identity: environment.identity });
      if (!options.dryRun) await GithubReport.forRun(options.githubToken, environment.environment, { pullRequest: environment.pullRequest })?.destroyed();
    } catch (error) {
      environment.error = error instanceof Error ? error.message : String(error);
      progress.line(`${named(environment)}: teardown FAILED: ${environment.error}; going on with the others`);
    }
  }
  const done = swept.filter((environment) => environment.outcome).length;
  progress.line(`${options.dryRun ? 'Dry run: would sweep' : 'Swept'} ${done} of ${swept.length} environments.`);
  return swept;
}

export function addSweepSummary(summary: Summary, swept: SweptEnvironment[], dryRun: boolean): void {
  const stale = swept.filter((environment) => environment.sweep);
  summary.add(
    `**Sweep**: ${swept.length} environments found, ${stale.length} stale${dryRun ? ' (dry run: nothing deleted)' : `, ${stale.filter((e) => e.outcome).length} torn down`}.`,
  );
  if (swept.length === 0) return;
  // Every repository has a pr-1: whose each is, when the sweep reached several repositories'.
  const several = new Set(swept.map((environment) => environment.identity.repository)).size > 1;
  summary.addTable(
    ['environment', ...(several ? ['repository'] : []), 'pull request', 'ttl', 'decision', 'why', dryRun ? 'would delete' : 'deleted'],
    swept.map((environment) => [
      environment.environment,
      ...(several ? [environment.identity.repository] : []),
      environment.pullRequest ? pullRequestName(environment.pullRequest) : undefined,
      environment.expiresAt,
      environment.error ? '❌ teardown failed' : environment.sweep ? (dryRun ? 'would sweep' : 'swept') : 'kept',
      environment.error ? `${environment.reason}; ${environment.error}` : environment.reason,
      environment.outcome ? (dryRun ? environment.outcome.planned : environment.outcome.deleted).length : undefined,
    ]),
  );
}
