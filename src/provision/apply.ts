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
import { CreateClusterCommand, CreateServiceCommand, DescribeTaskDefinitionCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
  ModifyRuleCommand,
  ModifyTargetGroupAttributesCommand,
  ModifyTargetGroupCommand,
  type Rule,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { ProvisionPlatformConfig } from '../actions/provision-platform.ts';
import { awsCall, sdkErrorName, wrapAwsError } from '../aws.ts';
import { findCluster } from '../ecs/cluster.ts';
import { findServiceDeployment, type StartedDeployment, startDeployment } from '../ecs/deploy.ts';
import { registerRevision } from '../ecs/revision.ts';
import { type DeploymentResult, type EngineContext, follow } from '../ecs/rollout.ts';
import { describeServices, tagsOf, toEcsTags } from '../ecs/services.ts';
import { describeElbTags, toElbTags } from '../elb/tags.ts';
import { isOwnedBy, MANAGED_BY, TAG_MANAGED_BY } from '../environment.ts';
import { ActionError } from '../errors.ts';
import { ensureSharedListener } from './shared-alb.ts';
import { type EnvironmentSpec, TAG_SPEC } from './spec.ts';

export type Change = 'created' | 'updated' | 'unchanged';

export interface ProvisionResult {
  changes: { resource: string; name: string; change: Change }[];
  serviceArn: string;
  targetGroupArn: string;
  listenerRuleArn: string;
  taskDefinitionArn: string;
  deployment: DeploymentResult | undefined;
}

export interface ProvisionContext extends EngineContext {
  elb: ElasticLoadBalancingV2Client;
}

function notOurs(kind: string, name: string, environment: string): ActionError {
  return new ActionError(
    `A ${kind} named ${name} exists but is not tagged as owned by environment ${environment}; it was left untouched.`,
    `delete or rename that ${kind}, or pick another environment or cluster name.`,
  );
}

/** A listener-rule priority derived from the name, so concurrent environments rarely collide. */
export function preferredPriority(environment: string): number {
  return 1 + (createHash('sha256').update(environment).digest().readUInt32BE(0) % 49_000);
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
  if (await findCluster(ecs, config.cluster)) record('cluster', config.cluster, 'unchanged');
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
  const listenerArn = config.listenerArn ?? (await ensureSharedListener(elb, config, record));
  const listener = await elb.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] })).catch((error: unknown) => {
    if (sdkErrorName(error) === 'ListenerNotFoundException')
      throw new ActionError(`Listener ${listenerArn} was not found.`, 'check listener-arn and AWS_REGION.');
    throw wrapAwsError('DescribeListeners', listenerArn, error);
  });
  const loadBalancerArn = listener.Listeners?.[0]?.LoadBalancerArn ?? '';
  const balancers = await awsCall('DescribeLoadBalancers', loadBalancerArn, () =>
    elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [loadBalancerArn] })),
  );
  const vpcId = balancers.LoadBalancers?.[0]?.VpcId ?? '';

  progress.phase(`Environment ${environment}: logs, routing, revision, service`);
  await ensureLogGroup(logs, spec, config.logRetentionDays, record);
  const targetGroup = await ensureTargetGroup(elb, spec, config, vpcId, record);
  const targetGroupArn = targetGroup.TargetGroupArn ?? '';
  const listenerRuleArn = await ensureRule(elb, spec, config, listenerArn, targetGroupArn, record);

  const [existing] = (await describeServices(ecs, config.cluster, [spec.names.service])).found;
  if (existing && !isOwnedBy(tagsOf(existing), environment)) {
    throw notOurs('service', spec.names.service, environment);
  }
  const taskDefinitionArn = await ensureRevision(ecs, spec, existing, record);

  let started: StartedDeployment | undefined;
  let service = existing;
  if (!existing) {
    ({ started, service } = await createService(ecs, config, spec, taskDefinitionArn, targetGroupArn));
    record('service', spec.names.service, 'created');
  } else if (existing.taskDefinition !== taskDefinitionArn || existing.desiredCount !== config.desiredCount) {
    started = await startDeployment(ecs, config.cluster, existing, { taskDefinitionArn, desiredCount: config.desiredCount, forceNewDeployment: false });
    record('service', spec.names.service, 'updated');
  } else record('service', spec.names.service, 'unchanged');

  let deployment: DeploymentResult | undefined;
  if (started && service) {
    [deployment] = await follow(context, [started], [{ service, taskDefinitionArn, containers: spec.registration.containerDefinitions }], config.timeout);
  }
  return { changes, serviceArn: service?.serviceArn ?? '', targetGroupArn, listenerRuleArn, taskDefinitionArn, deployment };
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
  if (!isOwnedBy(tags, spec.environment)) throw notOurs('log group', name, spec.environment);
  if (found.retentionInDays !== Number(retentionDays)) {
    await awsCall('PutRetentionPolicy', name, () => logs.send(new PutRetentionPolicyCommand({ logGroupName: name, retentionInDays: Number(retentionDays) })));
    record('log group', name, 'updated');
  } else record('log group', name, 'unchanged');
}

