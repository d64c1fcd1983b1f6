// Carrying out a provision plan: one small executor per resource. Independent creates (log group,
// target groups, revision, cluster) run side by side; the rule's priority and the pool's ALB are
// chosen here, at the moment of creating, and recorded in the result.
import { createHash } from 'node:crypto';
import { type CloudWatchLogsClient, CreateLogGroupCommand, DeleteLogGroupCommand, PutRetentionPolicyCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DeregisterTaskDefinitionCommand,
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
  type ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { awsCall, sdkErrorName, wrapAwsError } from '../aws.ts';
import { findServiceDeployment, type StartedDeployment, startDeployment } from '../ecs/deploy.ts';
import { registerRevision } from '../ecs/revision.ts';
import { type DeploymentResult, type EngineContext, follow } from '../ecs/rollout.ts';
import { toEcsTags } from '../ecs/services.ts';
import { revisionName } from '../ecs/task-definition.ts';
import { forwardedTargetGroups, isEnvironmentRule, type RuleOnListener, rulesOf } from '../elb/rules.ts';
import { toElbTags } from '../elb/tags.ts';
import { describeIdentity, type Identity, isOwnedBy, MANAGED_BY, TAG_EXPIRES_AT, TAG_MANAGED_BY } from '../environment.ts';
import { ActionError } from '../errors.ts';
import type { PollIntervals } from '../watch.ts';
import { ensureAliasRecord } from './dns.ts';
import { type LoadBalancerState, listenerOf, type ServiceState, toLoadBalancer } from './observe.ts';
import { checkHostFree, extraTargetGroupTags, type ProvisionPlan, type Step, sleepTagsToForget, step, wantedHealthCheck } from './plan.ts';
import { choose, fullPoolError, growPool, type Pool, type PoolMember, readPool } from './pool.ts';
import { present } from './present.ts';
import { ensureSharedListener } from './shared-alb.ts';
import type { Desired } from './spec.ts';

export type Change = 'created' | 'updated' | 'unchanged';

export interface ProvisionResult {
  changes: { resource: string; name: string; change: Change }[];
  serviceArn: string;
  targetGroupArn: string;
  /** With strategy blue-green. */
  alternateTargetGroupArn: string | undefined;
  listenerRuleArn: string;
  /** Chosen when the rule was created (or the existing rule's). */
  listenerRulePriority: string;
  taskDefinitionArn: string;
  deployment: DeploymentResult | undefined;
  /** The ALB and listener the environment is routed by. */
  loadBalancer: LoadBalancerState;
  listenerArn: string;
  /** The pool after placement, for the summary. */
  pool: Pool | undefined;
}

export interface ProvisionContext extends EngineContext {
  elb: ElasticLoadBalancingV2Client;
  /** Only with hosted-zone-id. */
  route53?: Route53Client | undefined;
}

type Recorder = (resource: string, name: string, change: Change) => void;

/** The environment's target group, and with strategy blue-green the alternate one ECS shifts traffic to. */
interface Targets {
  primary: string;
  alternate: string | undefined;
}

interface Routed {
  loadBalancer: LoadBalancerState;
  listenerArn: string;
  targets: Targets;
  rule: { arn: string; priority: string };
  pool: Pool | undefined;
}

/** A listener-rule priority derived from the identity, so concurrent environments (every repository's pr-1) rarely collide. */
function preferredPriority(identity: Identity): number {
  const key = `${identity.repository}\n${identity.cluster}\n${identity.environment}`;
  return 1 + (createHash('sha256').update(key).digest().readUInt32BE(0) % 49_000);
}

/**
 * No room on the ALB or in the pool, or the host taken meanwhile: a refusal made at create time, after which
 * what this run made beside the routing is removed. An AWS failure leaves it for the re-run to go on from.
 */
class Refusal extends ActionError {
  static of(error: ActionError): Refusal {
    return new Refusal(error.message, error.hint);
  }
}

/** One service to watch: polls at most 2 s apart end the step within a second or so of the deployment. */
const polling: PollIntervals = { initialSeconds: 1, maxSeconds: 2, factor: 1.5 };

export async function apply(context: ProvisionContext, plan: ProvisionPlan): Promise<ProvisionResult> {
  const { progress } = context;
  const { desired, snapshot } = plan;
  const changes: ProvisionResult['changes'] = [];
  const record: Recorder = (resource, name, change) => {
    changes.push({ resource, name, change });
    progress.line(`${resource} ${name}: ${change}`);
  };
  progress.phase(`Applying the plan for ${desired.spec.identity.environment}`);
  const [cluster, logGroup, revision, routing] = await Promise.allSettled([
    applyCluster(context.ecs, plan, record),
    applyLogGroup(context.logs, plan, record),
    applyTaskDefinition(context.ecs, plan, record),
    applyRouting(context, plan, record),
  ]);
  if (routing.status === 'rejected') {
    if (routing.reason instanceof Refusal)
      await undo(context, logGroup.status === 'fulfilled' && logGroup.value ? desired.names.logGroup : undefined, revision);
    throw routing.reason;
  }
  if (cluster.status === 'rejected') throw cluster.reason;
  if (logGroup.status === 'rejected') throw logGroup.reason;
  if (revision.status === 'rejected') throw revision.reason;
  const taskDefinitionArn = revision.value.arn;
  const routed = routing.value;
  const service = snapshot.service;
  const started = service
    ? await updateService(context, plan, service, taskDefinitionArn, routed, record)
    : await createService(context.ecs, desired, taskDefinitionArn, routed, record);
  let deployment: DeploymentResult | undefined;
  if (started) {
    const target = { service: started.service, taskDefinitionArn, containers: desired.registration.containerDefinitions };
    [deployment] = await follow({ ...context, polling }, [started.deployment], [target], desired.spec.timeoutSeconds);
  }
  return {
    changes,
    serviceArn: service?.arn ?? present(started?.service.serviceArn, 'serviceArn', 'CreateService'),
    targetGroupArn: routed.targets.primary,
    alternateTargetGroupArn: routed.targets.alternate,
    listenerRuleArn: routed.rule.arn,
    listenerRulePriority: routed.rule.priority,
    taskDefinitionArn,
    deployment,
    loadBalancer: routed.loadBalancer,
    listenerArn: routed.listenerArn,
    pool: routed.pool,
  };
}

async function applyCluster(ecs: ECSClient, plan: ProvisionPlan, record: Recorder): Promise<void> {
  const { cluster } = plan.desired.spec.identity;
  if (step(plan, 'cluster')?.action === 'keep') return record('cluster', cluster, 'unchanged');
  await awsCall('CreateCluster', cluster, () =>
    ecs.send(
      new CreateClusterCommand({
        clusterName: cluster,
        capacityProviders: ['FARGATE', 'FARGATE_SPOT'],
        settings: [{ name: 'containerInsights', value: plan.desired.spec.containerInsights ? 'enabled' : 'disabled' }],
        tags: [{ key: TAG_MANAGED_BY, value: MANAGED_BY }],
      }),
    ),
  );
  record('cluster', cluster, 'created');
}

/** Removes a log group and a revision this run made beside a routing that was then refused. */
async function undo(
  context: ProvisionContext,
  logGroup: string | undefined,
  revision: PromiseSettledResult<{ arn: string; registered: boolean }>,
): Promise<void> {
  if (logGroup) await awsCall('DeleteLogGroup', logGroup, () => context.logs.send(new DeleteLogGroupCommand({ logGroupName: logGroup })));
  if (revision.status === 'fulfilled' && revision.value.registered) {
    const arn = revision.value.arn;
    await awsCall('DeregisterTaskDefinition', arn, () => context.ecs.send(new DeregisterTaskDefinitionCommand({ taskDefinition: arn })));
  }
}

/** True when it created the log group. */
async function applyLogGroup(logs: CloudWatchLogsClient, plan: ProvisionPlan, record: Recorder): Promise<boolean> {
  const { desired } = plan;
  const name = desired.names.logGroup;
  const action = step(plan, 'log group')?.action;
  const setRetention = () =>
    awsCall('PutRetentionPolicy', name, () => logs.send(new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: desired.spec.logRetentionDays })));
  if (action === 'keep') {
    record('log group', name, 'unchanged');
    return false;
  }
  if (action === 'create') await awsCall('CreateLogGroup', name, () => logs.send(new CreateLogGroupCommand({ logGroupName: name, tags: desired.tags })));
  await setRetention();
  record('log group', name, action === 'create' ? 'created' : 'updated');
  return action === 'create';
}

