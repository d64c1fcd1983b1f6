// What an environment owns, found by our tags (never by name alone), and the look-alikes it does not own.
import { type CloudWatchLogsClient, DescribeLogGroupsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTaskDefinitionCommand, type ECSClient, ListTaskDefinitionsCommand, type Service } from '@aws-sdk/client-ecs';
import { DescribeListenersCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsCall } from '../aws.ts';
import { listClusterServices, tagsOf } from '../ecs/services.ts';
import { familyOf } from '../ecs/task-definition.ts';
import { allTargetGroups, listenerRules } from '../elb/describe.ts';
import { describeElbTags } from '../elb/tags.ts';
import { environmentNames, isOwnedBy, ownerOf } from '../environment.ts';
import { TAG_DNS_RECORD } from '../provision/dns.ts';

export interface Found {
  kind: 'DNS record' | 'service' | 'listener rule' | 'target group' | 'task definition' | 'log group' | 'image tag';
  /** ARN or name, as the delete call takes it. */
  id: string;
  /** For people. */
  name: string;
  /** A task definition already deregistered by an earlier, interrupted teardown. */
  inactive?: boolean;
}

export interface Inventory {
  /** Alias records provision made with hosted-zone-id, named by its tag on the target group: `<zone>/<host>`. */
  records: Found[];
  services: Service[];
  rules: Found[];
  targetGroups: Found[];
  taskDefinitions: Found[];
  logGroups: Found[];
  /** Filled by discoverImages when image tags are to be deleted too. */
  images: Found[];
  /** Resources named like the environment's that it does not own: reported, never touched. */
  foreign: Found[];
}

export async function discover(
  clients: { ecs: ECSClient; elb: ElasticLoadBalancingV2Client; logs: CloudWatchLogsClient },
  options: { cluster: string; environment: string; listenerArn?: string | undefined },
): Promise<Inventory> {
  const { ecs, elb, logs } = clients;
  const { cluster, environment } = options;
  const names = environmentNames(cluster, environment);
  const foreign: Found[] = [];

  // A DRAINING one was deleted by a teardown stopped before it drained: waited for again, so its target group is free to delete.
  const clusterServices = await listClusterServices(ecs, cluster, ['ACTIVE', 'DRAINING']).catch((error: Error) => {
    // A cluster that is gone holds no services.
    if (/ClusterNotFoundException/.test(error.message)) return [] as Service[];
    throw error;
  });
  const services = clusterServices.filter((service) => isOwnedBy(tagsOf(service), environment));
  for (const service of clusterServices) {
    if (service.serviceName === names.service && !services.includes(service)) {
      foreign.push({
        kind: 'service',
        id: service.serviceArn ?? '',
        name: `${service.serviceName} (owner: ${ownerOf(tagsOf(service)) ?? 'not ecs-deploy-actions'})`,
      });
    }
  }

  // Target groups: ours by tag; same-named ones that are not ours are reported.
  const groups = await allTargetGroups(elb);
  const groupTags = await describeElbTags(
    elb,
    groups.map((group) => group.TargetGroupArn ?? ''),
  );
  const owned = groups.filter((group) => isOwnedBy(groupTags.get(group.TargetGroupArn ?? '') ?? {}, environment));
  for (const group of groups) {
    if ((group.TargetGroupName === names.targetGroup || group.TargetGroupName === names.alternateTargetGroup) && !owned.includes(group)) {
      foreign.push({ kind: 'target group', id: group.TargetGroupArn ?? '', name: group.TargetGroupName ?? '' });
    }
  }

  // Listener rules live on the listeners of our target groups' load balancers (and the given listener).
  const listenerArns = new Set<string>(options.listenerArn ? [options.listenerArn] : []);
  for (const loadBalancerArn of new Set(owned.flatMap((group) => group.LoadBalancerArns ?? []))) {
    const listeners = await awsCall('DescribeListeners', loadBalancerArn, () => elb.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn })));
    for (const listener of listeners.Listeners ?? []) listenerArns.add(listener.ListenerArn ?? '');
  }
  const ruleArns: string[] = [];
  for (const listenerArn of listenerArns) {
    ruleArns.push(...(await listenerRules(elb, listenerArn)).filter((rule) => !rule.IsDefault).map((rule) => rule.RuleArn ?? ''));
  }
  const ruleTags = await describeElbTags(elb, ruleArns);
  const rules = ruleArns
    .filter((arn) => isOwnedBy(ruleTags.get(arn) ?? {}, environment))
    .map((arn) => ({ kind: 'listener rule' as const, id: arn, name: arn.split('/').slice(-3).join('/') }));

  // Task definitions of the environment's family, ACTIVE and INACTIVE, each checked for our tags.
  const taskDefinitions: Found[] = [];
  for (const status of ['ACTIVE', 'INACTIVE'] as const) {
    let nextToken: string | undefined;
    do {
      const page = await awsCall('ListTaskDefinitions', `family ${names.family}`, () =>
        ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: names.family, status, nextToken })),
      );
      for (const arn of (page.taskDefinitionArns ?? []).filter((candidate) => familyOf(candidate) === names.family)) {
        const described = await awsCall('DescribeTaskDefinition', arn, () =>
          ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] })),
        );
        const tags = Object.fromEntries((described.tags ?? []).map((tag) => [tag.key ?? '', tag.value ?? '']));
        const found: Found = { kind: 'task definition', id: arn, name: arn.split('/').pop() ?? arn, inactive: status === 'INACTIVE' };
        if (isOwnedBy(tags, environment)) taskDefinitions.push(found);
        else foreign.push(found);
      }
      nextToken = page.nextToken;
    } while (nextToken);
  }

  // The log group, by its exact name and our tags.
  const logGroups: Found[] = [];
  const described = await awsCall('DescribeLogGroups', names.logGroup, () => logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: names.logGroup })));
  for (const group of (described.logGroups ?? []).filter((candidate) => candidate.logGroupName === names.logGroup)) {
    const arn = (group.arn ?? '').replace(/:\*$/, '');
    const tagged = await awsCall('ListTagsForResource', names.logGroup, () => logs.send(new ListTagsForResourceCommand({ resourceArn: arn })));
    const found = { kind: 'log group' as const, id: names.logGroup, name: names.logGroup };
    if (isOwnedBy(tagged.tags ?? {}, environment)) logGroups.push(found);
    else foreign.push(found);
  }

  const records = owned.flatMap((group) => {
    const value = groupTags.get(group.TargetGroupArn ?? '')?.[TAG_DNS_RECORD];
    return value ? [{ kind: 'DNS record' as const, id: value, name: value.split('/')[1] ?? value }] : [];
  });

  return {
    records,
    images: [],
    services,
    rules,
    targetGroups: owned.map((group) => ({ kind: 'target group', id: group.TargetGroupArn ?? '', name: group.TargetGroupName ?? '' })),
    taskDefinitions,
    logGroups,
    foreign,
  };
}
