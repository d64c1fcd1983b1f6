// Sleep or wake every selected environment of a cluster: read everything in batches, plan, apply the
// plans a few services at a time, and on wake follow the services to steady state. A service that
// fails is reported at the end; it never stops the others.
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTaskDefinitionCommand, type Service, type TaskDefinition } from '@aws-sdk/client-ecs';
import { describeServiceLimits, type ScalableLimits } from '../autoscaling/targets.ts';
import { awsCall } from '../aws.ts';
import { settleAll } from '../concurrency.ts';
import { diagnosisLines } from '../deployment-report.ts';
import { requireCluster } from '../ecs/cluster.ts';
import { lastEventTime, type StartedDeployment } from '../ecs/deploy.ts';
import { failureLabels } from '../ecs/diagnosis.ts';
import { type DeploymentResult, follow, isFailure } from '../ecs/rollout.ts';
import { listClusterServices, tagsOf } from '../ecs/services.ts';
import { parsePullRequestTag, TAG_PULL_REQUEST } from '../environment.ts';
import type { PullRequestRef } from '../github.ts';
import { formatSeconds } from '../inputs.ts';
import type { Progress } from '../report.ts';
import type { Clock } from '../watch.ts';
import { applyPlan, type ScaleClients } from './apply.ts';
import { formatCapacity, type Mode, planService, type Selection, type ServicePlan, selectEnvironments } from './plan.ts';
import { dailyCostPerTask, type TaskCost } from './saving.ts';

export interface ScaleOptions {
  mode: Mode;
  cluster: string;
  /** The running repository, and whose environments it may scale (itself unless told; `*` for all). */
  repository: string;
  repositories: string[];
  region: string;
  environments: string[];
  exclude: string[];
  protectedEnvironments: string[];
  wait: boolean;
  timeoutSeconds: number;
  dryRun: boolean;
  concurrency: number;
}

export interface ScaleContext extends ScaleClients {
  logs: CloudWatchLogsClient;
  clock: Clock;
  progress: Progress;
}

export interface ServiceOutcome {
  environment: string;
  serviceName: string;
  /** Absent when the service could not be planned (its recorded counts are unreadable). */
  plan: ServicePlan | undefined;
  status: 'changed' | 'unchanged' | 'planned' | 'failed';
  error: string | undefined;
  /** What sleeping this service saves a day; undefined when it cannot be priced. */
  cost: TaskCost | undefined;
  deployment: DeploymentResult | undefined;
  /** The revision it runs, and the pull request provision-platform recorded for its environment, for that comment. */
  taskDefinitionArn: string | undefined;
  pullRequest: PullRequestRef | undefined;
}

export interface ScaleResult {
  selection: Selection;
  services: ServiceOutcome[];
}

const verbs: Record<Mode, { doing: string; done: string }> = {
  sleep: { doing: 'Putting to sleep', done: 'asleep' },
  wake: { doing: 'Waking', done: 'awake' },
};

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Awake, no deployment in progress, but its tasks not all running: a scale-up under way. */
function scalingUp(service: Service | undefined): boolean {
  const deployments = service?.deployments ?? [];
  const desired = service?.desiredCount ?? 0;
  return (
    deployments.length === 1 &&
    deployments[0]?.rolloutState === 'COMPLETED' &&
    desired > 0 &&
    ((service?.runningCount ?? 0) < desired || (service?.pendingCount ?? 0) > 0)
  );
}

/** A wake starts no deployment: the watch follows the PRIMARY one to steady state. */
function scalingOf(cluster: string, service: Service, since: Date): StartedDeployment {
  const primary = service.deployments?.find((deployment) => deployment.status === 'PRIMARY');
  return {
    cluster,
    serviceName: service.serviceName ?? '',
    previousTaskDefinitionArn: service.taskDefinition ?? '',
    taskDefinitionArn: primary?.taskDefinition ?? service.taskDefinition ?? '',
    deploymentId: primary?.id ?? '',
    serviceDeploymentArn: undefined,
    startedAt: since,
    unchanged: false,
    scaling: { failedTasksBefore: primary?.failedTasks ?? 0 },
  };
}

