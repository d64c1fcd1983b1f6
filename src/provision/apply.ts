// Making an environment match its spec: each resource is found, then created, updated in place, or
// left alone; a re-run with the same inputs changes nothing.

import { createHash } from 'node:crypto';
import {
  type CloudWatchLogsClient,
  CreateLogGroupCommand,
  DescribeLogGroupsCommand,
  ListTagsForResourceCommand,
  PutRetentionPolicyCommand,
} from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeTaskDefinitionCommand,
  type ECSClient,
  type Service,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecs';
import {
  AddTagsCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
  type LoadBalancer,
  ModifyRuleCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  type Rule,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Route53Client } from '@aws-sdk/client-route-53';
import type { ProvisionPlatformConfig } from '../actions/provision-platform.ts';
import { awsCall, sdkErrorName, wrapAwsError } from '../aws.ts';
import { findCluster } from '../ecs/cluster.ts';
import { findServiceDeployment, type StartedDeployment, startDeployment } from '../ecs/deploy.ts';
import { registerRevision } from '../ecs/revision.ts';
import { type DeploymentResult, type EngineContext, follow } from '../ecs/rollout.ts';
import { describeServices, tagsOf, toEcsTags } from '../ecs/services.ts';
import { forwardedTargetGroups, hostConditionMatches, hostValues, isEnvironmentRule, type RuleOnListener, rulesOf } from '../elb/rules.ts';
import { describeElbTags, toElbTags } from '../elb/tags.ts';
import {
  describeIdentity,
  type Identity,
  isOwnedBy,
  MANAGED_BY,
  otherRepositoryError,
  ownership,
  SLEEP_TAGS,
  TAG_ASLEEP_MAX_CAPACITY,
  TAG_EXPIRES_AT,
  TAG_MANAGED_BY,
  TAG_REPOSITORY,
  TAG_SPEC,
  type Tags,
} from '../environment.ts';
import { ActionError } from '../errors.ts';
import { checkRecordFree, dnsRecordTag, ensureAliasRecord, TAG_DNS_RECORD } from './dns.ts';
import { choose, fullPoolError, growPool, type Pool, type PoolMember, readPool } from './pool.ts';
import { ensureSharedListener } from './shared-alb.ts';
import type { EnvironmentSpec } from './spec.ts';

export type Change = 'created' | 'updated' | 'unchanged';

export interface ProvisionResult {
  changes: { resource: string; name: string; change: Change }[];
  serviceArn: string;
  targetGroupArn: string;
  /** With strategy blue-green. */
  alternateTargetGroupArn: string | undefined;
  listenerRuleArn: string;
  taskDefinitionArn: string;
  deployment: DeploymentResult | undefined;
  /** The ALB and listener the environment is routed by. */
  loadBalancer: LoadBalancer;
  listenerArn: string;
  /** The pool after placement, for the summary. */
  pool: Pool | undefined;
}

/** The environment's target group, and with strategy blue-green the alternate one ECS shifts traffic to. */
interface Targets {
  primary: string;
  alternate?: string | undefined;
}

interface Routed {
  loadBalancer: LoadBalancer;
  listenerArn: string;
  targets: Targets;
  listenerRuleArn: string;
  pool?: Pool;
}

export interface ProvisionContext extends EngineContext {
  elb: ElasticLoadBalancingV2Client;
  /** Only with hosted-zone-id. */
  route53?: Route53Client | undefined;
}

/** Refuses a resource of the environment's name that it does not own; another repository's is named as such. */
function claim(kind: string, name: string, tags: Tags, identity: Identity): void {
  const owner = ownership(tags, identity);
  if (owner === 'ours') return;
  if (owner === 'other-repository') throw otherRepositoryError(identity, tags[TAG_REPOSITORY] ?? '', `${kind} ${name}`);
  throw new ActionError(
    `A ${kind} named ${name} exists but is not tagged as owned by ${describeIdentity(identity)}; it was left untouched.`,
    `delete or rename that ${kind}, or pick another environment or cluster name.`,
  );
}

/**
 * Rules of these listeners that another environment (or anyone else) owns and that answer the environment's
 * host: ours would take its traffic. Refused before anything is changed; a wildcard rule ours would only carve
 * one host out of is reported, not refused (a preview catch-all is a normal neighbour).
 */
