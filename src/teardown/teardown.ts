// Tearing down one environment: find what it owns by tags, then delete it in reverse-dependency
// order (or, in a dry run, only say what would go). Shared by environment mode and sweep mode.
import type { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import type { ECRClient } from '@aws-sdk/client-ecr';
import type { ECSClient } from '@aws-sdk/client-ecs';
import type { ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { describeIdentity, type Identity, otherRepositoryError } from '../environment.ts';
import type { Progress } from '../report.ts';
import type { Clock } from '../watch.ts';
import { deleteInventory } from './delete.ts';
import { discover, type Found } from './discover.ts';
import { discoverImages } from './images.ts';

export interface TeardownClients {
  route53: Route53Client;
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  logs: CloudWatchLogsClient;
  ecr: ECRClient;
}

export interface EnvironmentTeardown {
  identity: Identity;
  listenerArn?: string | undefined;
  keepLogs: boolean;
  /** Delete the environment's image tag from this repository too. */
  imageRepository?: string | undefined;
  timeoutSeconds: number;
  dryRun: boolean;
}

export interface TeardownOutcome {
  /** What the environment owns (and would be deleted in a dry run). */
  planned: Found[];
  deleted: Found[];
  /** Named like the environment's resources but not owned by it: left untouched. */
  foreign: Found[];
}

export async function teardownEnvironment(
  context: TeardownClients & { clock: Clock; progress: Progress },
  options: EnvironmentTeardown,
): Promise<TeardownOutcome> {
  const { progress } = context;
  const { identity } = options;
  const { environment } = identity;
  progress.phase(`Finding what ${describeIdentity(identity)} owns`);
  const inventory = await discover(context, { identity, listenerArn: options.listenerArn });
  // Every repository has a pr-1: another's of this cluster is refused whole, before anything is deleted.
  const [claimed] = inventory.claimed;
  if (claimed) throw otherRepositoryError(identity, claimed.repository, `${claimed.kind} ${claimed.name}`);
  if (options.imageRepository) inventory.images = await discoverImages(context.ecr, options.imageRepository, environment);
  const planned: Found[] = [
    ...inventory.records,
    ...inventory.services.map((service) => ({ kind: 'service' as const, id: service.serviceArn ?? '', name: service.serviceName ?? '' })),
    ...inventory.rules,
    ...inventory.targetGroups,
    ...inventory.taskDefinitions,
    ...(options.keepLogs ? [] : inventory.logGroups),
    ...inventory.images,
  ];
  for (const found of planned) progress.line(`${options.dryRun ? 'would delete' : 'to delete'}: ${found.kind} ${found.name}`);
  for (const found of inventory.foreign) progress.line(`left untouched (not owned by ${environment}): ${found.kind} ${found.name}`);

  if (options.dryRun || planned.length === 0) {
    progress.line(planned.length === 0 ? `Nothing owned by ${environment} is left: nothing to delete.` : 'Dry run: nothing deleted.');
    return { planned, deleted: [], foreign: inventory.foreign };
  }
  const deleted = await deleteInventory(context, inventory, {
    identity,
    timeoutSeconds: options.timeoutSeconds,
    keepLogs: options.keepLogs,
    imageRepository: options.imageRepository,
  });
  return { planned, deleted, foreign: inventory.foreign };
}
