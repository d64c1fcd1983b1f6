// Task behaviours keyed by image (POST /_emulator/behaviours) as ECS reports them.

import { GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  CreateServiceCommand,
  DescribeServiceDeploymentsCommand,
  DescribeTasksCommand,
  ListServiceDeploymentsCommand,
  ListTagsForResourceCommand,
  ListTasksCommand,
  RunTaskCommand,
  StopTaskCommand,
  TagResourceCommand,
  type Task,
} from '@aws-sdk/client-ecs';
import { DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, beforeEach, expect, test } from '@jest/globals';
import { advanceUntil, describeService, type Harness, harness, type Platform, platform, SECURITY_GROUP, SUBNETS } from './helpers.ts';

let h: Harness;
let p: Platform;
const network = { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } };

beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.stop();
});
beforeEach(async () => {
  await h.control('/_emulator/reset', {});
  p = await platform(h);
});

async function task(arn: string): Promise<Task> {
  const out = await h.ecs.send(new DescribeTasksCommand({ cluster: p.clusterName, tasks: [arn], include: ['TAGS'] }));
  return out.tasks?.[0] as Task;
}

async function runTask(image: string, command?: string[]): Promise<string> {
  const td = await p.taskDefinitionArn(image, 'job');
  const out = await h.ecs.send(
    new RunTaskCommand({
      cluster: p.clusterName,
      taskDefinition: td,
      launchType: 'FARGATE',
      networkConfiguration: network,
      startedBy: 'migrations',
      overrides: command ? { containerOverrides: [{ name: 'web', command }] } : undefined,
    }),
  );
  return out.tasks?.[0]?.taskArn as string;
}

async function createService(image: string, desiredCount: number, extra: Record<string, unknown> = {}): Promise<void> {
  await h.ecs.send(
    new CreateServiceCommand({
      cluster: p.clusterName,
      serviceName: 'web',
      taskDefinition: await p.taskDefinitionArn(image),
      desiredCount,
      launchType: 'FARGATE',
      networkConfiguration: network,
      loadBalancers: [{ targetGroupArn: p.targetGroupArn, containerName: 'web', containerPort: 8080 }],
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
      ...extra,
    }),
  );
}

test('exit runs a one-off task to completion, only for its command override', async () => {
  await h.control('/_emulator/behaviours', { image: 'app:v1', kind: 'exit', exitCode: 0, command: ['migrate'], logLines: ['applied 3 migrations'] });
  const job = await runTask('app:v1', ['migrate']);
  const server = await runTask('app:v1');
  await advanceUntil(h, async () => (await task(job)).lastStatus === 'STOPPED');
  const t = await task(job);
  expect(t.group).toBe('family:job');
  expect(t.startedBy).toBe('migrations');
  expect(t.stopCode).toBe('EssentialContainerExited');
  expect(t.stoppedReason).toBe('Essential container in task exited');
  expect(t.containers?.[0]?.exitCode).toBe(0);
  expect(t.overrides?.containerOverrides?.[0]?.command).toEqual(['migrate']);
  const id = job.split('/').pop();
  const logs = await h.logs.send(new GetLogEventsCommand({ logGroupName: '/ecs/pr-1-web', logStreamName: `ecs/web/${id}` }));
  expect(logs.events?.map((e) => e.message)).toEqual(['applied 3 migrations']);
  expect((await task(server)).lastStatus).toBe('RUNNING');

  const stopped = await h.ecs.send(new StopTaskCommand({ cluster: p.clusterName, task: server, reason: 'done testing' }));
  expect(stopped.task?.desiredStatus).toBe('STOPPED');
  await advanceUntil(h, async () => (await task(server)).lastStatus === 'STOPPED');
  expect(await task(server)).toMatchObject({ stopCode: 'UserInitiated', stoppedReason: 'done testing' });
});

test('the image label ecs-emulator.behaviour sets the behaviour when no test set one', async () => {
  const images = h.emu.context.images;
  h.emu.context.images = {
    resolve: async () => ({ found: true, digest: 'sha256:1111', labels: { 'ecs-emulator.behaviour': JSON.stringify({ kind: 'crash', exitCode: 42 }) } }),
  };
  try {
    const arn = await runTask('labelled:v1');
    await advanceUntil(h, async () => (await task(arn)).lastStatus === 'STOPPED');
    expect((await task(arn)).containers?.[0]).toMatchObject({ exitCode: 42, imageDigest: 'sha256:1111' });
  } finally {
    h.emu.context.images = images;
  }
});

test('oom and pull-error stop tasks with ECS reasons', async () => {
  await h.control('/_emulator/behaviours', { image: 'hungry:v1', kind: 'oom' });
  await h.control('/_emulator/behaviours', { image: 'ghost:v1', kind: 'pull-error' });
  const oom = await runTask('hungry:v1');
  const pull = await runTask('ghost:v1');
  await advanceUntil(h, async () => (await task(oom)).lastStatus === 'STOPPED' && (await task(pull)).lastStatus === 'STOPPED');
  const o = await task(oom);
  expect(o.containers?.[0]).toMatchObject({ exitCode: 137, reason: 'OutOfMemoryError: Container killed due to memory usage' });
  expect(o.stoppedReason).toBe('Essential container in task exited');
  const q = await task(pull);
  expect(q.stopCode).toBe('TaskFailedToStart');
  expect(q.stoppedReason).toMatch(/^CannotPullContainerError: /);
  expect(q.startedAt).toBeUndefined();
});

