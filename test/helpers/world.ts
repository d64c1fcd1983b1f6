// An emulated AWS account for end-to-end tests: the emulator, real SDK clients to arrange state,
// and the bundles run against it exactly as a runner runs them.

import { randomUUID } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  type LoadBalancer,
  RegisterTaskDefinitionCommand,
  type Service,
} from '@aws-sdk/client-ecs';
import { type Action, CreateListenerCommand, CreateLoadBalancerCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import type { PolicyDocument } from '../../emulator/iam.ts';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { documentedPolicies } from '../../scripts/iam-policy.ts';
import { type BundleOptions, type BundleRun, runBundle } from './run-bundle.ts';

export const SUBNETS = ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'];
export const SECURITY_GROUP = 'sg-0a1b2c3d4e5f60001';

export interface CallRecord {
  service: string;
  operation: string;
  mutating: boolean;
  parameters: Record<string, unknown>;
  error?: string;
  /** The action that made the call, from its user agent; absent for the test's own clients. */
  action?: string;
}

export interface World {
  emulator: RunningEmulator;
  ecs: ECSClient;
  logs: CloudWatchLogsClient;
  elb: ElasticLoadBalancingV2Client;
  timeScale: number;
  control<T = unknown>(path: string, body?: unknown, method?: string): Promise<T>;
  calls(): Promise<CallRecord[]>;
  run(action: string, options?: BundleOptions): Promise<BundleRun>;
  stop(): Promise<void>;
}

/** Set by `npm run iam`: each world writes the permissions the actions needed there, and none is refused. */
const recordDir = process.env.ECS_DEPLOY_ACTIONS_IAM_RECORD;

export interface WorldOptions {
  timeScale?: number;
  registry?: boolean;
  callLatencyMs?: number;
  /** The policies the actions run under; default: each action's policy in action-catalog.md, `*` for every name (none while recording). */
  iamPolicies?: Record<string, PolicyDocument>;
}

export async function startWorld(options: WorldOptions = {}): Promise<World> {
  const timeScale = options.timeScale ?? 100;
  const documented = options.iamPolicies || recordDir ? undefined : documentedPolicies();
  const emulator: RunningEmulator = await startEmulator({
    timeScale,
    registry: options.registry ?? false,
    callLatencyMs: options.callLatencyMs,
    iamPolicies: options.iamPolicies ?? documented,
    onAccessDenied: (action, denied) => {
      // Only a refusal under the documented policies means the catalog lags behind the code.
      if (!documented || emulator.iam.policies() !== documented) return;
      console.warn(
        `${action} was refused ${denied.action} on ${denied.resource}: its policy in action-catalog.md does not allow that. ` +
          'If the action should make this call, record it with `npm run iam` and commit iam/observed.json and the catalog.',
      );
    },
  });
  const config = { endpoint: emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } };
  const ecs = new ECSClient(config);
  const logs = new CloudWatchLogsClient(config);
  const elb = new ElasticLoadBalancingV2Client(config);
  const control = async <T>(path: string, body?: unknown, method?: string): Promise<T> => {
    const response = await fetch(`${emulator.endpoint}${path}`, {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return (await response.json()) as T;
  };
  return {
    emulator,
    ecs,
    logs,
    elb,
    timeScale,
    control,
    calls: async () => (await control<{ calls: CallRecord[] }>('/_emulator/calls')).calls,
    run: (action, bundle = {}) =>
      runBundle(action, {
        ...bundle,
        env: { AWS_ENDPOINT_URL: emulator.endpoint, GITHUB_API_URL: emulator.githubApiUrl, ECS_DEPLOY_ACTIONS_TIME_SCALE: String(timeScale), ...bundle.env },
      }),
    stop: async () => {
      ecs.destroy();
      logs.destroy();
      elb.destroy();
      if (recordDir) {
        mkdirSync(recordDir, { recursive: true });
        writeFileSync(join(recordDir, `${randomUUID()}.json`), JSON.stringify(emulator.iam.observed()));
      }
      await emulator.stop();
    },
  };
}

/** A new ALB in the default subnets with one listener: HTTPS on 443 (as a team's IaC makes), or HTTP on 80. */
export async function sharedListener(
  world: World,
  name: string,
  options: { https?: boolean; defaultAction?: Action } = {},
): Promise<{ listenerArn: string; loadBalancerArn: string }> {
  const lb = await world.elb.send(new CreateLoadBalancerCommand({ Name: name, Subnets: SUBNETS, SecurityGroups: [SECURITY_GROUP] }));
  const loadBalancerArn = lb.LoadBalancers?.[0]?.LoadBalancerArn ?? '';
  const listener = await world.elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: loadBalancerArn,
      ...(options.https
        ? {
            Port: 443,
            Protocol: 'HTTPS',
            Certificates: [{ CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000001' }],
          }
        : { Port: 80, Protocol: 'HTTP' }),
      DefaultActions: [options.defaultAction ?? { Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }],
    }),
  );
  return { listenerArn: listener.Listeners?.[0]?.ListenerArn ?? '', loadBalancerArn };
}

/** Emulated seconds pass at timeScale x wall time: wait until the predicate holds. */
export async function eventually<T>(check: () => Promise<T | undefined | false>, wallTimeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + wallTimeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface SeededService {
  cluster: string;
  service: string;
  family: string;
  taskDefinitionArn: string;
  logGroup: string;
}

/** A cluster with a steady Fargate service whose container logs with awslogs. */
export async function seedService(
  world: World,
  options: {
    cluster?: string;
    service: string;
    image: string;
    desiredCount?: number;
    tags?: Record<string, string>;
    family?: string;
    command?: string[];
    loadBalancers?: LoadBalancer[];
  },
): Promise<SeededService> {
  const cluster = options.cluster ?? 'previews';
  const family = options.family ?? `${cluster}-${options.service}`;
  const logGroup = `/ecs/${cluster}/${options.service}`;
  await world.ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  await world.logs.send(new CreateLogGroupCommand({ logGroupName: logGroup })).catch((error: { name?: string }) => {
    if (error.name !== 'ResourceAlreadyExistsException') throw error;
  });
  const registered = await world.ecs.send(
    new RegisterTaskDefinitionCommand({
      family,
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
      containerDefinitions: [
        {
          name: 'app',
          image: options.image,
          ...(options.command ? { command: options.command } : {}),
          essential: true,
          portMappings: [{ containerPort: 8080 }],
          healthCheck: { command: ['CMD-SHELL', 'curl -f http://localhost:8080/health || exit 1'] },
          logConfiguration: { logDriver: 'awslogs', options: { 'awslogs-group': logGroup, 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': 'ecs' } },
        },
      ],
    }),
  );
  const taskDefinitionArn = registered.taskDefinition?.taskDefinitionArn ?? '';
  await world.ecs.send(
    new CreateServiceCommand({
      cluster,
      serviceName: options.service,
      taskDefinition: taskDefinitionArn,
      desiredCount: options.desiredCount ?? 2,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } },
      ...(options.loadBalancers && { loadBalancers: options.loadBalancers }),
      tags: Object.entries(options.tags ?? {}).map(([key, value]) => ({ key, value })),
      propagateTags: 'SERVICE',
    }),
  );
  await eventually(async () => {
    const service = await describe(world, cluster, options.service);
    return service?.deployments?.length === 1 && service.deployments[0]?.rolloutState === 'COMPLETED';
  });
  return { cluster, service: options.service, family, taskDefinitionArn, logGroup };
}

export async function describe(world: World, cluster: string, service: string): Promise<Service | undefined> {
  return (await world.ecs.send(new DescribeServicesCommand({ cluster, services: [service], include: ['TAGS'] }))).services?.[0];
}

/** Every live resource in the emulator that carries this environment's tag, by its ARN or name. */
export async function taggedResources(world: World, environment: string): Promise<string[]> {
  const state = JSON.stringify(await world.control('/_emulator/state'));
  const dump = JSON.parse(state) as { services: Record<string, Record<string, unknown>> };
  const hits: string[] = [];
  const visit = (value: unknown, path: string): void => {
    if (Array.isArray(value)) {
      for (const [index, item] of value.entries()) visit(item, `${path}[${index}]`);
    } else if (value && typeof value === 'object') {
      const record = value as Record<string, unknown>;
      const status = record.status ?? record.State ?? record.lastStatus;
      const dead = ['INACTIVE', 'DELETE_IN_PROGRESS', 'STOPPED'].includes(String(status));
      const tags = JSON.stringify(record.tags ?? record.Tags ?? '');
      const id = ['serviceArn', 'taskArn', 'taskDefinitionArn', 'TargetGroupArn', 'RuleArn', 'logGroupName', 'arn'].map((key) => record[key]).find(Boolean);
      if (!dead && tags.includes('ecs-deploy-actions:environment') && tags.includes(`"${environment}"`)) hits.push(String(id ?? path));
      else for (const [key, child] of Object.entries(record)) if (key !== 'tags' && key !== 'Tags') visit(child, `${path}.${key}`);
    }
  };
  visit(dump.services, 'state');
  return hits.sort();
}