async function applyTaskDefinition(ecs: ECSClient, plan: ProvisionPlan, record: Recorder): Promise<{ arn: string; registered: boolean }> {
  const kept = plan.snapshot.taskDefinition;
  if (step(plan, 'task definition')?.action === 'keep' && kept) {
    record('task definition', revisionName(kept.arn), 'unchanged');
    return { arn: kept.arn, registered: false };
  }
  const arn = await registerRevision(ecs, plan.desired.registration);
  record('task definition', revisionName(arn), 'created');
  return { arn, registered: true };
}

async function applyRouting(context: ProvisionContext, plan: ProvisionPlan, record: Recorder): Promise<Routed> {
  const { elb } = context;
  const { desired, snapshot } = plan;
  const routing = snapshot.routing;
  let routed: Routed;
  if (routing.kind === 'pool') routed = await placeInPool(context, plan, routing.pool, routing.placed, record);
  else {
    const given =
      routing.kind === 'listener'
        ? routing
        : routing.found?.listenerArn
          ? { listenerArn: routing.found.listenerArn, loadBalancer: routing.found.loadBalancer }
          : await listenerOf(elb, await ensureSharedListener(elb, desired.spec, routing.found?.loadBalancer.arn, record));
    if (routing.kind === 'shared' && routing.found?.listenerArn) record('load balancer', routing.name, 'unchanged');
    const targets = await applyTargetGroups(elb, plan, given.loadBalancer.vpcId, new Map(), record);
    const rule = await applyRule(context, plan, { listenerArn: given.listenerArn, hostListeners: [given.listenerArn] }, targets, record);
    if (!rule) {
      const limits = (await readPool(elb, [given.listenerArn])).quotas;
      throw new Refusal(
        `The load balancer ${given.loadBalancer.name} is full: it has reached the quota of target groups (${limits.targetGroups}) or rules (${limits.rules}) per Application Load Balancer.`,
        'use load-balancer-pool with grow-pool: true to spread environments over several ALBs, or tear down environments that are no longer needed.',
      );
    }
    routed = { ...given, targets, rule, pool: undefined };
  }
  const zone = desired.spec.hostedZoneId;
  if (zone && context.route53) {
    const { dnsName, canonicalHostedZoneId } = routed.loadBalancer;
    const change = await ensureAliasRecord(context.route53, zone, desired.host, desired.spec.identity, { dnsName, canonicalHostedZoneId });
    record('DNS record', `${desired.host} ALIAS ${dnsName}`, change);
  }
  return routed;
}

