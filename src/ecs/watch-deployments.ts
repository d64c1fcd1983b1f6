// Following service deployments to their end: one poll reads every service deployment and service
// at once, prints what changed, and stops as soon as ECS marks a deployment failed or rolling back.
import {
  DescribeServiceDeploymentsCommand,
  DescribeServiceRevisionsCommand,
  DescribeServicesCommand,
  type ECSClient,
  type Service,
  type ServiceDeployment,
} from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsCall } from '../aws.ts';
import { chunk } from '../list.ts';
import type { Progress } from '../report.ts';
import { type Clock, type PollIntervals, pollUntil } from '../watch.ts';
import type { StartedDeployment } from './deploy.ts';
import { greenShares } from './strategy.ts';
import { revisionName } from './task-definition.ts';

export type DeploymentStatus = 'successful' | 'rolled-back' | 'failed' | 'timed-out' | 'skipped';

export interface DeploymentProgress {
  status: DeploymentStatus | 'in-progress';
  /** ECS's words for the current state, e.g. the circuit breaker's reason. */
  statusReason: string | undefined;
  running: number;
  pending: number;
  desired: number;
  failedTasks: number;
  /** Task definition ECS rolled back to, when it did. */
  rolledBackTo: string | undefined;
  /** Service events since the deployment started, oldest first. */
  events: string[];
  /** CloudWatch alarms that failed the deployment. */
  triggeredAlarms: string[];
  /** Blue/green, canary and linear: the lifecycle stages seen, each with the new revision's share of production traffic. */
  stages: StageSeen[];
}

export interface StageSeen {
  stage: string;
  /** Percent of production traffic on the new revision, from the listener rule's weights. */
  share: number | undefined;
}

export interface WatchedDeployment extends StartedDeployment, DeploymentProgress {}

/** Progress before the first poll: nothing counted yet. */
export const noProgress = {
  running: 0,
  pending: 0,
  desired: 0,
  failedTasks: 0,
  rolledBackTo: undefined,
  events: [],
  triggeredAlarms: [],
  stages: [],
} as const satisfies Partial<DeploymentProgress>;

/** A deployment after the watch: ended, or timed out. */
export interface EndedDeployment extends Omit<WatchedDeployment, 'status'> {
  status: DeploymentStatus;
}

const rollbackStatuses = new Set(['ROLLBACK_REQUESTED', 'ROLLBACK_IN_PROGRESS', 'ROLLBACK_SUCCESSFUL', 'ROLLBACK_FAILED']);

function fromServiceDeployment(deployment: ServiceDeployment, previous: DeploymentProgress): DeploymentProgress {
  const target = deployment.targetServiceRevision;
  const status = deployment.status ?? '';
  return {
    ...previous,
    status:
      status === 'SUCCESSFUL'
        ? 'successful'
        : rollbackStatuses.has(status)
          ? 'rolled-back'
          : status === 'STOPPED' || status === 'STOP_REQUESTED'
            ? 'failed'
            : 'in-progress',
    statusReason: deployment.statusReason ?? previous.statusReason,
    running: target?.runningTaskCount ?? previous.running,
    pending: target?.pendingTaskCount ?? previous.pending,
    desired: target?.requestedTaskCount ?? previous.desired,
    failedTasks: deployment.deploymentCircuitBreaker?.failureCount ?? previous.failedTasks,
    triggeredAlarms: deployment.alarms?.triggeredAlarmNames ?? previous.triggeredAlarms,
  };
}

/** ECS's circuit-breaker threshold: half the desired count, at least 3, at most 200. */
function failureThreshold(desired: number): number {
  return Math.min(200, Math.max(3, Math.ceil(desired / 2)));
}

/**
 * A completed deployment scaled up (a wake): done at ECS's steady state, one deployment with running =
 * desired and ECS reporting it. The circuit breaker watches only deployments in progress, so the watch
 * applies its threshold itself.
 */
function fromScaling(service: Service, watched: WatchedDeployment, failedTasksBefore: number): DeploymentProgress {
  const ours = service.deployments?.find((deployment) => deployment.id === watched.deploymentId);
  if (!ours) return { ...watched, status: 'failed', statusReason: 'a new deployment replaced the one being scaled' };
  // The service's counts, as ECS's services-stable waiter reads them: the deployment's desired count may lag behind an UpdateService.
  const progress = {
    ...watched,
    running: service.runningCount ?? 0,
    pending: service.pendingCount ?? 0,
    desired: service.desiredCount ?? 0,
    failedTasks: Math.max(0, (ours.failedTasks ?? 0) - failedTasksBefore),
  };
  // ECS says "has reached a steady state" once the tasks are also healthy behind their load balancer.
  const reported = (service.events ?? []).some(
    (event) => event.message?.includes('has reached a steady state') && event.createdAt !== undefined && event.createdAt >= watched.startedAt,
  );
  const steady = reported && service.deployments?.length === 1 && progress.running === progress.desired && progress.pending === 0;
  if (steady) return { ...progress, status: 'successful', statusReason: 'steady state' };
  if (progress.failedTasks >= failureThreshold(progress.desired)) {
    return { ...progress, status: 'failed', statusReason: `${progress.failedTasks} tasks failed to start while scaling up` };
  }
  return { ...progress, status: 'in-progress' };
}