async function checkHostFree(
  elb: ElasticLoadBalancingV2Client,
  listenerArns: string[],
  spec: EnvironmentSpec,
  progress: EngineContext['progress'],
  isOurs: (found: RuleOnListener) => boolean = (found) => isOwnedBy(found.tags, spec.identity),
): Promise<RuleOnListener[]> {
  const rules = await rulesOf(elb, listenerArns);
  const host = spec.host.toLowerCase();
  for (const found of rules.filter((candidate) => !isOurs(candidate))) {
    const values = hostValues(found.rule);
    if (values.some((value) => value.toLowerCase() === host)) {
      throw new ActionError(
        `Listener rule ${found.rule.RuleArn} (priority ${found.rule.Priority}) already answers host ${spec.host}, and ${describeIdentity(spec.identity)} does not own it; nothing was changed.`,
        'pick a host-pattern that gives this environment a host of its own, or remove that rule if it is stale.',
      );
    }
    const wildcard = values.find((value) => /[*?]/.test(value) && hostConditionMatches(value, host));
    if (wildcard)
      progress.line(
        `note: listener rule priority ${found.rule.Priority} (${wildcard}) also answers ${spec.host}; the rule with the lower priority number wins`,
      );
  }
  return rules;
}

/** The listener and the load balancer it belongs to; a missing listener is named as the input to fix. */
async function listenerOf(elb: ElasticLoadBalancingV2Client, listenerArn: string): Promise<{ listenerArn: string; loadBalancer: LoadBalancer }> {
  const listener = await elb.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] })).catch((error: unknown) => {
    if (sdkErrorName(error) === 'ListenerNotFoundException')
      throw new ActionError(`Listener ${listenerArn} was not found.`, 'check listener-arn and AWS_REGION.');
    throw wrapAwsError('DescribeListeners', listenerArn, error);
  });
  const loadBalancerArn = listener.Listeners?.[0]?.LoadBalancerArn ?? '';
  const balancers = await awsCall('DescribeLoadBalancers', loadBalancerArn, () =>
    elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [loadBalancerArn] })),
  );
  return { listenerArn, loadBalancer: balancers.LoadBalancers?.[0] ?? {} };
}

/** A listener-rule priority derived from the identity, so concurrent environments (every repository's pr-1) rarely collide. */
export function preferredPriority(identity: Identity): number {
  const key = `${identity.repository}\n${identity.cluster}\n${identity.environment}`;
  return 1 + (createHash('sha256').update(key).digest().readUInt32BE(0) % 49_000);
}

