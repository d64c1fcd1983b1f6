// What exists of an environment now, read before anything changes (describe calls only): the SDK's
// shapes parsed into domain types whose fields are required, so an absent ARN fails where it is read.
import { type CloudWatchLogsClient, DescribeLogGroupsCommand, ListTagsForResourceCommand } from '@aws-sdk/client-cloudwatch-logs';
import { type ContainerDefinition, DescribeTaskDefinitionCommand, type ECSClient, type Service } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
  type LoadBalancer,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import type { Route53Client } from '@aws-sdk/client-route-53';
import { awsCall, sdkErrorName, wrapAwsError } from '../aws.ts';
import { findCluster } from '../ecs/cluster.ts';
import { describeServices, tagsOf } from '../ecs/services.ts';
import { type RuleOnListener, rulesOf } from '../elb/rules.ts';
import { describeElbTags } from '../elb/tags.ts';
import { TAG_SPEC, type Tags } from '../environment.ts';
import { ActionError } from '../errors.ts';
import { type AliasState, readAlias } from './dns.ts';
import { choose, type Pool, type PoolMember, readPool } from './pool.ts';
import { present } from './present.ts';
import { findSharedLoadBalancer, sharedLoadBalancerName } from './shared-alb.ts';
import type { CapacityProvider, CapacityShare, Desired, Network } from './spec.ts';

export interface LoadBalancerState {
  arn: string;
  name: string;
  dnsName: string;
  canonicalHostedZoneId: string;
  vpcId: string;
  /** Its subnets and security groups: known to exist, in its VPC. */
  subnets: string[];
  securityGroups: string[];
}

export function toLoadBalancer(balancer: LoadBalancer | undefined, call: string): LoadBalancerState {
  const found = present(balancer, 'load balancer', call);
  return {
    arn: present(found.LoadBalancerArn, 'LoadBalancerArn', call),
    name: present(found.LoadBalancerName, 'LoadBalancerName', call),
    dnsName: present(found.DNSName, 'DNSName', call),
    canonicalHostedZoneId: present(found.CanonicalHostedZoneId, 'CanonicalHostedZoneId', call),
    vpcId: present(found.VpcId, 'VpcId', call),
    subnets: (found.AvailabilityZones ?? []).flatMap((zone) => (zone.SubnetId ? [zone.SubnetId] : [])),
    securityGroups: found.SecurityGroups ?? [],
  };
}

export interface ContainerState {
  name: string;
  image: string;
  ports: number[];
  environment: Record<string, string>;
  /** Secret name -> the ARN it is read from (names only are ever shown). */
  secrets: Record<string, string>;
  /** The awslogs group the container logs to, when it uses awslogs. */
  logGroup: string | undefined;
  createsLogGroup: boolean;
}

export function toContainer(container: ContainerDefinition, call: string): ContainerState {
  const options = container.logConfiguration?.logDriver === 'awslogs' ? (container.logConfiguration.options ?? {}) : {};
  return {
    name: present(container.name, 'container name', call),
    image: present(container.image, `image of container ${container.name}`, call),
    ports: (container.portMappings ?? []).flatMap((mapping) => (mapping.containerPort === undefined ? [] : [mapping.containerPort])),
    environment: Object.fromEntries((container.environment ?? []).map((pair) => [present(pair.name, 'environment name', call), pair.value ?? ''])),
    secrets: Object.fromEntries(
      (container.secrets ?? []).map((pair) => [present(pair.name, 'secret name', call), present(pair.valueFrom, `valueFrom of secret ${pair.name}`, call)]),
    ),
    logGroup: options['awslogs-group'],
    createsLogGroup: options['awslogs-create-group'] === 'true',
  };
}

export interface TaskDefinitionState {
  arn: string;
  /** The hash of the spec the revision was registered from, when provision-platform registered it. */
  specHash: string | undefined;
  cpu: string | undefined;
  memory: string | undefined;
  executionRoleArn: string | undefined;
  taskRoleArn: string | undefined;
  containers: ContainerState[];
}

export interface ServiceState {
  arn: string;
  name: string;
  tags: Tags;
  taskDefinitionArn: string;
  desiredCount: number;
  network: Network | undefined;
  capacityProviderStrategy: CapacityShare[];
  enableExecuteCommand: boolean;
  /** Provisioned for blue-green: its load balancer has an alternate target group. */
  blueGreen: boolean;
  /** The container port the load balancer sends traffic to. */
  containerPort: number | undefined;
  /** As DescribeServices returned it, for the deploy engine. */
  described: Service;
}