/** Where the service deployments API is unavailable: the deployment's rolloutState in service.deployments. */
function fromServiceDeployments(service: Service, watched: WatchedDeployment): DeploymentProgress {
  const ours = service.deployments?.find((deployment) => deployment.id === watched.deploymentId);
  const primary = service.deployments?.find((deployment) => deployment.status === 'PRIMARY');
  const rolledBack = ours?.rolloutState === 'FAILED' && primary && primary.id !== watched.deploymentId;
  return {
    ...watched,
    status:
      ours?.rolloutState === 'COMPLETED' ? 'successful' : rolledBack ? 'rolled-back' : ours?.rolloutState === 'FAILED' || !ours ? 'failed' : 'in-progress',
    statusReason: ours?.rolloutStateReason ?? watched.statusReason,
    running: ours?.runningCount ?? watched.running,
    pending: ours?.pendingCount ?? watched.pending,
    desired: ours?.desiredCount ?? watched.desired,
    failedTasks: ours?.failedTasks ?? watched.failedTasks,
    rolledBackTo: rolledBack ? primary?.taskDefinition : watched.rolledBackTo,
  };
}

const HEARTBEAT_MS = 30_000;

/** What happens in a lifecycle stage that lasts, in a person's words. */
const stageWords: Record<string, string> = {
  SCALE_UP: 'starting the new revision beside the old one',
  PRODUCTION_TRAFFIC_SHIFT: 'production traffic moving to the new revision',
  BAKE_TIME: 'all traffic on the new revision; the old one stays ready until the bake time ends',
  CLEAN_UP: 'stopping the old revision',
};

function describeLine(deployment: WatchedDeployment): string {
  const counts = `${deployment.running}/${deployment.desired} running, ${deployment.pending} pending, ${deployment.failedTasks} failed`;
  const stage = deployment.stages.at(-1);
  const next =
    deployment.status !== 'in-progress'
      ? deployment.status
      : stage && stageWords[stage.stage]
        ? stageWords[stage.stage]
        : deployment.desired === 0
          ? 'waiting for ECS to start the new tasks'
          : deployment.running < deployment.desired
            ? 'waiting for new tasks to start'
            : 'new tasks running; waiting for health checks and for old tasks to drain';
  return `${deployment.serviceName} → ${revisionName(deployment.taskDefinitionArn)}: ${counts}; ${next}`;
}

function stageLine(deployment: WatchedDeployment, seen: StageSeen): string {
  const share = seen.share === undefined ? '' : `, ${seen.share}% of production traffic on ${revisionName(deployment.taskDefinitionArn)}`;
  return `${deployment.serviceName}: stage ${seen.stage}${share}`;
}

/** The task definition a rolled-back deployment returned to, from the service revision ECS rolled back to. */
async function rollbackTaskDefinition(ecs: ECSClient, deployment: ServiceDeployment): Promise<string | undefined> {
  const revisionArn = deployment.rollback?.serviceRevisionArn;
  if (!revisionArn) return undefined;
  const response = await awsCall('DescribeServiceRevisions', revisionArn, () =>
    ecs.send(new DescribeServiceRevisionsCommand({ serviceRevisionArns: [revisionArn] })),
  );
  return response.serviceRevisions?.[0]?.taskDefinition;
}

/**
 * Polls every deployment until each has ended (successful, rolled back or failed) or the timeout
 * passes. Progress lines go out on every poll; new service events as they appear.
 */