async function describeTaskDefinitions(context: ScaleContext, arns: string[], concurrency: number): Promise<Map<string, TaskDefinition>> {
  const found = new Map<string, TaskDefinition>();
  const results = await settleAll(arns, concurrency, (arn) =>
    awsCall('DescribeTaskDefinition', arn, () => context.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn }))),
  );
  results.forEach((result, index) => {
    const arn = arns[index] ?? '';
    if (result.status === 'fulfilled' && result.value.taskDefinition) found.set(arn, result.value.taskDefinition);
    // Only the cost estimate and wake's diagnosis need it: say so and go on.
    else
      context.progress.line(
        `could not read ${arn.split('/').pop()}: ${result.status === 'rejected' ? errorText(result.reason) : 'not found'}; no cost estimate for it`,
      );
  });
  return found;
}

export async function scaleEnvironments(context: ScaleContext, options: ScaleOptions): Promise<ScaleResult> {
  const { progress } = context;
  const { mode, cluster } = options;

  progress.phase(`Finding environments matching ${options.environments.join(', ')} in cluster ${cluster}`);
  await requireCluster(context.ecs, cluster, options.region);
  const selection = selectEnvironments(await listClusterServices(context.ecs, cluster), {
    cluster,
    repository: options.repository,
    repositories: options.repositories,
    patterns: options.environments,
    exclude: options.exclude,
    protectedPatterns: options.protectedEnvironments,
  });
  const selected = [...selection.environments].flatMap(([environment, services]) => services.map((service) => ({ environment, service })));
  progress.line(`${selection.environments.size} environments (${selected.length} services) selected`);
  if (selection.excluded.length > 0) progress.line(`excluded: ${selection.excluded.join(', ')}`);
  if (selection.protectedSkipped.length > 0) {
    progress.line(`protected, skipped (name them exactly in environments to include them): ${selection.protectedSkipped.join(', ')}`);
  }
  if (selection.otherRepositories.length > 0) {
    progress.line(`other repositories' environments, left alone (see the repositories input): ${selection.otherRepositories.join(', ')}`);
  }
  for (const name of selection.notFound) progress.line(`no service in ${cluster} is tagged as environment ${name}`);
  if (selected.length === 0) return { selection, services: [] };

  progress.phase(`Reading auto scaling limits of ${selected.length} services; next: plan`);
  const limits: Map<string, ScalableLimits> = await describeServiceLimits(
    context.aas,
    cluster,
    selected.map(({ service }) => service.serviceName ?? ''),
  );
  progress.line(`${limits.size} of ${selected.length} services have an Application Auto Scaling target`);
  const outcomes: ServiceOutcome[] = selected.map(({ environment, service }) => {
    const outcome = {
      environment,
      serviceName: service.serviceName ?? '',
      cost: undefined,
      deployment: undefined,
      taskDefinitionArn: service.taskDefinition,
      pullRequest: parsePullRequestTag(tagsOf(service)[TAG_PULL_REQUEST]),
    };
    try {
      return { ...outcome, plan: planService(mode, environment, service, limits.get(service.serviceName ?? '')), status: 'unchanged', error: undefined };
    } catch (error) {
      return { ...outcome, plan: undefined, status: 'failed', error: errorText(error) };
    }
  });
  const serviceByName = new Map(selected.map(({ service }) => [service.serviceName ?? '', service]));
  const actionable = outcomes.filter((outcome) => outcome.plan && outcome.plan.action !== 'none');
  // A wake that stopped waiting (killed, or timed out) left services starting with their counts already
  // restored and their tags gone: a re-run waits for them too, as that wake would have.
  const starting =
    mode === 'wake' && options.wait ? outcomes.filter((outcome) => outcome.plan?.action === 'none' && scalingUp(serviceByName.get(outcome.serviceName))) : [];

  const arns = [...new Set([...actionable, ...starting].map((outcome) => serviceByName.get(outcome.serviceName)?.taskDefinition ?? ''))].filter(Boolean);
  const taskDefinitions = arns.length > 0 ? await describeTaskDefinitions(context, arns, options.concurrency) : new Map<string, TaskDefinition>();
  for (const outcome of actionable) {
    const service = serviceByName.get(outcome.serviceName) as Service;
    const taskDefinition = taskDefinitions.get(service.taskDefinition ?? '');
    const perTask = taskDefinition && dailyCostPerTask(options.region, service, taskDefinition);
    if (perTask && outcome.plan) outcome.cost = { dailyUsd: perTask.dailyUsd * outcome.plan.tasks, spotEstimated: perTask.spotEstimated };
  }

  progress.phase(`Plan: ${actionable.length} of ${outcomes.length} services to ${mode}`);
  for (const outcome of outcomes) progress.line(planLine(outcome));
  for (const outcome of starting) progress.line(`${label(outcome)}: its tasks are still starting (after an earlier wake): waiting for them too`);
  if (options.dryRun) {
    progress.line('Dry run: nothing changed.');
    for (const outcome of actionable) outcome.status = 'planned';
    return { selection, services: outcomes };
  }
  if (actionable.length === 0 && starting.length === 0) return { selection, services: outcomes };

  if (actionable.length > 0) progress.phase(`${verbs[mode].doing} ${actionable.length} services, ${options.concurrency} at a time`);
  let finished = 0;
  const updated = new Map<string, Service>();
  await settleAll(actionable, options.concurrency, async (outcome) => {
    const plan = outcome.plan as ServicePlan;
    try {
      const service = await applyPlan(context, cluster, plan);
      if (service) updated.set(plan.serviceName, service);
      outcome.status = 'changed';
      progress.line(
        `[${++finished}/${actionable.length}] ${label(outcome)}: ${verbs[mode].done}, ${formatCapacity(plan.current)} → ${formatCapacity(plan.to)}`,
      );
    } catch (error) {
      outcome.status = 'failed';
      outcome.error = errorText(error);
      progress.line(`[${++finished}/${actionable.length}] ${label(outcome)}: FAILED: ${outcome.error}`);
    }
  });

  const woken = mode === 'wake' && options.wait ? actionable.filter((outcome) => outcome.status === 'changed' && (outcome.plan?.to.desired ?? 0) > 0) : [];
  const toWatch = [...woken, ...starting];
  if (toWatch.length > 0) await waitForSteadyState(context, options, toWatch, serviceByName, updated, taskDefinitions);
  return { selection, services: outcomes };
}