/**
 * The target group and rule on the chosen ALB. Concurrent runs can race for its last slot: the loser
 * reads the pool again and goes to the next ALB (or grows the pool), reusing its target group; one
 * refused in the end deletes the target groups it created, leaving nothing half-made.
 */
async function placeInPool(context: ProvisionContext, plan: ProvisionPlan, first: Pool, placed: PoolMember | undefined, record: Recorder): Promise<Routed> {
  const { elb } = context;
  const { spec } = plan.desired;
  const label = typeof spec.loadBalancerPool === 'string' ? spec.loadBalancerPool : `of ${first.members.length} listener(s)`;
  let pool = first;
  let member = placed;
  const created = new Map<string, string>();
  for (let attempt = 0; attempt < 6; attempt++) {
    if (!member && spec.growPool && pool.name) member = await growPool(elb, { ...pool, name: pool.name }, spec, record);
    if (!member?.listenerArn) break;
    const listenerArn = member.listenerArn;
    const loadBalancer = toLoadBalancer(member.loadBalancer, 'DescribeLoadBalancers');
    const targets = await applyTargetGroups(elb, plan, loadBalancer.vpcId, created, record);
    const hostListeners = pool.members.flatMap((other) => (other.listenerArn ? [other.listenerArn] : []));
    const rule = await applyRule(context, plan, { listenerArn, hostListeners }, targets, record);
    if (rule && spec.loadBalancerPool) return { loadBalancer, listenerArn, targets, rule, pool: await readPool(elb, spec.loadBalancerPool) };
    pool = await readPool(elb, spec.loadBalancerPool ?? []);
    member = choose(pool);
  }
  for (const [name, arn] of created) await awsCall('DeleteTargetGroup', name, () => elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: arn })));
  throw Refusal.of(fullPoolError(pool, label));
}

