// Starting a deployment: UpdateService with the circuit breaker on (and the strategy asked for), then finding the service
// deployment it started, so the watch follows that deployment and not "is the service stable".
import { type ECSClient, ListServiceDeploymentsCommand, type Service, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsCall, sdkErrorName, wrapAwsError } from '../aws.ts';
import { ActionError } from '../errors.ts';
import { deploymentConfiguration, effectiveStrategy, plannedShift, type StrategyRequest, shiftsTraffic, type TrafficShift } from './strategy.ts';

export interface StartedDeployment {
  cluster: string;
  serviceName: string;
  /** The task definition the service ran before. */
  previousTaskDefinitionArn: string;
  taskDefinitionArn: string;
  /** The ecs-svc/... id of the PRIMARY deployment in service.deployments. */
  deploymentId: string;
  /** Absent where the service deployments API is not available; the watch then reads service.deployments. */
  serviceDeploymentArn: string | undefined;
  startedAt: Date;
  /** UpdateService changed nothing: the service already runs this revision and no new deployment was forced. */
  unchanged: boolean;
  /**
   * Set when only the desired count changed (a wake from sleep): ECS starts no new deployment, so the
   * watch waits for steady state on the PRIMARY one, counting failed tasks from this baseline.
   */
  scaling?: { failedTasksBefore: number } | undefined;
  /** For blue/green, canary and linear deployments (when an ELB client is given): the rule and groups traffic moves between. */
  shift?: TrafficShift | undefined;
}

export interface DeploymentRequest {
  taskDefinitionArn: string;
  desiredCount?: number | undefined;
  forceNewDeployment: boolean;
  enableExecuteCommand?: boolean | undefined;
  strategy?: StrategyRequest | undefined;
}

function primaryDeployment(service: Service | undefined) {
  return service?.deployments?.find((deployment) => deployment.status === 'PRIMARY');
}

export async function startDeployment(
  clients: { ecs: ECSClient; elb?: ElasticLoadBalancingV2Client | undefined },
  cluster: string,
  service: Service,
  request: DeploymentRequest,
): Promise<StartedDeployment> {
  const { ecs, elb } = clients;
  const serviceName = service.serviceName ?? '';
  const controller = service.deploymentController?.type ?? 'ECS';
  if (controller !== 'ECS') {
    throw new ActionError(
      `Service ${serviceName} uses the ${controller} deployment controller; this step deploys through the ECS controller (rolling, blue/green, canary or linear).`,
      'deploy this service with its own controller (CodeDeploy or external), or recreate it with the ECS controller.',
    );
  }
  const before = primaryDeployment(service);
  // ECS Exec reaches only tasks started after the setting changes: a change starts fresh tasks.
  const execChanges = request.enableExecuteCommand !== undefined && request.enableExecuteCommand !== (service.enableExecuteCommand ?? false);
  const shift = elb && shiftsTraffic(effectiveStrategy(service, request.strategy)) ? await plannedShift(elb, service) : undefined;
  const response = await awsCall('UpdateService', `service ${serviceName} in cluster ${cluster}`, () =>
    ecs.send(
      new UpdateServiceCommand({
        cluster,
        service: serviceName,
        taskDefinition: request.taskDefinitionArn,
        desiredCount: request.desiredCount,
        forceNewDeployment: request.forceNewDeployment || execChanges,
        enableExecuteCommand: request.enableExecuteCommand,
        deploymentConfiguration: deploymentConfiguration(service, request.strategy),
      }),
    ),
  );
  const primary = primaryDeployment(response.service);
  if (!primary?.id) throw new ActionError(`UpdateService for ${serviceName} returned no PRIMARY deployment.`, 'retry the step; if it persists, report it.');
  const sameDeployment = primary.id === before?.id;
  // Only the desired count changed: ECS scales the current deployment, which is followed to steady state.
  const scaled = sameDeployment && request.desiredCount !== undefined && request.desiredCount !== service.desiredCount;
  const startedAt = scaled ? (lastEventTime(service) ?? new Date()) : (primary.createdAt ?? new Date());
  return {
    cluster,
    serviceName,
    previousTaskDefinitionArn: service.taskDefinition ?? '',
    taskDefinitionArn: request.taskDefinitionArn,
    deploymentId: primary.id,
    serviceDeploymentArn: sameDeployment ? undefined : await findServiceDeployment(ecs, cluster, serviceName, startedAt),
    startedAt,
    unchanged: sameDeployment && !scaled,
    scaling: scaled ? { failedTasksBefore: primary.failedTasks ?? 0 } : undefined,
    shift,
  };
}

/** Just after the service's newest event, so a watch shows (and counts) only what happens from now on. */
export function lastEventTime(service: Service): Date | undefined {
  const times = (service.events ?? []).map((event) => event.createdAt?.getTime() ?? 0);
  return times.length > 0 ? new Date(Math.max(...times) + 1) : undefined;
}

// Errors meaning "this account or region has no service deployments API for us": fall back, do not fail.
const apiUnavailable = new Set(['UnknownOperationException', 'AccessDeniedException', 'UnsupportedFeatureException']);

/** The newest service deployment created at or after `createdAfter` (with a second of clock skew). */
export async function findServiceDeployment(ecs: ECSClient, cluster: string, service: string, createdAfter: Date): Promise<string | undefined> {
  try {
    const response = await ecs.send(new ListServiceDeploymentsCommand({ cluster, service, createdAt: { after: new Date(createdAfter.getTime() - 1000) } }));
    const newest = [...(response.serviceDeployments ?? [])].sort((a, b) => (b.createdAt?.getTime() ?? 0) - (a.createdAt?.getTime() ?? 0))[0];
    return newest?.serviceDeploymentArn;
  } catch (error) {
    if (apiUnavailable.has(sdkErrorName(error) ?? '')) return undefined;
    throw wrapAwsError('ListServiceDeployments', `service ${service} in cluster ${cluster}`, error);
  }
}