function toService(service: Service): ServiceState {
  const call = 'DescribeServices';
  const vpc = service.networkConfiguration?.awsvpcConfiguration;
  return {
    arn: present(service.serviceArn, 'serviceArn', call),
    name: present(service.serviceName, 'serviceName', call),
    tags: tagsOf(service),
    taskDefinitionArn: present(service.taskDefinition, 'taskDefinition', call),
    desiredCount: present(service.desiredCount, 'desiredCount', call),
    network: vpc ? { subnets: vpc.subnets ?? [], securityGroups: vpc.securityGroups ?? [], assignPublicIp: vpc.assignPublicIp === 'ENABLED' } : undefined,
    capacityProviderStrategy: (service.capacityProviderStrategy ?? []).map((item) => ({
      capacityProvider: present(item.capacityProvider, 'capacityProvider', call) as CapacityProvider,
      weight: item.weight ?? 0,
    })),
    enableExecuteCommand: service.enableExecuteCommand === true,
    blueGreen: service.loadBalancers?.some((balancer) => balancer.advancedConfiguration?.alternateTargetGroupArn) ?? false,
    containerPort: service.loadBalancers?.[0]?.containerPort,
    described: service,
  };
}

export interface HealthCheck {
  path: string;
  intervalSeconds: number;
  timeoutSeconds: number | undefined;
  matcher: string;
}

export interface TargetGroupState {
  name: string;
  arn: string;
  tags: Tags;
  port: number;
  healthCheck: HealthCheck;
  deregistrationDelaySeconds: string | undefined;
  loadBalancerArns: string[];
}

export interface LogGroupState {
  name: string;
  retentionDays: number | undefined;
  tags: Tags;
}

/** How the environment is reached: a given listener, the cluster's shared ALB (maybe not made yet), or a pool. */
export type RoutingState =
  | { kind: 'listener'; listenerArn: string; loadBalancer: LoadBalancerState }
  | { kind: 'shared'; name: string; found: { listenerArn: string | undefined; loadBalancer: LoadBalancerState } | undefined }
  | { kind: 'pool'; pool: Pool; placed: PoolMember | undefined };

export interface Snapshot {
  clusterExists: boolean;
  service: ServiceState | undefined;
  taskDefinition: TaskDefinitionState | undefined;
  /** By name; only those that exist. */
  targetGroups: Map<string, TargetGroupState>;
  routing: RoutingState;
  /** Every non-default rule on the listeners the environment could be routed by, with tags. */
  rules: RuleOnListener[];
  logGroup: LogGroupState | undefined;
  /** With hosted-zone-id. */
  dns: AliasState | undefined;
}

export interface ObserveClients {
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  logs: CloudWatchLogsClient;
  route53?: Route53Client | undefined;
}

/** The listener and the load balancer it belongs to; a missing listener is named as the input to fix. */
export async function listenerOf(elb: ElasticLoadBalancingV2Client, listenerArn: string): Promise<{ listenerArn: string; loadBalancer: LoadBalancerState }> {
  const listener = await elb.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] })).catch((error: unknown) => {
    if (sdkErrorName(error) === 'ListenerNotFoundException')
      throw new ActionError(`Listener ${listenerArn} was not found.`, 'check listener-arn and AWS_REGION.');
    throw wrapAwsError('DescribeListeners', listenerArn, error);
  });
  const loadBalancerArn = present(listener.Listeners?.[0]?.LoadBalancerArn, 'LoadBalancerArn', 'DescribeListeners');
  const balancers = await awsCall('DescribeLoadBalancers', loadBalancerArn, () =>
    elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [loadBalancerArn] })),
  );
  return { listenerArn, loadBalancer: toLoadBalancer(balancers.LoadBalancers?.[0], 'DescribeLoadBalancers') };
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

async function observeTargetGroup(elb: ElasticLoadBalancingV2Client, name: string): Promise<TargetGroupState | undefined> {
  const found = await findTargetGroup(elb, name);
  if (!found) return undefined;
  const call = 'DescribeTargetGroups';
  const arn = present(found.TargetGroupArn, 'TargetGroupArn', call);
  const [tags, attributes] = await Promise.all([
    describeElbTags(elb, [arn]),
    awsCall('DescribeTargetGroupAttributes', name, () => elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: arn }))),
  ]);
  return {
    name,
    arn,
    tags: tags.get(arn) ?? {},
    port: present(found.Port, 'Port', call),
    healthCheck: {
      path: found.HealthCheckPath ?? '/',
      intervalSeconds: present(found.HealthCheckIntervalSeconds, 'HealthCheckIntervalSeconds', call),
      timeoutSeconds: found.HealthCheckTimeoutSeconds,
      matcher: found.Matcher?.HttpCode ?? '200',
    },
    deregistrationDelaySeconds: attributes.Attributes?.find((attribute) => attribute.Key === 'deregistration_delay.timeout_seconds')?.Value,
    loadBalancerArns: found.LoadBalancerArns ?? [],
  };
}

