// What an environment should look like, computed from the inputs before anything is read or changed.
import { createHash } from 'node:crypto';
import type { ProvisionPlatformConfig } from '../actions/provision-platform.ts';
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

export interface EnvironmentSpec {
  identity: Identity;
  environment: string;
  names: EnvironmentNames;
  host: string;
  url: string;
  tags: Tags;
  registration: Registration;
  /** Hash of the registration, kept in a tag so a re-run can tell an unchanged revision without diffing defaults. */
  specHash: string;
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

export function environmentSpec(config: ProvisionPlatformConfig, region: string, now = new Date()): EnvironmentSpec {
  const environment = config.environment;
  const identity: Identity = { repository: config.repository, cluster: config.cluster, environment };
  const names = environmentNames(config.cluster, environment);
  const host = config.hostPattern.replace('{env}', environment);
  const path = config.pathPattern ? config.pathPattern.replace(/\*.*$/, '') : '/';
  const tags: Tags = ownershipTags(identity);
  if (config.ttl !== undefined) tags[TAG_EXPIRES_AT] = new Date(now.getTime() + config.ttl * 1000).toISOString();
  if (config.pullRequest) tags[TAG_PULL_REQUEST] = pullRequestTag(config.pullRequest);

  let registration: Registration;
  if (config.taskDefinition) {
    const file = readTaskDefinitionFile(config.taskDefinition);
    // The family is the environment's, whatever the file says, so teardown finds every revision.
    registration = { ...toRegistration(file.definition, file.tags, config.taskDefinition), family: names.family };
  } else {
    registration = {
      family: names.family,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: String(config.cpu),
      memory: String(config.memory),
      executionRoleArn: config.executionRoleArn,
      taskRoleArn: config.taskRoleArn,
      containerDefinitions: [
        {
          name: config.containerName,
          image: config.image,
          essential: true,
          portMappings: [{ containerPort: config.containerPort, protocol: 'tcp' }],
          environment: (config.environmentVariables ?? []).map(([name, value]) => ({ name, value })),
          secrets: (config.secrets ?? []).map(([name, valueFrom]) => ({ name, valueFrom })),
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': names.logGroup, 'awslogs-region': region, 'awslogs-stream-prefix': config.containerName },
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
  registration = {
    ...registration,
    tags: toEcsTags({ ...Object.fromEntries((registration.tags ?? []).map((t) => [t.key ?? '', t.value ?? ''])), ...tags, [TAG_SPEC]: specHash }),
  };
  return { identity, environment, names, host, url: `https://${host}${path === '/' ? '' : path.replace(/\/$/, '')}`, tags, registration, specHash };
}