test('a missing awslogs group fails the task before it starts', async () => {
  const td = await h.ecs.send(
    new (await import('@aws-sdk/client-ecs')).RegisterTaskDefinitionCommand({
      family: 'nolog',
      networkMode: 'awsvpc',
      requiresCompatibilities: ['FARGATE'],
      cpu: '256',
      memory: '512',
      executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
      containerDefinitions: [
        {
          name: 'web',
          image: 'app:v1',
          logConfiguration: {
            logDriver: 'awslogs',
            options: { 'awslogs-group': '/ecs/absent', 'awslogs-region': 'us-east-1', 'awslogs-stream-prefix': 'ecs' },
          },
        },
      ],
    }),
  );
  const out = await h.ecs.send(
    new RunTaskCommand({ cluster: p.clusterName, taskDefinition: td.taskDefinition?.taskDefinitionArn, launchType: 'FARGATE', networkConfiguration: network }),
  );
  const arn = out.tasks?.[0]?.taskArn as string;
  await advanceUntil(h, async () => (await task(arn)).lastStatus === 'STOPPED');
  expect((await task(arn)).stoppedReason).toMatch(/^ResourceInitializationError: .*The specified log group does not exist/);
});

test('unhealthy tasks fail their ELB health checks; without a completed deployment there is nothing to roll back to', async () => {
  await h.control('/_emulator/behaviours', { image: 'sick:v1', kind: 'unhealthy' });
  await createService('sick:v1', 2);
  let sawUnhealthy = false;
  await advanceUntil(
    h,
    async () => {
      const health = await h.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: p.targetGroupArn }));
      sawUnhealthy ||= !!health.TargetHealthDescriptions?.some((d) => d.TargetHealth?.State === 'unhealthy');
      return (await describeService(h, p.clusterName, 'web')).deployments?.[0]?.rolloutState === 'FAILED';
    },
    { step: 1 },
  );
  expect(sawUnhealthy).toBe(true);
  const s = await describeService(h, p.clusterName, 'web');
  expect(
    s.events?.some((e) =>
      /^\(service web\) \(task [0-9a-f]{32}\) \(port 8080\) is unhealthy in \(target-group arn:.*\) due to \(reason Health checks failed/.test(e.message ?? ''),
    ),
  ).toBe(true);
  const stopped = await h.ecs.send(new ListTasksCommand({ cluster: p.clusterName, serviceName: 'web', desiredStatus: 'STOPPED' }));
  const tasks = await h.ecs.send(new DescribeTasksCommand({ cluster: p.clusterName, tasks: stopped.taskArns }));
  expect(tasks.tasks?.[0]?.stoppedReason).toBe(`Task failed ELB health checks in (target-group ${p.targetGroupArn})`);
  const list = await h.ecs.send(new ListServiceDeploymentsCommand({ cluster: p.clusterName, service: 'web' }));
  const sd = await h.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [list.serviceDeployments?.[0]?.serviceDeploymentArn as string] }));
  expect(sd.serviceDeployments?.[0]).toMatchObject({ status: 'STOPPED', deploymentCircuitBreaker: { status: 'TRIGGERED', threshold: 3 } });
  expect(sd.serviceDeployments?.[0]?.rollback).toBeUndefined();
});

test('slow-start delays RUNNING; tags propagate from the service with ECS managed tags', async () => {
  await h.control('/_emulator/behaviours', { image: 'slow:v1', kind: 'slow-start', startSeconds: 100 });
  await createService('slow:v1', 1, { propagateTags: 'SERVICE', enableECSManagedTags: true, tags: [{ key: 'ecs-deploy-actions:environment', value: 'pr-1' }] });
  const s = await describeService(h, p.clusterName, 'web');
  await h.ecs.send(new TagResourceCommand({ resourceArn: s.serviceArn, tags: [{ key: 'team', value: 'web' }] }));
  const listed = await h.ecs.send(new ListTagsForResourceCommand({ resourceArn: s.serviceArn }));
  expect(listed.tags).toEqual([
    { key: 'ecs-deploy-actions:environment', value: 'pr-1' },
    { key: 'team', value: 'web' },
  ]);
  await advanceUntil(h, async () => (await describeService(h, p.clusterName, 'web')).runningCount === 1);
  const arns = await h.ecs.send(new ListTasksCommand({ cluster: p.clusterName, serviceName: 'web' }));
  const t = await task(arns.taskArns?.[0] as string);
  expect(((t.startedAt?.getTime() ?? 0) - (t.createdAt?.getTime() ?? 0)) / 1000).toBeGreaterThanOrEqual(100 + 30);
  expect(t.group).toBe('service:web');
  expect(t.tags).toEqual(
    expect.arrayContaining([
      { key: 'aws:ecs:clusterName', value: 'previews' },
      { key: 'aws:ecs:serviceName', value: 'web' },
      { key: 'ecs-deploy-actions:environment', value: 'pr-1' },
    ]),
  );
});
