// The deploy engine shared by rollout and rollback: start a deployment on each service, follow them
// to their end, and gather the evidence for any that failed.
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { type ContainerDefinition, DescribeServicesCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsCall } from '../aws.ts';
import { chunk } from '../list.ts';
import type { Progress } from '../report.ts';
import type { Clock } from '../watch.ts';
import { type StartedDeployment, startDeployment } from './deploy.ts';
import { classifyFailure, type FailureReason } from './diagnosis.ts';
import { maskSecretLikeEnvironment } from './hardening.ts';
import { type StoppedTask, stoppedTasks } from './stopped-tasks.ts';
import { deploymentConfiguration, describeStrategy, type StrategyRequest } from './strategy.ts';
import { type DeploymentStatus, type EndedDeployment, noProgress, watchDeployments } from './watch-deployments.ts';

export interface Diagnosis {
  reason: FailureReason;
  stoppedTasks: StoppedTask[];
}

/** What a service runs once a deployment of it ended badly: each revision with its running tasks. */
export interface Serving {
  desired: number;
  revisions: { taskDefinitionArn: string; running: number }[];
}

export interface DeploymentResult extends EndedDeployment {
  diagnosis: Diagnosis | undefined;
  /** After a failure, what the service serves now (the revision ECS rolled back to, say). */
  serving?: Serving | undefined;
}

export interface EngineContext {
  ecs: ECSClient;
  logs: CloudWatchLogsClient;
  /** With it, blue/green, canary and linear deployments report the traffic on the new revision. */
  elb?: ElasticLoadBalancingV2Client | undefined;
  clock: Clock;
  progress: Progress;
}

export interface DeployTarget {
  service: Service;
  taskDefinitionArn: string;
  /** The revision's containers, for finding their logs. */
  containers: ContainerDefinition[];
}

export interface DeployRequest {
  cluster: string;
  targets: DeployTarget[];
  desiredCount?: number | undefined;
  forceNewDeployment: boolean;
  /** ECS Exec on the services' tasks; left out, each service keeps its setting. */
  enableExecuteCommand?: boolean | undefined;
  strategy?: StrategyRequest | undefined;
  wait: boolean;
  timeoutSeconds: number;
}

/** Starts one deployment per service (in parallel); with wait, follows them and diagnoses failures. */
export async function deploy(
  context: EngineContext,
  request: DeployRequest,
): Promise<{ started: StartedDeployment[]; results: DeploymentResult[] | undefined }> {
  const { progress } = context;
  progress.phase(`Deploying to ${request.targets.length === 1 ? 'service' : `${request.targets.length} services`}`);
  // One service refusing its update must not leave the others' deployments unwatched.
  const attempts = await Promise.allSettled(
    request.targets.map((target) =>
      startDeployment(context, request.cluster, target.service, {
        taskDefinitionArn: target.taskDefinitionArn,
        desiredCount: request.desiredCount,
        forceNewDeployment: request.forceNewDeployment,
        enableExecuteCommand: request.enableExecuteCommand,
        strategy: request.strategy,
      }),
    ),
  );
  const started: StartedDeployment[] = [];
  const refused: DeploymentResult[] = [];
  attempts.forEach((attempt, index) => {
    const target = request.targets[index] as DeployTarget;
    if (attempt.status === 'fulfilled') started.push(attempt.value);
    else refused.push(notStarted(request.cluster, target, attempt.reason));
  });
  for (const result of refused) progress.line(`${result.serviceName}: the update was refused: ${result.statusReason}`);
  for (const deployment of started) {
    const service = request.targets.find((target) => target.service.serviceName === deployment.serviceName)?.service ?? {};
    progress.line(
      deployment.unchanged
        ? `${deployment.serviceName}: already on this revision; nothing to deploy`
        : `${deployment.serviceName}: deployment ${deployment.serviceDeploymentArn ?? deployment.deploymentId} started, ${describeStrategy(deploymentConfiguration(service, request.strategy))}`,
    );
  }
  if (!request.wait) return { started, results: refused.length > 0 ? refused : undefined };

  const results = await follow(context, started, request.targets, request.timeoutSeconds);
  return { started, results: [...results, ...refused] };
}