export async function applySpec(context: ProvisionContext, config: ProvisionPlatformConfig, spec: EnvironmentSpec): Promise<ProvisionResult> {
  const { ecs, elb, logs, progress } = context;
  const changes: ProvisionResult['changes'] = [];
  const record = (resource: string, name: string, change: Change) => {
    changes.push({ resource, name, change });
    progress.line(`${resource} ${name}: ${change}`);
  };
  const environment = spec.environment;

  progress.phase('Platform: cluster and load balancer');
  // A pool is read, and a full one refused, before anything is created.
  let pool: Pool | undefined;
  let placed: PoolMember | undefined;
  if (config.loadBalancerPool) {
    pool = await readPool(elb, config.loadBalancerPool);
    placed = await placement(elb, spec, pool);
    if (!placed && !config.growPool) throw fullPoolError(pool, poolLabel(config.loadBalancerPool));
  }
  // A given listener is looked up before anything is created: a wrong ARN must not leave a cluster behind.
  const given = config.listenerArn && !pool ? await listenerOf(elb, config.listenerArn) : undefined;
  const dnsTag: Tags = config.hostedZoneId ? { [TAG_DNS_RECORD]: dnsRecordTag(config.hostedZoneId, spec.host) } : {};
  const clusterFound = await findCluster(ecs, config.cluster);
  // The service is judged before anything is created: one not ours, or of the other kind of strategy, is refused.
  const [existing] = clusterFound ? (await describeServices(ecs, config.cluster, [spec.names.service])).found : [];
  if (existing) claim('service', spec.names.service, tagsOf(existing), spec.identity);
  if (existing) checkStrategy(existing, config);
  // So are another's rule answering this host and another's DNS record of this name.
  const knownListeners = given ? [given.listenerArn] : (pool?.members.flatMap((member) => (member.listenerArn ? [member.listenerArn] : [])) ?? []);
  await checkHostFree(elb, knownListeners, spec, progress);
  if (config.hostedZoneId && context.route53) await checkRecordFree(context.route53, config.hostedZoneId, spec.host, spec.identity);
  if (clusterFound) record('cluster', config.cluster, 'unchanged');
  else {
    await awsCall('CreateCluster', config.cluster, () =>
      ecs.send(
        new CreateClusterCommand({
          clusterName: config.cluster,
          capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
          settings: [{ name: 'containerInsights', value: config.containerInsights ? 'enabled' : 'disabled' }],
          tags: [{ key: TAG_MANAGED_BY, value: MANAGED_BY }],
        }),
      ),
    );
    record('cluster', config.cluster, 'created');
  }
  let routed: Routed;
  if (pool && config.loadBalancerPool)
    routed = await placeInPool(context, { ...config, loadBalancerPool: config.loadBalancerPool }, spec, pool, placed, dnsTag, record);
  else {
    const { listenerArn, loadBalancer } = given ?? (await listenerOf(elb, await ensureSharedListener(elb, config, record)));
    progress.phase(`Environment ${environment}: routing, logs, revision, service`);
    const { targets } = await ensureTargetGroups(elb, spec, config, loadBalancer.VpcId ?? '', dnsTag, record);
    const listenerRuleArn = await ensureRule(context, spec, config, { listenerArn, hostListeners: [listenerArn] }, targets, record);
    if (!listenerRuleArn) {
      const limits = (await readPool(elb, [listenerArn])).quotas;
      throw new ActionError(
        `The load balancer ${loadBalancer.LoadBalancerName} is full: it has reached the quota of target groups (${limits.targetGroups}) or rules (${limits.rules}) per Application Load Balancer.`,
        'use load-balancer-pool with grow-pool: true to spread environments over several ALBs, or tear down environments that are no longer needed.',
      );
    }
    routed = { loadBalancer, listenerArn, targets, listenerRuleArn };
  }
  const { targets, listenerRuleArn } = routed;
  const targetGroupArn = targets.primary;
  if (config.hostedZoneId && context.route53) {
    const change = await ensureAliasRecord(context.route53, config.hostedZoneId, spec.host, spec.identity, {
      dnsName: routed.loadBalancer.DNSName ?? '',
      canonicalHostedZoneId: routed.loadBalancer.CanonicalHostedZoneId ?? '',
    });
    record('DNS record', `${spec.host} ALIAS ${routed.loadBalancer.DNSName}`, change);
  }
  await ensureLogGroup(logs, spec, config.logRetentionDays, record);

  const taskDefinitionArn = await ensureRevision(ecs, spec, existing, record);

  let started: StartedDeployment | undefined;
  let service = existing;
  // The inputs' desired count wakes a sleeping environment: the count its sleep recorded would bring an older
  // one back on the next sleep and wake. Forgotten before the update, so a re-run after a kill still does it.
  // Not when the sleep set a scalable target to 0 too: that keeps the service asleep until a wake restores it.
  const recorded = existing ? SLEEP_TAGS.filter((key) => tagsOf(existing)[key] !== undefined) : [];
  if (existing && recorded.length > 0 && !recorded.includes(TAG_ASLEEP_MAX_CAPACITY) && config.desiredCount > 0) {
    await awsCall('UntagResource', `service ${spec.names.service}`, () =>
      ecs.send(new UntagResourceCommand({ resourceArn: existing.serviceArn, tagKeys: recorded })),
    );
    progress.line(`service ${spec.names.service}: was asleep; the desired count it recorded is forgotten (desired count now ${config.desiredCount})`);
  }
  // A preview in use stays: every provision moves its ttl on (the sweep reads it from the service first).
  const expiresAt = spec.tags[TAG_EXPIRES_AT];
  if (existing && expiresAt && tagsOf(existing)[TAG_EXPIRES_AT] !== expiresAt) {
    await awsCall('TagResource', `service ${spec.names.service}`, () =>
      ecs.send(new TagResourceCommand({ resourceArn: existing.serviceArn, tags: [{ key: TAG_EXPIRES_AT, value: expiresAt }] })),
    );
    progress.line(`service ${spec.names.service}: ttl moved on to ${expiresAt}`);
  }
  if (!existing) {
    ({ started, service } = await createService(ecs, config, spec, taskDefinitionArn, targets, listenerRuleArn));
    record('service', spec.names.service, 'created');
  } else if (existing.taskDefinition !== taskDefinitionArn || existing.desiredCount !== config.desiredCount) {
    started = await startDeployment(context, config.cluster, existing, { taskDefinitionArn, desiredCount: config.desiredCount, forceNewDeployment: false });
    record('service', spec.names.service, 'updated');
  } else {
    record('service', spec.names.service, 'unchanged');
    // A run killed (or timed out) while it waited left its deployment going: wait for it as that run would have.
    started = await unsettled(ecs, config.cluster, existing);
    if (started) progress.line(`service ${spec.names.service}: a deployment an earlier run started is still in progress; waiting for it`);
  }

  let deployment: DeploymentResult | undefined;
  if (started && service) {
    [deployment] = await follow(context, [started], [{ service, taskDefinitionArn, containers: spec.registration.containerDefinitions }], config.timeout);
  }
  return {
    changes,
    serviceArn: service?.serviceArn ?? '',
    targetGroupArn,
    alternateTargetGroupArn: targets.alternate,
    listenerRuleArn,
    taskDefinitionArn,
    deployment,
    loadBalancer: routed.loadBalancer,
    listenerArn: routed.listenerArn,
    pool: routed.pool,
  };
}

