// Fault injection through /_emulator/faults, as the unmodified SDK experiences it.

import { CloudWatchLogsClient } from '@aws-sdk/client-cloudwatch-logs';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateServiceCommand, DescribeClustersCommand, ECSClient, ListClustersCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeLoadBalancersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, beforeEach, expect, test } from '@jest/globals';
import { ConfiguredRetryStrategy, isThrottlingError, isTransientError } from '@smithy/core/retry';
import type { CallRecord } from '../../emulator/core/types.ts';
import { advanceUntil, describeService, type Harness, harness, platform, SECURITY_GROUP, SUBNETS } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.stop();
});
beforeEach(async () => {
  await h.control('/_emulator/reset', {});
});

const single = { region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, maxAttempts: 1 };
const errorOf = (p: Promise<unknown>): Promise<Error & { $metadata?: { httpStatusCode?: number }; code?: string }> =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as Error,
  );

test('throttling is classified as throttling by the SDK in every protocol', async () => {
  for (const service of ['ecs', 'elbv2', 'ec2']) await h.control('/_emulator/faults', { service, error: 'ThrottlingException', rate: 1 });
  const ecs = new ECSClient({ ...single, endpoint: h.emu.endpoint });
  const elb = new ElasticLoadBalancingV2Client({ ...single, endpoint: h.emu.endpoint });
  const ec2 = new EC2Client({ ...single, endpoint: h.emu.endpoint });
  const errors = [
    await errorOf(ecs.send(new ListClustersCommand({}))),
    await errorOf(elb.send(new DescribeLoadBalancersCommand({}))),
    await errorOf(ec2.send(new DescribeSubnetsCommand({}))),
  ];
  expect(errors.map((e) => e.name)).toEqual(['ThrottlingException', 'Throttling', 'RequestLimitExceeded']);
  for (const e of errors) expect(isThrottlingError(e as never)).toBe(true);
  ecs.destroy();
  elb.destroy();
  ec2.destroy();
});

test('InternalFailure is a retryable 5xx and drop resets the connection', async () => {
  const ecs = new ECSClient({ ...single, endpoint: h.emu.endpoint });
  await h.control('/_emulator/faults', { service: 'ecs', operation: 'ListClusters', error: 'InternalFailure', rate: 1 });
  const internal = await errorOf(ecs.send(new ListClustersCommand({})));
  expect(internal.$metadata?.httpStatusCode).toBe(500);
  expect(isTransientError(internal as never)).toBe(true);
  // Other operations are untouched by an operation-scoped fault.
  await ecs.send(new DescribeClustersCommand({}));

  await h.control('/_emulator/faults', undefined, 'DELETE');
  await h.control('/_emulator/faults', { service: 'ecs', error: 'drop', rate: 1 });
  // The SDK retries a reset connection: three attempts, each one recorded as dropped.
  const retrying = new ECSClient({ ...single, maxAttempts: 3, endpoint: h.emu.endpoint });
  const dropped = await errorOf(retrying.send(new ListClustersCommand({ maxResults: 5 })));
  expect(dropped.$metadata).toMatchObject({ attempts: 3 });
  const { calls } = (await h.control('/_emulator/calls')) as { calls: CallRecord[] };
  expect(calls.filter((c) => c.error === 'drop')).toHaveLength(3);
  retrying.destroy();

  await h.control('/_emulator/faults', undefined, 'DELETE');
  await h.control('/_emulator/faults', { service: 'ecs', error: 'latency', latencyMs: 120, rate: 1 });
  const t0 = Date.now();
  await ecs.send(new ListClustersCommand({}));
  expect(Date.now() - t0).toBeGreaterThanOrEqual(110);
  ecs.destroy();
});

test("30% throttling on every operation: the SDK's retries carry a scripted deployment through", async () => {
  const retrying = new ConfiguredRetryStrategy(10, 2);
  const config = { region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' }, endpoint: h.emu.endpoint, retryStrategy: retrying };
  const scripted: Harness = {
    ...h,
    ecs: new ECSClient(config),
    elb: new ElasticLoadBalancingV2Client(config),
    ec2: new EC2Client(config),
    logs: new CloudWatchLogsClient(config),
  };
  for (const service of ['ecs', 'elbv2', 'ec2']) await h.control('/_emulator/faults', { service, error: 'ThrottlingException', rate: 0.3, seed: 7 });

  const p = await platform(scripted);
  const v1 = await p.taskDefinitionArn('app:v1');
  await scripted.ecs.send(
    new CreateServiceCommand({
      cluster: p.clusterName,
      serviceName: 'web',
      taskDefinition: v1,
      desiredCount: 2,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } },
      loadBalancers: [{ targetGroupArn: p.targetGroupArn, containerName: 'web', containerPort: 8080 }],
      deploymentConfiguration: { deploymentCircuitBreaker: { enable: true, rollback: true } },
    }),
  );
  const v2 = await p.taskDefinitionArn('app:v2');
  await scripted.ecs.send(new UpdateServiceCommand({ cluster: p.clusterName, service: 'web', taskDefinition: v2 }));
  await advanceUntil(scripted, async () => {
    const s = await describeService(scripted, p.clusterName, 'web');
    return s.deployments?.length === 1 && s.deployments[0]?.rolloutState === 'COMPLETED';
  });
  expect((await describeService(scripted, p.clusterName, 'web')).taskDefinition).toBe(v2);

  const { calls } = (await h.control('/_emulator/calls')) as { calls: CallRecord[] };
  const throttled = calls.filter((c) => c.error);
  expect(throttled.length).toBeGreaterThan(calls.length * 0.15);
  expect(new Set(throttled.map((c) => c.error))).toEqual(new Set(['ThrottlingException', 'Throttling']));
  // Every mutation went through exactly once.
  expect(calls.filter((c) => c.operation === 'CreateService' && !c.error)).toHaveLength(1);
  expect(calls.filter((c) => c.operation === 'UpdateService' && !c.error)).toHaveLength(1);
  scripted.ecs.destroy();
  scripted.elb.destroy();
  scripted.ec2.destroy();
  scripted.logs.destroy();
});