/** Every target group of the plan, side by side; `created` (name -> ARN) keeps those made by an earlier attempt. */
async function applyTargetGroups(
  elb: ElasticLoadBalancingV2Client,
  plan: ProvisionPlan,
  vpcId: string,
  created: Map<string, string>,
  record: Recorder,
): Promise<Targets> {
  const steps = plan.steps.filter((candidate) => candidate.resource === 'target group');
  const arns = await Promise.all(steps.map((group) => applyTargetGroup(elb, plan, group, vpcId, created, record)));
  return { primary: present(arns[0], 'target group', 'the plan'), alternate: arns[1] };
}

async function applyTargetGroup(
  elb: ElasticLoadBalancingV2Client,
  plan: ProvisionPlan,
  group: Step,
  vpcId: string,
  created: Map<string, string>,
  record: Recorder,
): Promise<string> {
  const { desired, snapshot } = plan;
  const { spec } = desired;
  const name = group.name;
  const health = wantedHealthCheck(spec);
  const healthSettings = {
    HealthCheckPath: health.path,
    HealthCheckIntervalSeconds: health.intervalSeconds,
    ...(health.timeoutSeconds === undefined ? {} : { HealthCheckTimeoutSeconds: health.timeoutSeconds }),
    Matcher: { HttpCode: health.matcher },
  };
  const setDelay = (arn: string) =>
    awsCall('ModifyTargetGroupAttributes', name, () =>
      elb.send(
        new ModifyTargetGroupAttributesCommand({
          TargetGroupArn: arn,
          Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(spec.deregistrationDelaySeconds) }],
        }),
      ),
    );
  const known = snapshot.targetGroups.get(name)?.arn ?? created.get(name);
  if (!known) {
    const response = await awsCall('CreateTargetGroup', name, () =>
      elb.send(
        new CreateTargetGroupCommand({
          Name: name,
          Protocol: 'HTTP',
          Port: spec.containerPort,
          VpcId: vpcId,
          TargetType: 'ip',
          ...healthSettings,
          Tags: toElbTags({ ...desired.tags, ...extraTargetGroupTags(desired) }),
        }),
      ),
    );
    const arn = present(response.TargetGroups?.[0]?.TargetGroupArn, 'TargetGroupArn', 'CreateTargetGroup');
    created.set(name, arn);
    await setDelay(arn);
    record('target group', name, 'created');
    return arn;
  }
  if (group.action === 'create' || created.has(name)) return known;
  const fields = new Set(group.diff.map((change) => change.field));
  const tags = Object.entries(extraTargetGroupTags(desired)).filter(([key]) => fields.has(`tag ${key}`));
  await Promise.all([
    tags.length > 0 && awsCall('AddTags', name, () => elb.send(new AddTagsCommand({ ResourceArns: [known], Tags: toElbTags(Object.fromEntries(tags)) }))),
    [...fields].some((field) => field.startsWith('health check')) &&
      awsCall('ModifyTargetGroup', name, () => elb.send(new ModifyTargetGroupCommand({ TargetGroupArn: known, ...healthSettings }))),
    fields.has('deregistration delay') && setDelay(known),
  ]);
  record('target group', name, group.action === 'update' ? 'updated' : 'unchanged');
  return known;
}