/** Rolling and blue/green environments differ in resources (a second target group, a weighted rule): not switched in place. */
function checkStrategy(service: Service, config: ProvisionPlatformConfig): void {
  const shifting = service.loadBalancers?.some((loadBalancer) => loadBalancer.advancedConfiguration?.alternateTargetGroupArn) ?? false;
  if (shifting === (config.strategy === 'blue-green')) return;
  throw new ActionError(
    `Input "strategy": service ${service.serviceName} was provisioned ${shifting ? 'for blue-green (two target groups)' : 'rolling (one target group)'}; provision-platform does not switch an existing environment to ${config.strategy}.`,
    `keep strategy: ${shifting ? 'blue-green' : 'rolling'} for this environment, or tear it down with teardown-env and provision it again with strategy: ${config.strategy}.`,
  );
}

/** The PRIMARY deployment to follow when the service has not reached steady state. */
async function unsettled(ecs: ECSClient, cluster: string, service: Service): Promise<StartedDeployment | undefined> {
  const deployments = service.deployments ?? [];
  const primary = deployments.find((deployment) => deployment.status === 'PRIMARY');
  const steady = primary?.rolloutState === 'COMPLETED' && deployments.length === 1 && service.runningCount === service.desiredCount;
  if (!primary?.id || steady) return undefined;
  const serviceName = service.serviceName ?? '';
  const newest = Math.max(...deployments.map((deployment) => deployment.createdAt?.getTime() ?? 0));
  // An older deployment is PRIMARY again while ECS rolls back to it: followed, as a wake follows a scale-up,
  // to the steady state after the failed one. The newest is the one a run started: its service deployment tells how it ends.
  const rollingBack = (primary.createdAt?.getTime() ?? 0) < newest;
  const startedAt = rollingBack ? new Date(newest) : (primary.createdAt ?? new Date());
  return {
    cluster,
    serviceName,
    previousTaskDefinitionArn: service.taskDefinition ?? '',
    taskDefinitionArn: primary.taskDefinition ?? service.taskDefinition ?? '',
    deploymentId: primary.id,
    serviceDeploymentArn: rollingBack ? undefined : await findServiceDeployment(ecs, cluster, serviceName, startedAt),
    startedAt,
    unchanged: false,
    scaling: rollingBack ? { failedTasksBefore: primary.failedTasks ?? 0 } : undefined,
  };
}

function poolLabel(pool: string | string[]): string {
  return typeof pool === 'string' ? pool : `of ${pool.length} listener(s)`;
}