/** Follows started deployments to their end and gathers the evidence for those that failed. */
export async function follow(
  context: EngineContext,
  started: StartedDeployment[],
  targets: DeployTarget[],
  timeoutSeconds: number,
  phase = 'Waiting for the deployment to finish',
): Promise<DeploymentResult[]> {
  const { ecs, progress } = context;
  for (const target of targets) maskSecretLikeEnvironment(target.containers);
  progress.phase(phase);
  const watched = await watchDeployments(ecs, started, { clock: context.clock, timeoutSeconds, progress, elb: context.elb });
  const serving = await servingNow(
    ecs,
    watched.filter((deployment) => isFailure(deployment.status)),
  );
  return Promise.all(
    watched.map(async (deployment): Promise<DeploymentResult> => {
      if (!isFailure(deployment.status)) return { ...deployment, diagnosis: undefined };
      const evidence = await stoppedTasks(ecs, context.logs, {
        cluster: deployment.cluster,
        serviceName: deployment.serviceName,
        taskDefinitionArn: deployment.taskDefinitionArn,
        since: deployment.startedAt,
        containers: targets.find((target) => target.service.serviceName === deployment.serviceName)?.containers ?? [],
      });
      const reason =
        deployment.triggeredAlarms.length > 0
          ? 'alarm'
          : deployment.status === 'timed-out' && evidence.length === 0
            ? 'timeout'
            : classifyFailure(
                evidence.map((stopped) => stopped.task),
                deployment.events,
              );
      return { ...deployment, diagnosis: { reason, stoppedTasks: evidence }, serving: serving.get(deployment.serviceName) };
    }),
  );
}

/** Each service's deployments as ECS reports them now: the revisions that serve, and how many tasks each runs. */
async function servingNow(ecs: ECSClient, deployments: EndedDeployment[]): Promise<Map<string, Serving>> {
  const serving = new Map<string, Serving>();
  for (const batch of chunk(deployments, 10)) {
    const names = batch.map((deployment) => deployment.serviceName);
    const response = await awsCall('DescribeServices', names.join(', '), () =>
      ecs.send(new DescribeServicesCommand({ cluster: batch[0]?.cluster, services: names })),
    );
    for (const service of response.services ?? []) {
      const revisions = (service.deployments ?? [])
        .filter((deployment) => (deployment.runningCount ?? 0) > 0 || deployment.status === 'PRIMARY')
        .map((deployment) => ({ taskDefinitionArn: deployment.taskDefinition ?? '', running: deployment.runningCount ?? 0 }));
      serving.set(service.serviceName ?? '', { desired: service.desiredCount ?? 0, revisions });
    }
  }
  return serving;
}

function notStarted(cluster: string, target: DeployTarget, error: unknown): DeploymentResult {
  return {
    cluster,
    serviceName: target.service.serviceName ?? '',
    previousTaskDefinitionArn: target.service.taskDefinition ?? '',
    taskDefinitionArn: target.taskDefinitionArn,
    deploymentId: '',
    serviceDeploymentArn: undefined,
    startedAt: new Date(),
    unchanged: false,
    status: 'failed',
    statusReason: error instanceof Error ? error.message : String(error),
    ...noProgress,
    events: [],
    diagnosis: undefined,
  };
}

export function isFailure(status: DeploymentStatus): boolean {
  return status === 'rolled-back' || status === 'failed' || status === 'timed-out';
}

/** One status for a run over several services: the worst of theirs. */
export function overallStatus(statuses: DeploymentStatus[]): DeploymentStatus {
  const order: DeploymentStatus[] = ['failed', 'rolled-back', 'timed-out', 'successful', 'skipped'];
  return order.find((status) => statuses.includes(status)) ?? 'skipped';
}