export async function watchDeployments(
  ecs: ECSClient,
  started: StartedDeployment[],
  options: { clock: Clock; timeoutSeconds: number; progress: Progress; elb?: ElasticLoadBalancingV2Client | undefined; intervals?: PollIntervals | undefined },
): Promise<EndedDeployment[]> {
  let watched: WatchedDeployment[] = started.map((deployment) => ({
    ...deployment,
    status: deployment.unchanged ? 'skipped' : 'in-progress',
    statusReason: deployment.unchanged ? 'the service already runs this revision' : undefined,
    ...noProgress,
    events: [],
    triggeredAlarms: [],
    stages: [],
  }));
  const seenEvents = new Set<string>();
  const lastPrinted = new Map<string, { line: string; at: number }>();
  const cluster = started[0]?.cluster ?? '';

  const outcome = await pollUntil({
    clock: options.clock,
    timeoutSeconds: options.timeoutSeconds,
    ...(options.intervals ? { intervals: options.intervals } : {}),
    poll: async () => {
      const active = watched.filter((deployment) => deployment.status === 'in-progress');
      const withArn = active.filter((deployment) => deployment.serviceDeploymentArn);
      const [serviceDeployments, services] = await Promise.all([
        Promise.all(
          chunk(withArn, 20).map((batch) =>
            awsCall('DescribeServiceDeployments', batch.map((d) => d.serviceName).join(', '), () =>
              ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: batch.map((d) => d.serviceDeploymentArn as string) })),
            ),
          ),
        ),
        Promise.all(
          chunk(active, 10).map((batch) =>
            awsCall('DescribeServices', batch.map((d) => d.serviceName).join(', '), () =>
              ecs.send(new DescribeServicesCommand({ cluster, services: batch.map((d) => d.serviceName) })),
            ),
          ),
        ),
      ]);
      const deploymentByArn = new Map(serviceDeployments.flatMap((r) => r.serviceDeployments ?? []).map((d) => [d.serviceDeploymentArn, d]));
      // Read after the deployments, so a share is never older than the stage printed beside it.
      const shifting = active.filter((d) => d.shift && deploymentByArn.get(d.serviceDeploymentArn)?.lifecycleStage);
      const shares = options.elb
        ? await greenShares(
            options.elb,
            shifting.map((d) => d.shift as NonNullable<typeof d.shift>),
          )
        : new Map();
      const serviceByName = new Map(services.flatMap((r) => r.services ?? []).map((s) => [s.serviceName, s]));
      let changed = false;
      const next: WatchedDeployment[] = [];
      for (const deployment of watched) {
        if (deployment.status !== 'in-progress') {
          next.push(deployment);
          continue;
        }
        const service = serviceByName.get(deployment.serviceName);
        const fresh: string[] = [];
        for (const event of [...(service?.events ?? [])].reverse()) {
          if (!event.id || seenEvents.has(event.id) || (event.createdAt && event.createdAt < deployment.startedAt)) continue;
          seenEvents.add(event.id);
          fresh.push(event.message ?? '');
        }
        const serviceDeployment = deployment.serviceDeploymentArn ? deploymentByArn.get(deployment.serviceDeploymentArn) : undefined;
        const progress = serviceDeployment
          ? fromServiceDeployment(serviceDeployment, deployment)
          : service && deployment.scaling
            ? fromScaling(service, deployment, deployment.scaling.failedTasksBefore)
            : service
              ? fromServiceDeployments(service, deployment)
              : deployment;
        const updated: WatchedDeployment = { ...deployment, ...progress, events: [...deployment.events, ...fresh] };
        if (updated.status === 'rolled-back' && serviceDeployment && !updated.rolledBackTo) {
          updated.rolledBackTo = (await rollbackTaskDefinition(ecs, serviceDeployment)) ?? deployment.previousTaskDefinitionArn;
        }
        for (const message of fresh) options.progress.line(`event: ${message}`);
        const stage = serviceDeployment?.lifecycleStage;
        if (stage && updated.shift) {
          const seen: StageSeen = { stage, share: shares.get(updated.shift) };
          const last = updated.stages.at(-1);
          if (last?.stage !== seen.stage || last.share !== seen.share) {
            updated.stages = [...updated.stages, seen];
            options.progress.line(stageLine(updated, seen));
            changed = true;
          }
        }
        const line = describeLine(updated);
        if (line !== describeLine(deployment) || fresh.length > 0) changed = true;
        // A line that says nothing new is repeated only now and then, to show the watch is alive.
        const printed = lastPrinted.get(updated.serviceName);
        if (!printed || printed.line !== line || options.clock.now() - printed.at >= HEARTBEAT_MS) {
          options.progress.line(line);
          lastPrinted.set(updated.serviceName, { line, at: options.clock.now() });
        }
        next.push(updated);
      }
      watched = next;
      return { done: watched.every((deployment) => deployment.status !== 'in-progress'), changed, value: watched };
    },
  });
  return outcome.value.map((deployment) => ({ ...deployment, status: deployment.status === 'in-progress' ? 'timed-out' : deployment.status }));
}