/** Where the environment goes: the ALB its target group is already on (a re-run stays put), else the freest. */
async function placement(elb: ElasticLoadBalancingV2Client, spec: EnvironmentSpec, pool: Pool): Promise<PoolMember | undefined> {
  const group = await findTargetGroup(elb, spec.names.targetGroup);
  return pool.members.find((member) => group?.LoadBalancerArns?.includes(member.loadBalancer.LoadBalancerArn ?? '')) ?? choose(pool);
}

/**
 * The target group and rule on the chosen ALB. Concurrent runs can race for its last slot: the loser
 * reads the pool again and goes to the next ALB (or grows the pool), reusing its target group; one
 * refused in the end deletes the target group it created, leaving nothing half-made.
 */
async function placeInPool(
  context: ProvisionContext,
  config: ProvisionPlatformConfig & { loadBalancerPool: string | string[] },
  spec: EnvironmentSpec,
  first: Pool,
  placed: PoolMember | undefined,
  dnsTag: Tags,
  record: (r: string, n: string, c: Change) => void,
): Promise<Routed> {
  const { elb } = context;
  let pool = first;
  let member = placed;
  const created = new Map<string, string>();
  for (let attempt = 0; attempt < 6; attempt++) {
    if (!member && config.growPool && pool.name) member = await growPool(elb, { ...pool, name: pool.name }, config, record);
    if (!member) break;
    const ensured = await ensureTargetGroups(elb, spec, config, member.loadBalancer.VpcId ?? '', dnsTag, record);
    for (const [arn, name] of ensured.created) created.set(arn, name);
    const listenerArn = member.listenerArn ?? '';
    const hostListeners = pool.members.flatMap((other) => (other.listenerArn ? [other.listenerArn] : []));
    const listenerRuleArn = await ensureRule(context, spec, config, { listenerArn, hostListeners }, ensured.targets, record);
    if (listenerRuleArn) {
      return { loadBalancer: member.loadBalancer, listenerArn, targets: ensured.targets, listenerRuleArn, pool: await readPool(elb, config.loadBalancerPool) };
    }
    pool = await readPool(elb, config.loadBalancerPool);
    member = choose(pool);
  }
  for (const [arn, name] of created) await awsCall('DeleteTargetGroup', name, () => elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn })));
  throw fullPoolError(pool, poolLabel(config.loadBalancerPool));
}

async function ensureLogGroup(
  logs: CloudWatchLogsClient,
  spec: EnvironmentSpec,
  retentionDays: string,
  record: (r: string, n: string, c: Change) => void,
): Promise<void> {
  const name = spec.names.logGroup;
  const found = (await awsCall('DescribeLogGroups', name, () => logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name })))).logGroups?.find(
    (group) => group.logGroupName === name,
  );
  if (!found) {
    await awsCall('CreateLogGroup', name, () => logs.send(new CreateLogGroupCommand({ logGroupName: name, tags: spec.tags })));
    await awsCall('PutRetentionPolicy', name, () => logs.send(new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: Number(retentionDays) })));
    record('log group', name, 'created');
    return;
  }
  const tags =
    (await awsCall('ListTagsForResource', name, () => logs.send(new ListTagsForResourceCommand({ resourceArn: (found.arn ?? '').replace(/:\*$/, '') }))))
      .tags ?? {};
  claim('log group', name, tags, spec.identity);
  if (found.retentionInDays !== Number(retentionDays)) {
    await awsCall('PutRetentionPolicy', name, () => logs.send(new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: Number(retentionDays) })));
    record('log group', name, 'updated');
  } else record('log group', name, 'unchanged');
}

async function findTargetGroup(elb: ElasticLoadBalancingV2Client, name: string): Promise<TargetGroup | undefined> {
  return elb.send(new DescribeTargetGroupsCommand({ Names: [name] })).then(
    (response) => response.TargetGroups?.[0],
    (error: unknown) => {
      if (sdkErrorName(error) === 'TargetGroupNotFoundException') return undefined;
      throw wrapAwsError('DescribeTargetGroups', name, error);
    },
  );
}

