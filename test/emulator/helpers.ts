// Shared setup for emulator tests: a fresh emulator, real SDK clients, and a platform
// (cluster, ALB, target group, listener rule, task definition) built through the public APIs.

import { CloudWatchLogsClient, CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { EC2Client } from '@aws-sdk/client-ec2';
import { CreateClusterCommand, DescribeServicesCommand, ECSClient, RegisterTaskDefinitionCommand, type Service } from '@aws-sdk/client-ecs';
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  ElasticLoadBalancingV2Client,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';

export const SUBNETS: [string, string] = ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'];
export const SECURITY_GROUP = 'sg-0a1b2c3d4e5f60001';
export const VPC = 'vpc-0e1a2b3c4d5e6f701';

export interface Harness {
  emu: RunningEmulator;
  ecs: ECSClient;
  elb: ElasticLoadBalancingV2Client;
  ec2: EC2Client;
  logs: CloudWatchLogsClient;
  control(path: string, body?: unknown, method?: string): Promise<unknown>;
  advance(seconds: number): Promise<void>;
  now(): Promise<number>;
  stop(): Promise<void>;
}

export async function harness(opts: { timeScale?: number; maxAttempts?: number; retryDelayMs?: number } = {}): Promise<Harness> {
  const emu = await startEmulator({ timeScale: opts.timeScale ?? 1, registry: false });
  const config: Record<string, unknown> = {
    endpoint: emu.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
    maxAttempts: opts.maxAttempts ?? 3,
  };
  const ecs = new ECSClient(config);
  const elb = new ElasticLoadBalancingV2Client(config);
  const ec2 = new EC2Client(config);
  const logs = new CloudWatchLogsClient(config);
  const control = async (path: string, body?: unknown, method?: string): Promise<unknown> => {
    const res = await fetch(`${emu.endpoint}${path}`, {
      method: method ?? (body === undefined ? 'GET' : 'POST'),
      headers: { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return res.json();
  };
  return {
    emu,
    ecs,
    elb,
    ec2,
    logs,
    control,
    advance: async (seconds) => {
      await control('/_emulator/clock', { advanceSeconds: seconds });
    },
    now: async () => ((await control('/_emulator/clock')) as { epochMs: number }).epochMs,
    stop: async () => {
      ecs.destroy();
      elb.destroy();
      ec2.destroy();
      logs.destroy();
      await emu.stop();
    },
  };
}

export interface Platform {
  clusterName: string;
  targetGroupArn: string;
  listenerArn: string;
  loadBalancerArn: string;
  taskDefinitionArn(image: string, family?: string): Promise<string>;
}

/** A cluster and an ALB routing host app.example.com to an ip target group (health check 10 s x 3). */
export async function platform(h: Harness, opts: { deregistrationDelay?: number } = {}): Promise<Platform> {
  await h.logs.send(new CreateLogGroupCommand({ logGroupName: '/ecs/pr-1-web' }));
  await h.ecs.send(new CreateClusterCommand({ clusterName: 'previews', capacityProviders: ['FARGATE', 'FARGATE_SPOT'] }));
  const lb = await h.elb.send(new CreateLoadBalancerCommand({ Name: 'previews', Subnets: SUBNETS, SecurityGroups: [SECURITY_GROUP] }));
  const loadBalancerArn = lb.LoadBalancers?.[0]?.LoadBalancerArn as string;
  const tg = await h.elb.send(
    new CreateTargetGroupCommand({
      Name: 'pr-1-web',
      Protocol: 'HTTP',
      Port: 8080,
      VpcId: VPC,
      TargetType: 'ip',
      HealthCheckPath: '/health',
      HealthCheckIntervalSeconds: 10,
      HealthyThresholdCount: 3,
    }),
  );
  const targetGroupArn = tg.TargetGroups?.[0]?.TargetGroupArn as string;
  await h.elb.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: targetGroupArn,
      Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: String(opts.deregistrationDelay ?? 30) }],
    }),
  );
  const listener = await h.elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: loadBalancerArn,
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain' } }],
    }),
  );
  const listenerArn = listener.Listeners?.[0]?.ListenerArn as string;
  await h.elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 10,
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: ['pr-1.app.example.com'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
    }),
  );
  return {
    clusterName: 'previews',
    targetGroupArn,
    listenerArn,
    loadBalancerArn,
    async taskDefinitionArn(image, family = 'pr-1-web') {
      const out = await h.ecs.send(
        new RegisterTaskDefinitionCommand({
          family,
          networkMode: 'awsvpc',
          requiresCompatibilities: ['FARGATE'],
          cpu: '256',
          memory: '512',
          executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
          containerDefinitions: [
            {
              name: 'web',
              image,
              essential: true,
              portMappings: [{ containerPort: 8080 }],
              logConfiguration: {
                logDriver: 'awslogs',
                options: { 'awslogs-group': '/ecs/pr-1-web', 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': 'ecs' },
              },
            },
          ],
        }),
      );
      return out.taskDefinition?.taskDefinitionArn as string;
    },
  };
}

export async function describeService(h: Harness, cluster: string, service: string): Promise<Service> {
  const out = await h.ecs.send(new DescribeServicesCommand({ cluster, services: [service] }));
  return out.services?.[0] as Service;
}

/** Advances emulated time in steps until the predicate holds; returns the emulated seconds it took. */
export async function advanceUntil(h: Harness, predicate: () => Promise<boolean>, opts: { step?: number; max?: number } = {}): Promise<number> {
  const step = opts.step ?? 5;
  const max = opts.max ?? 1800;
  const start = await h.now();
  for (let waited = 0; waited <= max; waited += step) {
    if (await predicate()) return ((await h.now()) - start) / 1000;
    await h.advance(step);
  }
  throw new Error(`condition not met within ${max} emulated seconds`);
}
