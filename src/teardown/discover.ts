// What an environment owns, found by our tags (never by name alone), and the look-alikes it does not own.
import { type CloudWatchLogsClient, DescribeLogGroupsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeTaskDefinitionCommand, type ECSClient, ListTaskDefinitionsCommand, type Service } from '@aws-sdk/client-ecs';
import { DescribeListenersCommand, DescribeLoadBalancersCommand, type ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsCall } from '../aws.ts';
import { listClusterServices, tagsOf } from '../ecs/services.ts';
import { familyOf } from '../ecs/task-definition.ts';
import { allTargetGroups } from '../elb/describe.ts';
import { isEnvironmentRule, rulesOf } from '../elb/rules.ts';
import { describeElbTags } from '../elb/tags.ts';
import { environmentNames, type Identity, identityOf, ownership, TAG_REPOSITORY, type Tags } from '../environment.ts';
import { type AliasTarget, TAG_DNS_RECORD } from '../provision/dns.ts';

export interface Found {
  kind: 'DNS record' | 'service' | 'listener rule' | 'target group' | 'task definition' | 'log group' | 'image tag';
  /** ARN or name, as the delete call takes it. */
  id: string;
  /** For people. */
  name: string;
  /** A task definition already deregistered by an earlier, interrupted teardown. */
  inactive?: boolean;
  /** A DNS record's load balancer: the alias is deleted only while it still points there. */
  aliasTarget?: AliasTarget | undefined;
}

/** A resource of this cluster and environment name that another repository made. */
export interface Claimed {
  kind: Found['kind'];
  name: string;
  repository: string;
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
  /** The same cluster and environment name made by another repository: its teardown is refused. */
  claimed: Claimed[];
}

const described = (tags: Tags) => {
  const owner = identityOf(tags);
  return owner ? `${owner.environment} of ${owner.cluster}, ${owner.repository}` : 'not ecs-deploy-actions';
};