/** The environment's target group, and with strategy blue-green its alternate, alike in every setting. */
async function ensureTargetGroups(
  elb: ElasticLoadBalancingV2Client,
  spec: EnvironmentSpec,
  config: ProvisionPlatformConfig,
  vpcId: string,
  extraTags: Tags,
  record: (r: string, n: string, c: Change) => void,
): Promise<{ targets: Targets; created: Map<string, string> }> {
  const names = [spec.names.targetGroup, ...(config.strategy === 'blue-green' ? [spec.names.alternateTargetGroup] : [])];
  const created = new Map<string, string>();
  const arns: string[] = [];
  for (const name of names) {
    const { group, change } = await ensureTargetGroup(elb, spec, config, name, vpcId, extraTags, record);
    arns.push(group.TargetGroupArn ?? '');
    if (change === 'created') created.set(group.TargetGroupArn ?? '', name);
  }
  return { targets: { primary: arns[0] ?? '', alternate: arns[1] }, created };
}

async function ensureTargetGroup(
  elb: ElasticLoadBalancingV2Client,
  spec: EnvironmentSpec,
  config: ProvisionPlatformConfig,
  name: string,
  vpcId: string,
  extraTags: Tags,
  record: (r: string, n: string, c: Change) => void,
): Promise<{ group: TargetGroup; change: Change }> {
  // The timeout must be shorter than the interval; ELB's default for HTTP is 6 s, so a short interval takes a shorter one.
  const timeout = config.healthCheckInterval <= 6 ? config.healthCheckInterval - 1 : undefined;
  const health = {
    HealthCheckPath: config.healthCheckPath,
    HealthCheckIntervalSeconds: config.healthCheckInterval,
    ...(timeout === undefined ? {} : { HealthCheckTimeoutSeconds: timeout }),
    Matcher: { HttpCode: config.healthCheckMatcher },
  };
  const found = await findTargetGroup(elb, name);
  const delay = String(config.deregistrationDelay);
  if (!found) {
    const created = await awsCall('CreateTargetGroup', name, () =>
      elb.send(
        new CreateTargetGroupCommand({
          Name: name,
          Protocol: 'HTTP',
          Port: config.containerPort,
          VpcId: vpcId,
          TargetType: 'ip',
          ...health,
          Tags: toElbTags({ ...spec.tags, ...extraTags }),
        }),
      ),
    );
    const group = created.TargetGroups?.[0] as TargetGroup;
    await awsCall('ModifyTargetGroupAttributes', name, () =>
      elb.send(
        new ModifyTargetGroupAttributesCommand({
          TargetGroupArn: group.TargetGroupArn,
          Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: delay }],
        }),
      ),
    );
    record('target group', name, 'created');
    return { group, change: 'created' };
  }
  const arn = found.TargetGroupArn ?? '';
  const tags = (await describeElbTags(elb, [arn])).get(arn) ?? {};
  claim('target group', name, tags, spec.identity);
  let change: Change = 'unchanged';
  const missing = Object.entries(extraTags).filter(([key, value]) => tags[key] !== value);
  if (missing.length > 0) {
    await awsCall('AddTags', name, () => elb.send(new AddTagsCommand({ ResourceArns: [arn], Tags: toElbTags(Object.fromEntries(missing)) })));
    change = 'updated';
  }
  if (
    found.HealthCheckPath !== health.HealthCheckPath ||
    found.HealthCheckIntervalSeconds !== health.HealthCheckIntervalSeconds ||
    (timeout !== undefined && found.HealthCheckTimeoutSeconds !== timeout) ||
    found.Matcher?.HttpCode !== health.Matcher.HttpCode
  ) {
    await awsCall('ModifyTargetGroup', name, () => elb.send(new ModifyTargetGroupCommand({ TargetGroupArn: arn, ...health })));
    change = 'updated';
  }
  const attributes = await awsCall('DescribeTargetGroupAttributes', name, () => elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn })));
  if (attributes.Attributes?.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value !== delay) {
    await awsCall('ModifyTargetGroupAttributes', name, () =>
      elb.send(new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: delay }] })),
    );
    change = 'updated';
  }
  record('target group', name, change);
  return { group: found, change };
}