function ruleConditions(desired: Desired) {
  return [
    { Field: 'host-header', HostHeaderConfig: { Values: [desired.host] } },
    ...(desired.spec.pathPattern ? [{ Field: 'path-pattern', PathPatternConfig: { Values: [desired.spec.pathPattern] } }] : []),
  ];
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

/** The environment's rule on the listener; undefined when the ALB is full. Its priority is probed for here, at create time. */
async function applyRule(
  context: ProvisionContext,
  plan: ProvisionPlan,
  where: { listenerArn: string; hostListeners: string[] },
  targets: Targets,
  record: Recorder,
): Promise<{ arn: string; priority: string } | undefined> {
  const { elb } = context;
  const { desired } = plan;
  const { identity } = desired.spec;
  const { listenerArn } = where;
  const conditions = ruleConditions(desired);
  const actions = forwardActions(targets);
  const wanted = [targets.primary, ...(targets.alternate ? [targets.alternate] : [])].sort();
  const owned = new Set(wanted);
  const isOurs = (found: RuleOnListener) => isEnvironmentRule(found, identity, owned);
  for (let attempt = 0; attempt < 20; attempt++) {
    // Read again every attempt: a concurrent environment may have taken a priority or this host meanwhile.
    const rules = await rulesOf(elb, [listenerArn, ...where.hostListeners]);
    try {
      checkHostFree(rules, desired.host, identity, isOurs);
    } catch (error) {
      throw error instanceof ActionError ? Refusal.of(error) : error;
    }
    const onListener = rules.filter((found) => found.listenerArn === listenerArn);
    const tagged = onListener.find((found) => isOwnedBy(found.tags, identity) && !isOurs(found));
    if (tagged) {
      throw new ActionError(
        `Listener rule ${tagged.rule.RuleArn} is tagged as ${describeIdentity(identity)} but forwards to target groups it does not own (${forwardedTargetGroups(tagged.rule.Actions).join(', ')}); it was left unchanged.`,
        "remove that rule's ecs-deploy-actions tags or the rule itself, then run the step again.",
      );
    }
    const ours = onListener.find(isOurs)?.rule;
    if (ours) {
      const arn = present(ours.RuleArn, 'RuleArn', 'DescribeRules');
      const priority = present(ours.Priority, 'Priority', 'DescribeRules');
      const planned = plan.steps.find((candidate) => candidate.resource === 'listener rule');
      const fields = new Set(planned?.action === 'update' ? planned.diff.map((change) => change.field) : []);
      if (fields.size === 0) record('listener rule', `priority ${priority}`, 'unchanged');
      else {
        // Only the conditions when the targets are right: the weights stay where ECS put them.
        const update = fields.has('targets') ? { Conditions: conditions, Actions: actions } : { Conditions: conditions };
        await awsCall('ModifyRule', arn, () => elb.send(new ModifyRuleCommand({ RuleArn: arn, ...update })));
        record('listener rule', `priority ${priority}`, 'updated');
      }
      return { arn, priority };
    }
    // Probe from the name's preferred slot to the first free one; never take a priority in use.
    const used = new Set(onListener.map((found) => Number(found.rule.Priority)));
    let priority = preferredPriority(identity) + attempt;
    while (used.has(priority)) priority = (priority % 50_000) + 1;
    try {
      const created = await elb.send(
        new CreateRuleCommand({ ListenerArn: listenerArn, Priority: priority, Conditions: conditions, Actions: actions, Tags: toElbTags(desired.tags) }),
      );
      record('listener rule', `priority ${priority}`, 'created');
      return { arn: present(created.Rules?.[0]?.RuleArn, 'RuleArn', 'CreateRule'), priority: String(priority) };
    } catch (error) {
      // The ALB is full: the caller tells the user, or places the environment elsewhere.
      if (/^TooMany(?:UniqueTargetGroupsPerLoadBalancer|Rules)(?:Exception)?$/.test(sdkErrorName(error) ?? '')) return undefined;
      // Another environment took the slot between our read and our create: read again and probe on.
      if (sdkErrorName(error) !== 'PriorityInUseException') throw wrapAwsError('CreateRule', `priority ${priority}`, error);
    }
  }
  throw new Refusal('Could not find a free listener-rule priority after 20 tries.', 'retry the step; many environments are provisioning at once.');
}

interface Started {
  deployment: StartedDeployment;
  service: Service;
}

function serviceLoadBalancers(desired: Desired, targets: Targets, listenerRuleArn: string) {
  return [
    {
      targetGroupArn: targets.primary,
      containerName: desired.registration.containerDefinitions[0]?.name ?? desired.spec.containerName,
      containerPort: desired.spec.containerPort,
      ...(targets.alternate
        ? {
            advancedConfiguration: {
              alternateTargetGroupArn: targets.alternate,
              productionListenerRule: listenerRuleArn,
              roleArn: desired.spec.infrastructureRoleArn,
            },
          }
        : {}),
    },
  ];
}

const networkConfiguration = (desired: Desired) => ({
  awsvpcConfiguration: {
    subnets: desired.spec.network.subnets,
    securityGroups: desired.spec.network.securityGroups,
    assignPublicIp: desired.spec.network.assignPublicIp ? ('ENABLED' as const) : ('DISABLED' as const),
  },
});

async function createService(ecs: ECSClient, desired: Desired, taskDefinitionArn: string, routed: Routed, record: Recorder): Promise<Started> {
  const { spec, names } = desired;
  const { cluster } = spec.identity;
  const response = await awsCall('CreateService', names.service, () =>
    ecs.send(
      new CreateServiceCommand({
        cluster,
        serviceName: names.service,
        taskDefinition: taskDefinitionArn,
        desiredCount: spec.desiredCount,
        capacityProviderStrategy: spec.capacityProviderStrategy,
        networkConfiguration: networkConfiguration(desired),
        loadBalancers: serviceLoadBalancers(desired, routed.targets, routed.rule.arn),
        healthCheckGracePeriodSeconds: spec.healthCheck.gracePeriodSeconds,
        deploymentConfiguration: {
          deploymentCircuitBreaker: { enable: true, rollback: true },
          minimumHealthyPercent: 100,
          maximumPercent: 200,
          ...(routed.targets.alternate ? { strategy: 'BLUE_GREEN' as const } : {}),
        },
        enableExecuteCommand: spec.enableExecuteCommand,
        propagateTags: 'SERVICE',
        enableECSManagedTags: true,
        tags: toEcsTags(desired.tags),
      }),
    ),
  );
  record('service', names.service, 'created');
  const service = present(response.service, 'service', 'CreateService');
  const primary = present(
    service.deployments?.find((deployment) => deployment.status === 'PRIMARY'),
    'PRIMARY deployment',
    'CreateService',
  );
  const startedAt = primary.createdAt ?? new Date();
  return {
    service,
    deployment: {
      cluster,
      serviceName: names.service,
      previousTaskDefinitionArn: '',
      taskDefinitionArn,
      deploymentId: present(primary.id, 'deployment id', 'CreateService'),
      serviceDeploymentArn: await findServiceDeployment(ecs, cluster, names.service, startedAt),
      startedAt,
      unchanged: false,
    },
  };
}

/** The deployment to follow, if any: the one this update starts, or one an earlier run left going. */
async function updateService(
  context: ProvisionContext,
  plan: ProvisionPlan,
  service: ServiceState,
  taskDefinitionArn: string,
  routed: Routed,
  record: Recorder,
): Promise<Started | undefined> {
  const { ecs, progress } = context;
  const { desired } = plan;
  const { spec } = desired;
  const { cluster } = spec.identity;
  const resource = `service ${service.name}`;
  // Forgotten before the update, so a re-run after a kill still wakes it.
  const forget = sleepTagsToForget(service, spec);
  if (forget.length > 0) {
    await awsCall('UntagResource', resource, () => ecs.send(new UntagResourceCommand({ resourceArn: service.arn, tagKeys: forget })));
    progress.line(`${resource}: was asleep; the desired count it recorded is forgotten (desired count now ${spec.desiredCount})`);
  }
  // A preview in use stays: every provision moves its ttl on (the sweep reads it from the service first).
  const expiresAt = desired.tags[TAG_EXPIRES_AT];
  if (expiresAt && service.tags[TAG_EXPIRES_AT] !== expiresAt) {
    await awsCall('TagResource', resource, () =>
      ecs.send(new TagResourceCommand({ resourceArn: service.arn, tags: [{ key: TAG_EXPIRES_AT, value: expiresAt }] })),
    );
    progress.line(`${resource}: ttl moved on to ${expiresAt}`);
  }
  const planned = step(plan, 'service');
  if (planned?.action !== 'update') {
    record('service', service.name, 'unchanged');
    // A run killed (or timed out) while it waited left its deployment going: wait for it as that run would have.
    const left = await unsettled(ecs, cluster, service);
    if (left) progress.line(`${resource}: a deployment an earlier run started is still in progress; waiting for it`);
    return left ? { deployment: left, service: service.described } : undefined;
  }
  const fields = new Set(planned.diff.map((change) => change.field));
  const network = fields.has('subnets') || fields.has('security groups') || fields.has('public IP');
  const port = service.containerPort !== spec.containerPort && !service.blueGreen;
  const deployment = await startDeployment(context, cluster, service.described, {
    taskDefinitionArn,
    desiredCount: spec.desiredCount,
    // New network or capacity settings take effect on new tasks only.
    forceNewDeployment: network || fields.has('capacity provider strategy'),
    settings: {
      ...(network ? { networkConfiguration: networkConfiguration(desired) } : {}),
      ...(fields.has('capacity provider strategy') ? { capacityProviderStrategy: spec.capacityProviderStrategy } : {}),
      ...(fields.has('execute command') ? { enableExecuteCommand: spec.enableExecuteCommand } : {}),
      ...(port ? { loadBalancers: serviceLoadBalancers(desired, routed.targets, routed.rule.arn) } : {}),
    },
  });
  record('service', service.name, 'updated');
  return { deployment, service: service.described };
}

/** The PRIMARY deployment to follow when the service has not reached steady state. */
async function unsettled(ecs: ECSClient, cluster: string, service: ServiceState): Promise<StartedDeployment | undefined> {
  const deployments = service.described.deployments ?? [];
  const primary = deployments.find((deployment) => deployment.status === 'PRIMARY');
  const steady = primary?.rolloutState === 'COMPLETED' && deployments.length === 1 && service.described.runningCount === service.desiredCount;
  if (!primary?.id || steady) return undefined;
  const newest = Math.max(...deployments.map((deployment) => deployment.createdAt?.getTime() ?? 0));
  // An older deployment is PRIMARY again while ECS rolls back to it: followed, as a wake follows a scale-up,
  // to the steady state after the failed one. The newest is the one a run started: its service deployment tells how it ends.
  const rollingBack = (primary.createdAt?.getTime() ?? 0) < newest;
  const startedAt = rollingBack ? new Date(newest) : (primary.createdAt ?? new Date());
  return {
    cluster,
    serviceName: service.name,
    previousTaskDefinitionArn: service.taskDefinitionArn,
    taskDefinitionArn: primary.taskDefinition ?? service.taskDefinitionArn,
    deploymentId: primary.id,
    serviceDeploymentArn: rollingBack ? undefined : await findServiceDeployment(ecs, cluster, service.name, startedAt),
    startedAt,
    unchanged: false,
    scaling: rollingBack ? { failedTasksBefore: primary.failedTasks ?? 0 } : undefined,
  };
}