async function observeLogGroup(logs: CloudWatchLogsClient, name: string): Promise<LogGroupState | undefined> {
  const listed = await awsCall('DescribeLogGroups', name, () => logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: name })));
  const found = listed.logGroups?.find((group) => group.logGroupName === name);
  if (!found) return undefined;
  const arn = present(found.arn, 'arn', 'DescribeLogGroups').replace(/:\*$/, '');
  const tags = await awsCall('ListTagsForResource', name, () => logs.send(new ListTagsForResourceCommand({ resourceArn: arn })));
  return { name, retentionDays: found.retentionInDays, tags: tags.tags ?? {} };
}

async function observeTaskDefinition(ecs: ECSClient, arn: string): Promise<TaskDefinitionState> {
  const call = 'DescribeTaskDefinition';
  const described = await awsCall(call, arn, () => ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: arn, include: ['TAGS'] })));
  const definition = present(described.taskDefinition, 'taskDefinition', call);
  return {
    arn: present(definition.taskDefinitionArn, 'taskDefinitionArn', call),
    specHash: described.tags?.find((tag) => tag.key === TAG_SPEC)?.value,
    cpu: definition.cpu,
    memory: definition.memory,
    executionRoleArn: definition.executionRoleArn,
    taskRoleArn: definition.taskRoleArn,
    containers: (definition.containerDefinitions ?? []).map((container) => toContainer(container, call)),
  };
}

async function observeService(ecs: ECSClient, desired: Desired): Promise<Pick<Snapshot, 'clusterExists' | 'service' | 'taskDefinition'>> {
  const { cluster } = desired.spec.identity;
  if (!(await findCluster(ecs, cluster))) return { clusterExists: false, service: undefined, taskDefinition: undefined };
  const [found] = (await describeServices(ecs, cluster, [desired.names.service])).found;
  const service = found ? toService(found) : undefined;
  return { clusterExists: true, service, taskDefinition: service ? await observeTaskDefinition(ecs, service.taskDefinitionArn) : undefined };
}

/** Where the environment goes in a pool: the ALB its target group is already on (a re-run stays put), else the freest. */
function placement(pool: Pool, group: TargetGroupState | undefined): PoolMember | undefined {
  return pool.members.find((member) => group?.loadBalancerArns.includes(member.loadBalancer.LoadBalancerArn ?? '')) ?? choose(pool);
}

async function observeRouting(elb: ElasticLoadBalancingV2Client, desired: Desired, primary: Promise<TargetGroupState | undefined>): Promise<RoutingState> {
  const { spec } = desired;
  if (spec.loadBalancerPool) {
    const pool = await readPool(elb, spec.loadBalancerPool);
    return { kind: 'pool', pool, placed: placement(pool, await primary) };
  }
  if (spec.listenerArn) return { kind: 'listener', ...(await listenerOf(elb, spec.listenerArn)) };
  const name = sharedLoadBalancerName(spec.identity.cluster);
  const balancer = await findSharedLoadBalancer(elb, spec.identity.cluster);
  if (!balancer) return { kind: 'shared', name, found: undefined };
  const loadBalancer = toLoadBalancer(balancer, 'DescribeLoadBalancers');
  const listeners = await awsCall('DescribeListeners', name, () => elb.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancer.arn })));
  const https = listeners.Listeners?.find((listener) => listener.Port === 443)?.ListenerArn;
  return { kind: 'shared', name, found: { listenerArn: https, loadBalancer } };
}

function routingListeners(routing: RoutingState): string[] {
  if (routing.kind === 'listener') return [routing.listenerArn];
  if (routing.kind === 'shared') return routing.found?.listenerArn ? [routing.found.listenerArn] : [];
  return routing.pool.members.flatMap((member) => (member.listenerArn ? [member.listenerArn] : []));
}

/** Everything the plan needs, read in parallel where the reads do not depend on each other. */
export async function observe(clients: ObserveClients, desired: Desired): Promise<Snapshot> {
  const { ecs, elb, logs, route53 } = clients;
  const { spec } = desired;
  const groups = desired.targetGroupNames.map((name) => observeTargetGroup(elb, name));
  const routing = observeRouting(elb, desired, groups[0] ?? Promise.resolve(undefined));
  const rules = routing.then((found) => rulesOf(elb, routingListeners(found)));
  const [service, targetGroups, routed, onListeners, logGroup, dns] = await Promise.all([
    observeService(ecs, desired),
    Promise.all(groups),
    routing,
    rules,
    observeLogGroup(logs, desired.names.logGroup),
    spec.hostedZoneId && route53 ? readAlias(route53, spec.hostedZoneId, desired.host, spec.identity) : undefined,
  ]);
  return {
    ...service,
    targetGroups: new Map(targetGroups.flatMap((group) => (group ? [[group.name, group]] : []))),
    routing: routed,
    rules: onListeners,
    logGroup,
    dns,
  };
}