function ruleConditions(spec: EnvironmentSpec, config: ProvisionPlatformConfig) {
  return [
    { Field: 'host-header', HostHeaderConfig: { Values: [spec.host] } },
    ...(config.pathPattern ? [{ Field: 'path-pattern', PathPatternConfig: { Values: [config.pathPattern] } }] : []),
  ];
}

function sameConditions(rule: Rule, conditions: ReturnType<typeof ruleConditions>): boolean {
  const hosts = rule.Conditions?.find((c) => c.Field === 'host-header')?.HostHeaderConfig?.Values ?? [];
  const paths = rule.Conditions?.find((c) => c.Field === 'path-pattern')?.PathPatternConfig?.Values ?? [];
  const wantedPaths = conditions.find((c) => c.Field === 'path-pattern')?.PathPatternConfig?.Values ?? [];
  return JSON.stringify(hosts) === JSON.stringify(conditions[0]?.HostHeaderConfig?.Values) && JSON.stringify(paths) === JSON.stringify(wantedPaths);
}

/** A blue/green rule forwards to both groups, all traffic on the primary until ECS shifts it. */
function forwardActions(targets: Targets) {
  if (!targets.alternate) return [{ Type: 'forward' as const, TargetGroupArn: targets.primary }];
  const groups = [
    { TargetGroupArn: targets.primary, Weight: 100 },
    { TargetGroupArn: targets.alternate, Weight: 0 },
  ];
  return [{ Type: 'forward' as const, ForwardConfig: { TargetGroups: groups } }];
}

async function ensureRule(
  context: ProvisionContext,
  spec: EnvironmentSpec,
  config: ProvisionPlatformConfig,
  where: { listenerArn: string; hostListeners: string[] },
  targets: Targets,
  record: (r: string, n: string, c: Change) => void,
): Promise<string | undefined> {
  const { elb, progress } = context;
  const { listenerArn } = where;
  const conditions = ruleConditions(spec, config);
  const actions = forwardActions(targets);
  const wanted = [targets.primary, ...(targets.alternate ? [targets.alternate] : [])].sort();
  const owned = new Set(wanted);
  const isOurs = (found: RuleOnListener) => isEnvironmentRule(found, spec.identity, owned);
  for (let attempt = 0; attempt < 20; attempt++) {
    // Read again every attempt: a concurrent environment may have taken a priority or this host meanwhile.
    const rules = await checkHostFree(elb, [...new Set([listenerArn, ...where.hostListeners])], spec, progress, isOurs);
    const onListener = rules.filter((found) => found.listenerArn === listenerArn);
    const tagged = onListener.find((found) => isOwnedBy(found.tags, spec.identity) && !isOurs(found));
    if (tagged) {
      throw new ActionError(
        `Listener rule ${tagged.rule.RuleArn} is tagged as ${describeIdentity(spec.identity)} but forwards to target groups it does not own (${forwardedTargetGroups(tagged.rule.Actions).join(', ')}); it was left unchanged.`,
        "remove that rule's ecs-deploy-actions tags or the rule itself, then run the step again.",
      );
    }
    const ours = onListener.find(isOurs)?.rule;
    if (ours?.RuleArn) {
      const sameTargets = JSON.stringify(forwardedTargetGroups(ours.Actions)) === JSON.stringify(wanted);
      if (sameTargets && sameConditions(ours, conditions)) record('listener rule', `priority ${ours.Priority}`, 'unchanged');
      else {
        // Only the conditions when the targets are right: the weights stay where ECS put them.
        const change = sameTargets ? { Conditions: conditions } : { Conditions: conditions, Actions: actions };
        await awsCall('ModifyRule', ours.RuleArn, () => elb.send(new ModifyRuleCommand({ RuleArn: ours.RuleArn, ...change })));
        record('listener rule', `priority ${ours.Priority}`, 'updated');
      }
      return ours.RuleArn;
    }
    // Probe from the name's preferred slot to the first free one; never take a priority in use.
    const used = new Set(onListener.map((found) => Number(found.rule.Priority)));
    let priority = preferredPriority(spec.identity) + attempt;
    while (used.has(priority)) priority = (priority % 50_000) + 1;
    try {
      const created = await elb.send(
        new CreateRuleCommand({ ListenerArn: listenerArn, Priority: priority, Conditions: conditions, Actions: actions, Tags: toElbTags(spec.tags) }),
      );
      record('listener rule', `priority ${priority}`, 'created');
      return created.Rules?.[0]?.RuleArn ?? '';
    } catch (error) {
      // The ALB is full: the caller tells the user, or places the environment elsewhere.
      if (/^TooMany(?:UniqueTargetGroupsPerLoadBalancer|Rules)(?:Exception)?$/.test(sdkErrorName(error) ?? '')) return undefined;
      // Another environment took the slot between our read and our create: read again and probe on.
      if (sdkErrorName(error) !== 'PriorityInUseException') throw wrapAwsError('CreateRule', `priority ${priority}`, error);
    }
  }
  throw new ActionError('Could not find a free listener-rule priority after 20 tries.', 'retry the step; many environments are provisioning at once.');
}