export async function discover(
  clients: { ecs: ECSClient; elb: ElasticLoadBalancingV2Client; logs: CloudWatchLogsClient },
  options: { identity: Identity; listenerArn?: string | undefined },
): Promise<Inventory> {
  const { ecs, elb, logs } = clients;
  const { identity } = options;
  const { cluster } = identity;
  const names = environmentNames(cluster, identity.environment);
  /** Each part of the search keeps its own findings, joined in a fixed order: the parts run at once. */
  const part = () => {
    const foreign: Found[] = [];
    const claimed: Claimed[] = [];
    /** Ours, or (recorded) another repository's environment of this name, or nobody's business. */
    const judge = (tags: Tags, kind: Found['kind'], name: string): boolean => {
      const owner = ownership(tags, identity);
      if (owner === 'other-repository') claimed.push({ kind, name, repository: tags[TAG_REPOSITORY] ?? '' });
      return owner === 'ours';
    };
    return { foreign, claimed, judge };
  };

  const findServices = async () => {
    const { foreign, claimed, judge } = part();
    // A DRAINING one was deleted by a teardown stopped before it drained: waited for again, so its target group is free to delete.
    const clusterServices = await listClusterServices(ecs, cluster, ['ACTIVE', 'DRAINING']).catch((error: Error) => {
      // A cluster that is gone holds no services.
      if (/ClusterNotFoundException/.test(error.message)) return [] as Service[];
      throw error;
    });
    const services = clusterServices.filter((service) => judge(tagsOf(service), 'service', service.serviceName ?? ''));
    for (const service of clusterServices) {
      if (service.serviceName === names.service && !services.includes(service)) {
        foreign.push({ kind: 'service', id: service.serviceArn ?? '', name: `${service.serviceName} (owner: ${described(tagsOf(service))})` });
      }
    }
    return { foreign, claimed, services };
  };

  const findLoadBalancing = async () => {
    const { foreign, claimed, judge } = part();
    // Target groups are region-wide: ours by all three tags; same-named ones that are not ours are reported.
    const groups = await allTargetGroups(elb);
    const groupTags = await describeElbTags(
      elb,
      groups.map((group) => group.TargetGroupArn ?? ''),
    );
    const owned = groups.filter((group) => judge(groupTags.get(group.TargetGroupArn ?? '') ?? {}, 'target group', group.TargetGroupName ?? ''));
    for (const group of groups) {
      if ((group.TargetGroupName === names.targetGroup || group.TargetGroupName === names.alternateTargetGroup) && !owned.includes(group)) {
        foreign.push({ kind: 'target group', id: group.TargetGroupArn ?? '', name: group.TargetGroupName ?? '' });
      }
    }
    const ownedArns = new Set(owned.map((group) => group.TargetGroupArn ?? ''));

    // Listener rules live on the listeners of our target groups' load balancers (and the given listener); a
    // rule is ours only while it forwards to nothing but our target groups.
    const loadBalancerArns = [...new Set(owned.flatMap((group) => group.LoadBalancerArns ?? []))];
    const listenerArns = new Set<string>(options.listenerArn ? [options.listenerArn] : []);
    for (const loadBalancerArn of loadBalancerArns) {
      const listeners = await awsCall('DescribeListeners', loadBalancerArn, () => elb.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn })));
      for (const listener of listeners.Listeners ?? []) listenerArns.add(listener.ListenerArn ?? '');
    }
    const rules: Found[] = [];
    for (const found of await rulesOf(elb, listenerArns)) {
      const arn = found.rule.RuleArn ?? '';
      const name = arn.split('/').slice(-3).join('/');
      if (isEnvironmentRule(found, identity, ownedArns)) rules.push({ kind: 'listener rule', id: arn, name });
      // Tagged ours, yet forwarding to someone else's target group: not ours to delete.
      else if (judge(found.tags, 'listener rule', name))
        foreign.push({ kind: 'listener rule', id: arn, name: `${name} (forwards to target groups it does not own)` });
    }

    const tagged = owned.flatMap((group) => {
      const value = groupTags.get(group.TargetGroupArn ?? '')?.[TAG_DNS_RECORD];
      return value ? [{ value, loadBalancerArn: group.LoadBalancerArns?.[0] }] : [];
    });
    const balancers = new Map<string, AliasTarget>();
    const wantedBalancers = [...new Set(tagged.flatMap(({ loadBalancerArn }) => (loadBalancerArn ? [loadBalancerArn] : [])))];
    if (wantedBalancers.length > 0) {
      const answer = await awsCall('DescribeLoadBalancers', wantedBalancers.join(', '), () =>
        elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: wantedBalancers })),
      );
      for (const balancer of answer.LoadBalancers ?? [])
        balancers.set(balancer.LoadBalancerArn ?? '', { dnsName: balancer.DNSName ?? '', canonicalHostedZoneId: balancer.CanonicalHostedZoneId ?? '' });
    }
    const records = [...new Map(tagged.map((found) => [found.value, found])).values()].map(({ value, loadBalancerArn }) => ({
      kind: 'DNS record' as const,
      id: value,
      name: value.split('/')[1] ?? value,
      aliasTarget: loadBalancerArn ? balancers.get(loadBalancerArn) : undefined,
    }));
    const targetGroups: Found[] = owned.map((group) => ({ kind: 'target group', id: group.TargetGroupArn ?? '', name: group.TargetGroupName ?? '' }));
    return { foreign, claimed, rules, targetGroups, records };
  };

  const findTaskDefinitions = async () => {
    const { foreign, claimed, judge } = part();
    // Task definitions of the environment's family, ACTIVE and INACTIVE, each checked for our tags.
    const taskDefinitions: Found[] = [];
    for (const status of ['ACTIVE', 'INACTIVE'] as const) {
      let nextToken: string | undefined;
      do {
        const page = await awsCall('ListTaskDefinitions', `family ${names.family}`, () =>
          ecs.send(new ListTaskDefinitionsCommand({ familyPrefix: names.family, status, nextToken })),
        );
        for (const arn of (page.taskDefinitionArns ?? []).filter((candidate) => familyOf(candidate) === names.family)) {
          const description = await awsCall('DescribeTaskDefinition', arn, () =>
            ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] })),
          );
          const tags = Object.fromEntries((description.tags ?? []).map((tag) => [tag.key ?? '', tag.value ?? '']));
          const found: Found = { kind: 'task definition', id: arn, name: arn.split('/').pop() ?? arn, inactive: status === 'INACTIVE' };
          if (judge(tags, 'task definition', found.name)) taskDefinitions.push(found);
          else foreign.push(found);
        }
        nextToken = page.nextToken;
      } while (nextToken);
    }
    return { foreign, claimed, taskDefinitions };
  };

  const findLogGroups = async () => {
    const { foreign, claimed, judge } = part();
    // The log group, by its exact name and our tags.
    const logGroups: Found[] = [];
    const groupsFound = await awsCall('DescribeLogGroups', names.logGroup, () =>
      logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: names.logGroup })),
    );
    for (const group of (groupsFound.logGroups ?? []).filter((candidate) => candidate.logGroupName === names.logGroup)) {
      const arn = (group.arn ?? '').replace(/:\*$/, '');
      const tagged = await awsCall('ListTagsForResource', names.logGroup, () => logs.send(new ListTagsForResourceCommand({ resourceArn: arn })));
      const found = { kind: 'log group' as const, id: names.logGroup, name: names.logGroup };
      if (judge(tagged.tags ?? {}, 'log group', names.logGroup)) logGroups.push(found);
      else foreign.push(found);
    }
    return { foreign, claimed, logGroups };
  };

  const found = await Promise.all([findServices(), findLoadBalancing(), findTaskDefinitions(), findLogGroups()]);
  const [{ services }, { rules, targetGroups, records }, { taskDefinitions }, { logGroups }] = found;
  return {
    records,
    images: [],
    services,
    rules,
    targetGroups,
    taskDefinitions,
    logGroups,
    foreign: found.flatMap((result) => result.foreign),
    claimed: found.flatMap((result) => result.claimed),
  };
}
