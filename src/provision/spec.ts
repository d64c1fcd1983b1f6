// What provision-platform is asked for (ProvisionSpec, typed from the inputs) and what the environment
// should then look like (Desired: names, host, tags, the task-definition registration), before anything is read.
import { createHash } from 'node:crypto';
import { toEcsTags } from '../ecs/services.ts';
import { type Registration, readTaskDefinitionFile, toRegistration } from '../ecs/task-definition.ts';
import {
  type EnvironmentNames,
  environmentNames,
  type Identity,
  ownershipTags,
  pullRequestTag,
  TAG_EXPIRES_AT,
  TAG_PULL_REQUEST,
  TAG_SPEC,
  type Tags,
} from '../environment.ts';
import type { PullRequestRef } from '../github.ts';

export type CapacityProvider = 'FARGATE' | 'FARGATE_SPOT';

export interface CapacityShare {
  capacityProvider: CapacityProvider;
  weight: number;
}

export interface Network {
  subnets: string[];
  securityGroups: string[];
  assignPublicIp: boolean;
}

export interface HealthCheckSpec {
  path: string;
  matcher: string;
  intervalSeconds: number;
  gracePeriodSeconds: number;
}

export interface ProvisionSpec {
  identity: Identity;
  /** One of listenerArn, loadBalancerPool, or neither (the cluster's shared ALB, made from certificateArn and loadBalancerSubnets). */
  listenerArn: string | undefined;
  loadBalancerPool: string | string[] | undefined;
  growPool: boolean;
  certificateArn: string | undefined;
  loadBalancerSubnets: string[] | undefined;
  loadBalancerSecurityGroups: string[] | undefined;
  hostedZoneId: string | undefined;
  hostPattern: string;
  pathPattern: string | undefined;
  /** Exactly one of image and taskDefinitionFile. */
  image: string | undefined;
  taskDefinitionFile: string | undefined;
  executionRoleArn: string | undefined;
  taskRoleArn: string | undefined;
  containerName: string;
  containerPort: number;
  network: Network;
  healthCheck: HealthCheckSpec;
  deregistrationDelaySeconds: number;
  desiredCount: number;
  cpu: number;
  memory: number;
  capacityProviderStrategy: CapacityShare[];
  environmentVariables: [string, string][];
  secrets: [string, string][];
  logRetentionDays: number;
  containerInsights: boolean;
  ttlSeconds: number | undefined;
  pullRequest: PullRequestRef | undefined;
  timeoutSeconds: number;
  strategy: 'rolling' | 'blue-green';
  infrastructureRoleArn: string | undefined;
  enableExecuteCommand: boolean;
}

export interface Desired {
  spec: ProvisionSpec;
  names: EnvironmentNames;
  host: string;
  url: string;
  tags: Tags;
  registration: Registration;
  /** Hash of the registration, kept in a tag so a re-run can tell an unchanged revision without diffing defaults. */
  specHash: string;
  /** The environment's target group, and with blue-green the alternate one ECS shifts traffic to. */
  targetGroupNames: string[];
}

/** Keys sorted at every level, so equal specs hash equally. */
function canonical(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(canonical);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([, child]) => child !== undefined)
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([key, child]) => [key, canonical(child)]),
    );
  }
  return value;
}

export function desiredEnvironment(spec: ProvisionSpec, region: string, now = new Date()): Desired {
  const { identity } = spec;
  const names = environmentNames(identity.cluster, identity.environment);
  const host = spec.hostPattern.replace('{env}', identity.environment);
  const path = spec.pathPattern ? spec.pathPattern.replace(/\*.*$/, '') : '/';
  const tags: Tags = ownershipTags(identity);
  if (spec.ttlSeconds !== undefined) tags[TAG_EXPIRES_AT] = new Date(now.getTime() + spec.ttlSeconds * 1000).toISOString();
  if (spec.pullRequest) tags[TAG_PULL_REQUEST] = pullRequestTag(spec.pullRequest);

  let registration: Registration;
  if (spec.taskDefinitionFile) {
    const file = readTaskDefinitionFile(spec.taskDefinitionFile);
    // The family is the environment's, whatever the file says, so teardown finds every revision.
    registration = { ...toRegistration(file.definition, file.tags, spec.taskDefinitionFile), family: names.family };
  } else {
    registration = {
      family: names.family,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: String(spec.cpu),
      memory: String(spec.memory),
      executionRoleArn: spec.executionRoleArn,
      taskRoleArn: spec.taskRoleArn,
      containerDefinitions: [
        {
          name: spec.containerName,
          image: spec.image,
          essential: true,
          portMappings: [{ containerPort: spec.containerPort, protocol: 'tcp' }],
          environment: spec.environmentVariables.map(([name, value]) => ({ name, value })),
          secrets: spec.secrets.map(([name, valueFrom]) => ({ name, valueFrom })),
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': names.logGroup, 'awslogs-region': region, 'awslogs-stream-prefix': spec.containerName },
          },
        },
      ],
    };
  }
  const specHash = createHash('sha256')
    .update(JSON.stringify(canonical(registration)))
    .digest('hex')
    .slice(0, 16);
  // TTL and run tags change every run; they must not make an unchanged spec look new.
  const fileTags = Object.fromEntries((registration.tags ?? []).flatMap((tag) => (tag.key === undefined ? [] : [[tag.key, tag.value ?? '']])));
  registration = { ...registration, tags: toEcsTags({ ...fileTags, ...tags, [TAG_SPEC]: specHash }) };
  const targetGroupNames = [names.targetGroup, ...(spec.strategy === 'blue-green' ? [names.alternateTargetGroup] : [])];
  const url = `https://${host}${path === '/' ? '' : path.replace(/\/$/, '')}`;
  return { spec, names, host, url, tags, registration, specHash, targetGroupNames };
}