async function ensureRevision(
  ecs: ECSClient,
  spec: EnvironmentSpec,
  existing: Service | undefined,
  record: (r: string, n: string, c: Change) => void,
): Promise<string> {
  if (existing?.taskDefinition) {
    const described = await awsCall('DescribeTaskDefinition', existing.taskDefinition, () =>
      ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: existing.taskDefinition, include: ['TAGS'] })),
    );
    if (described.tags?.some((tag) => tag.key === TAG_SPEC && tag.value === spec.specHash)) {
      record('task definition', existing.taskDefinition.split('/').pop() ?? '', 'unchanged');
      return existing.taskDefinition;
    }
  }
  const arn = await registerRevision(ecs, spec.registration);
  record('task definition', arn.split('/').pop() ?? '', 'created');
  return arn;
}

async function createService(
  ecs: ECSClient,
  config: ProvisionPlatformConfig,
  spec: EnvironmentSpec,
  taskDefinitionArn: string,
  targets: Targets,
  listenerRuleArn: string,
): Promise<{ started: StartedDeployment; service: Service | undefined }> {
  const strategy = config.capacityProviderStrategy.map((item) => {
    const [capacityProvider = 'FARGATE', weight = '1'] = item.split(':');
    return { capacityProvider, weight: Number(weight) };
  });
  const response = await awsCall('CreateService', spec.names.service, () =>
    ecs.send(
      new CreateServiceCommand({
        cluster: config.cluster,
        serviceName: spec.names.service,
        taskDefinition: taskDefinitionArn,
        desiredCount: config.desiredCount,
        capacityProviderStrategy: strategy,
        networkConfiguration: {
          awsvpcConfiguration: {
            subnets: config.subnets,
            securityGroups: config.securityGroups,
            assignPublicIp: config.assignPublicIp ? 'ENABLED' : 'DISABLED',
          },
        },
        loadBalancers: [
          {
            targetGroupArn: targets.primary,
            containerName: spec.registration.containerDefinitions[0]?.name ?? config.containerName,
            containerPort: config.containerPort,
            ...(targets.alternate
              ? {
                  advancedConfiguration: {
                    alternateTargetGroupArn: targets.alternate,
                    productionListenerRule: listenerRuleArn,
                    roleArn: config.infrastructureRoleArn,
                  },
                }
              : {}),
          },
        ],
        healthCheckGracePeriodSeconds: config.healthCheckGracePeriod,
        deploymentConfiguration: {
          deploymentCircuitBreaker: { enable: true, rollback: true },
          minimumHealthyPercent: 100,
          maximumPercent: 200,
          ...(targets.alternate ? { strategy: 'BLUE_GREEN' as const } : {}),
        },
        propagateTags: 'SERVICE',
        enableECSManagedTags: true,
        tags: toEcsTags(spec.tags),
      }),
    ),
  );
  const primary = response.service?.deployments?.find((deployment) => deployment.status === 'PRIMARY');
  const startedAt = primary?.createdAt ?? new Date();
  const started: StartedDeployment = {
    cluster: config.cluster,
    serviceName: spec.names.service,
    previousTaskDefinitionArn: '',
    taskDefinitionArn,
    deploymentId: primary?.id ?? '',
    serviceDeploymentArn: await findServiceDeployment(ecs, config.cluster, spec.names.service, startedAt),
    startedAt,
    unchanged: false,
  };
  return { started, service: response.service };
}