async function ensureTargetGroup(
  elb: ElasticLoadBalancingV2Client,
  spec: EnvironmentSpec,
  config: ProvisionPlatformConfig,
  vpcId: string,
  record: (r: string, n: string, c: Change) => void,
): Promise<TargetGroup> {
  const name = spec.names.targetGroup;
  const health = {
    HealthCheckPath: config.healthCheckPath,
    HealthCheckIntervalSeconds: config.healthCheckInterval,
    Matcher: { HttpCode: config.healthCheckMatcher },
  };
  const found = await elb.send(new DescribeTargetGroupsCommand({ Names: [name] })).then(
    (response) => response.TargetGroups?.[0],
    (error: unknown) => {
      if (sdkErrorName(error) === 'TargetGroupNotFoundException') return undefined;
      throw wrapAwsError('DescribeTargetGroups', name, error);
    },
  );
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
          Tags: toElbTags(spec.tags),
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
    return group;
  }
  const arn = found.TargetGroupArn ?? '';
  if (!isOwnedBy((await describeElbTags(elb, [arn])).get(arn) ?? {}, spec.environment)) throw notOurs('target group', name, spec.environment);
  let change: Change = 'unchanged';
  if (
    found.HealthCheckPath !== health.HealthCheckPath ||
    found.HealthCheckIntervalSeconds !== health.HealthCheckIntervalSeconds ||
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
  return found;
}

function ruleConditions(spec: EnvironmentSpec, config: ProvisionPlatformConfig) {
  return [
    { Field: 'host-header', HostHeaderConfig: { Values: [spec.host] } },
    ...(config.pathPattern ? [{ Field: 'path-pattern', PathPatternConfig: { Values: [config.pathPattern] } }] : []),
  ];
}

function sameRule(rule: Rule, conditions: ReturnType<typeof ruleConditions>, targetGroupArn: string): boolean {
  const hosts = rule.Conditions?.find((c) => c.Field === 'host-header')?.HostHeaderConfig?.Values ?? [];
  const paths = rule.Conditions?.find((c) => c.Field === 'path-pattern')?.PathPatternConfig?.Values ?? [];
  const wantedPaths = conditions.find((c) => c.Field === 'path-pattern')?.PathPatternConfig?.Values ?? [];
  const forward = rule.Actions?.find((a) => a.Type === 'forward');
  const target = forward?.TargetGroupArn ?? forward?.ForwardConfig?.TargetGroups?.[0]?.TargetGroupArn;
  return (
    JSON.stringify(hosts) === JSON.stringify(conditions[0]?.HostHeaderConfig?.Values) &&
    JSON.stringify(paths) === JSON.stringify(wantedPaths) &&
    target === targetGroupArn
  );
}

async function ensureRule(
  elb: ElasticLoadBalancingV2Client,
  spec: EnvironmentSpec,
  config: ProvisionPlatformConfig,
  listenerArn: string,
  targetGroupArn: string,
  record: (r: string, n: string, c: Change) => void,
): Promise<string> {
  const conditions = ruleConditions(spec, config);
  const actions = [{ Type: 'forward' as const, TargetGroupArn: targetGroupArn }];
  for (let attempt = 0; attempt < 20; attempt++) {
    const rules = (await awsCall('DescribeRules', listenerArn, () => elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn })))).Rules ?? [];
    const candidates = rules.filter((rule) => !rule.IsDefault);
    const tags = await describeElbTags(
      elb,
      candidates.map((rule) => rule.RuleArn ?? ''),
    );
    const ours = candidates.find((rule) => isOwnedBy(tags.get(rule.RuleArn ?? '') ?? {}, spec.environment));
    if (ours?.RuleArn) {
      if (sameRule(ours, conditions, targetGroupArn)) record('listener rule', `priority ${ours.Priority}`, 'unchanged');
      else {
        await awsCall('ModifyRule', ours.RuleArn, () => elb.send(new ModifyRuleCommand({ RuleArn: ours.RuleArn, Conditions: conditions, Actions: actions })));
        record('listener rule', `priority ${ours.Priority}`, 'updated');
      }
      return ours.RuleArn;
    }
    // Probe from the name's preferred slot to the first free one; never take a priority in use.
    const used = new Set(candidates.map((rule) => Number(rule.Priority)));
    let priority = preferredPriority(spec.environment) + attempt;
    while (used.has(priority)) priority = (priority % 50_000) + 1;
    try {
      const created = await elb.send(
        new CreateRuleCommand({ ListenerArn: listenerArn, Priority: priority, Conditions: conditions, Actions: actions, Tags: toElbTags(spec.tags) }),
      );
      record('listener rule', `priority ${priority}`, 'created');
      return created.Rules?.[0]?.RuleArn ?? '';
    } catch (error) {
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
  targetGroupArn: string,
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
          { targetGroupArn, containerName: spec.registration.containerDefinitions[0]?.name ?? config.containerName, containerPort: config.containerPort },
        ],
        healthCheckGracePeriodSeconds: config.healthCheckGracePeriod,
        deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true }, minimumHealthyPercent: 100, maximumPercent: 200 },
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