async function waitForSteadyState(
  context: ScaleContext,
  options: ScaleOptions,
  outcomes: ServiceOutcome[],
  before: Map<string, Service>,
  updated: Map<string, Service>,
  taskDefinitions: Map<string, TaskDefinition>,
): Promise<void> {
  const since = new Date(context.clock.now());
  const started = outcomes.map((outcome) => {
    const previous = before.get(outcome.serviceName) as Service;
    return scalingOf(options.cluster, updated.get(outcome.serviceName) ?? previous, lastEventTime(previous) ?? since);
  });
  const targets = outcomes.map((outcome) => {
    const service = before.get(outcome.serviceName) as Service;
    const taskDefinition = taskDefinitions.get(service.taskDefinition ?? '');
    return { service, taskDefinitionArn: service.taskDefinition ?? '', containers: taskDefinition?.containerDefinitions ?? [] };
  });
  const results = await follow(
    context,
    started,
    targets,
    options.timeoutSeconds,
    `Waiting for ${outcomes.length} services to reach steady state (at most ${formatSeconds(options.timeoutSeconds)})`,
  );
  for (const result of results) {
    const outcome = outcomes.find((candidate) => candidate.serviceName === result.serviceName);
    if (!outcome) continue;
    outcome.deployment = result;
    if (isFailure(result.status)) {
      outcome.status = 'failed';
      const reason = result.diagnosis ? failureLabels[result.diagnosis.reason] : (result.statusReason ?? result.status);
      outcome.error = `counts restored, but it did not reach steady state${result.status === 'timed-out' ? ' in time' : ''}: ${reason}`;
      for (const line of diagnosisLines(result)) context.progress.line(line);
    }
  }
}

/** provision-platform names the service after the environment: say it once then. */
function label(outcome: ServiceOutcome): string {
  return outcome.environment === outcome.serviceName ? outcome.environment : `${outcome.environment}/${outcome.serviceName}`;
}

function planLine(outcome: ServiceOutcome): string {
  const { plan } = outcome;
  if (!plan) return `${label(outcome)}: cannot be planned: ${outcome.error}`;
  const head = `${label(outcome)}:`;
  if (plan.action === 'none') return `${head} ${plan.note}; nothing to do`;
  const saving = outcome.cost ? `; ~$${outcome.cost.dailyUsd.toFixed(2)}/day` : '';
  return `${head} ${plan.action} ${formatCapacity(plan.from)} → ${formatCapacity(plan.to)}${plan.note ? ` (${plan.note})` : ''}${saving}`;
}
