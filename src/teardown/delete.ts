// Deleting what an environment owns, in reverse-dependency order. Each step treats "already gone" as
// done, so a second run, or a run after an interrupted one, finishes the job.
import { type CloudWatchLogsClient, DeleteLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { BatchDeleteImageCommand, type ECRClient } from '@aws-sdk/client-ecr';
import { DeleteServiceCommand, DescribeServicesCommand, type ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import {
  DeleteRuleCommand,
  DeleteTargetGroupCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { awsCall, sdkErrorName, wrapAwsError } from '../aws.ts';
import { deleteRevisions } from '../ecs/prune.ts';
import type { Identity } from '../environment.ts';
import { ActionError } from '../errors.ts';
import { deleteAliasRecord, parseDnsRecordTag } from '../provision/dns.ts';
import type { Progress } from '../report.ts';
import { type Clock, pollUntil } from '../watch.ts';
import type { Found, Inventory } from './discover.ts';

export interface TeardownContext {
  route53: Route53Client;
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  logs: CloudWatchLogsClient;
  ecr: ECRClient;
  clock: Clock;
  progress: Progress;
}

export interface TeardownOptions {
  identity: Identity;
  timeoutSeconds: number;
  keepLogs: boolean;
  /** The repository the inventory's image tags are in. */
  imageRepository?: string | undefined;
}

/** Runs a delete call; a "not found" answer means it is already gone. */
async function gone(operation: string, id: string, notFound: string[], call: () => Promise<unknown>): Promise<boolean> {
  try {
    await call();
    return true;
  } catch (error) {
    if (notFound.includes(sdkErrorName(error) ?? '')) return false;
    throw wrapAwsError(operation, id, error);
  }
}

export async function deleteInventory(context: TeardownContext, inventory: Inventory, options: TeardownOptions): Promise<Found[]> {
  const { ecs, elb, logs, ecr, progress } = context;
  const deleted: Found[] = [];

  // First, so the name stops leading to the environment before it goes.
  if (inventory.records.length > 0) {
    progress.phase('Deleting DNS records');
    for (const found of inventory.records) {
      const parsed = parseDnsRecordTag(found.id);
      if (parsed && (await deleteAliasRecord(context.route53, parsed.hostedZoneId, parsed.host, options.identity, found.aliasTarget)))
        progress.line(`deleted ${parsed.host}'s ownership record, and its alias if it still pointed at this environment's load balancer`);
      deleted.push(found);
    }
  }

  if (inventory.services.length > 0) {
    progress.phase('Stopping and deleting the service');
    for (const service of inventory.services) {
      const name = service.serviceName ?? '';
      if (service.status === 'ACTIVE' && (service.desiredCount ?? 0) > 0) {
        progress.line(`${name}: scaling to 0 (from ${service.desiredCount})`);
        await awsCall('UpdateService', `service ${name}`, () =>
          ecs.send(new UpdateServiceCommand({ cluster: options.identity.cluster, service: name, desiredCount: 0 })),
        );
      }
      if (service.status === 'ACTIVE') {
        await gone('DeleteService', name, ['ServiceNotFoundException', 'ServiceNotActiveException'], () =>
          ecs.send(new DeleteServiceCommand({ cluster: options.identity.cluster, service: name, force: true })),
        );
        progress.line(`${name}: deleted; draining`);
      }
      deleted.push({ kind: 'service', id: service.serviceArn ?? '', name });
    }
    const names = inventory.services.map((service) => service.serviceName ?? '');
    const drained = await pollUntil({
      clock: context.clock,
      timeoutSeconds: options.timeoutSeconds,
      poll: async () => {
        const response = await awsCall('DescribeServices', names.join(', '), () =>
          ecs.send(new DescribeServicesCommand({ cluster: options.identity.cluster, services: names })),
        );
        const draining = (response.services ?? []).filter((service) => service.status !== 'INACTIVE');
        progress.line(
          draining.length === 0
            ? 'services INACTIVE'
            : `waiting for ${draining.map((s) => `${s.serviceName} (${s.runningCount} running)`).join(', ')} to drain`,
        );
        return { done: draining.length === 0, changed: false, value: draining.length };
      },
    });
    if (drained.timedOut) throw new ActionError('The service did not finish draining within the timeout; run teardown again to finish.', 'raise timeout.');
  }

  if (inventory.rules.length > 0) {
    progress.phase('Deleting listener rules');
    for (const rule of inventory.rules) {
      await gone('DeleteRule', rule.id, ['RuleNotFoundException'], () => elb.send(new DeleteRuleCommand({ RuleArn: rule.id })));
      progress.line(`deleted rule ${rule.name}`);
      deleted.push(rule);
    }
  }

  if (inventory.targetGroups.length > 0) {
    progress.phase('Deleting target groups');
    for (const group of inventory.targetGroups) {
      // Deleting a target group that still drains targets fails with ResourceInUse: wait for it to empty.
      const empty = await pollUntil({
        clock: context.clock,
        timeoutSeconds: options.timeoutSeconds,
        poll: async () => {
          const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: group.id })).catch((error: unknown) => {
            if (sdkErrorName(error) === 'TargetGroupNotFoundException') return { TargetHealthDescriptions: [] };
            throw wrapAwsError('DescribeTargetHealth', group.name, error);
          });
          const targets = health.TargetHealthDescriptions?.length ?? 0;
          if (targets > 0) progress.line(`${group.name}: ${targets} targets still draining`);
          return { done: targets === 0, changed: false, value: targets };
        },
      });
      if (empty.timedOut)
        throw new ActionError(`Target group ${group.name} still has targets after the timeout; run teardown again to finish.`, 'raise timeout.');
      await gone('DeleteTargetGroup', group.name, ['TargetGroupNotFoundException'], () => elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: group.id })));
      progress.line(`deleted target group ${group.name}`);
      deleted.push(group);
    }
  }

  if (inventory.taskDefinitions.length > 0) {
    progress.phase('Deregistering and deleting task definitions');
    await deleteRevisions(
      ecs,
      inventory.taskDefinitions.map((revision) => revision.id),
      new Set(inventory.taskDefinitions.filter((revision) => revision.inactive).map((revision) => revision.id)),
    );
    progress.line(`deleted ${inventory.taskDefinitions.map((revision) => revision.name).join(', ')}`);
    deleted.push(...inventory.taskDefinitions);
  }

  if (inventory.logGroups.length > 0 && !options.keepLogs) {
    progress.phase('Deleting the log group');
    for (const group of inventory.logGroups) {
      await gone('DeleteLogGroup', group.name, ['ResourceNotFoundException'], () => logs.send(new DeleteLogGroupCommand({ logGroupName: group.id })));
      progress.line(`deleted log group ${group.name}`);
      deleted.push(group);
    }
  }

  if (inventory.images.length > 0 && options.imageRepository) {
    progress.phase('Deleting image tags');
    const repository = options.imageRepository;
    const response = await awsCall('BatchDeleteImage', repository, () =>
      ecr.send(new BatchDeleteImageCommand({ repositoryName: repository, imageIds: inventory.images.map((image) => ({ imageTag: image.id })) })),
    );
    for (const image of inventory.images.filter((candidate) => response.imageIds?.some((id) => id.imageTag === candidate.id))) {
      progress.line(`deleted ${image.name}`);
      deleted.push(image);
    }
  }
  return deleted;
}
