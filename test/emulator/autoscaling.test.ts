// Application Auto Scaling: the handlers against a fake ECS (the min/max rule alone), then the real
// SDK client against the whole emulator with a real ECS service.
import {
  ApplicationAutoScalingClient,
  DeleteScalingPolicyCommand,
  DeregisterScalableTargetCommand,
  DescribeScalableTargetsCommand,
  DescribeScalingActivitiesCommand,
  DescribeScalingPoliciesCommand,
  ListTagsForResourceCommand,
  PutScalingPolicyCommand,
  RegisterScalableTargetCommand,
  TagResourceCommand,
} from '@aws-sdk/client-application-auto-scaling';
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeServicesCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createClock } from '../../emulator/core/clock.ts';
import type { EmulatorContext, Operation } from '../../emulator/core/types.ts';
import { createIam } from '../../emulator/iam.ts';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';
import { createAutoScalingService } from '../../emulator/services/application-autoscaling.ts';

const RID = 'service/previews/web';
const key = { ServiceNamespace: 'ecs', ResourceId: RID, ScalableDimension: 'ecs:service:DesiredCount' } as const;

describe('min/max enforcement against a fake ECS', () => {
  function setup(initial: number) {
    const clock = createClock(1);
    const counts = new Map([[RID, initial]]);
    const changes: string[] = [];
    const ctx: EmulatorContext = {
      region: 'us-east-1',
      accountId: '123456789012',
      clock,
      images: { resolve: async () => ({ found: true }) },
      logs: { write: () => true },
      ecsScaling: {
        desiredCount: (id) => counts.get(id),
        setDesiredCount: (id, n, cause) => {
          counts.set(id, n);
          changes.push(`${n}: ${cause}`);
        },
      },
      taskRoles: { taskDefinitionRoles: () => [] },
      iam: createIam(),
      serviceLinkedRoles: new Set(),
      recordCall: () => {},
    };
    const aas = createAutoScalingService(ctx);
    const op = (name: string, input: Record<string, unknown>) => (aas.operations[name] as Operation).handler(input, {});
    return { clock, counts, changes, aas, op };
  }

  it('raises to min on registration and pulls back a manual scale-in on the next check', () => {
    const { clock, counts, changes, aas, op } = setup(1);
    op('RegisterScalableTarget', { ...key, MinCapacity: 2, MaxCapacity: 4 });
    expect(counts.get(RID)).toBe(2);
    expect(changes[0]).toMatch(/minimum capacity was set to 2/);
    // Someone scales the service to 0 without touching the target: it comes back within a minute.
    counts.set(RID, 0);
    clock.advance(59);
    expect(counts.get(RID)).toBe(0);
    clock.advance(2);
    expect(counts.get(RID)).toBe(2);
    // Setting min and max to 0 is what lets it stay at 0.
    op('RegisterScalableTarget', { ...key, MinCapacity: 0, MaxCapacity: 0 });
    expect(counts.get(RID)).toBe(0);
    clock.advance(600);
    expect(counts.get(RID)).toBe(0);
    aas.reset();
    clock.stop();
  });

  it('honours SuspendedState per direction', () => {
    const { clock, counts, op } = setup(5);
    op('RegisterScalableTarget', { ...key, MinCapacity: 1, MaxCapacity: 3, SuspendedState: { DynamicScalingInSuspended: true } });
    expect(counts.get(RID)).toBe(5);
    counts.set(RID, 0);
    clock.advance(61);
    expect(counts.get(RID)).toBe(1);
    // Updating without SuspendedState keeps the earlier suspension; lifting it lets scale-in happen.
    counts.set(RID, 9);
    op('RegisterScalableTarget', { ...key });
    expect(counts.get(RID)).toBe(9);
    op('RegisterScalableTarget', { ...key, SuspendedState: { DynamicScalingInSuspended: false } });
    expect(counts.get(RID)).toBe(3);
    clock.stop();
  });

  it('rejects what AWS rejects', () => {
    const { clock, op } = setup(1);
    expect(() => op('RegisterScalableTarget', { ...key, MinCapacity: 3, MaxCapacity: 1 })).toThrow(
      expect.objectContaining({ code: 'ValidationException', message: 'Minimum capacity cannot be greater than maximum capacity' }),
    );
    expect(() => op('RegisterScalableTarget', { ...key, ResourceId: 'service/previews/nope', MinCapacity: 1, MaxCapacity: 1 })).toThrow(
      expect.objectContaining({ code: 'ValidationException', message: "ECS service doesn't exist: service/previews/nope" }),
    );
    expect(() => op('DeregisterScalableTarget', key)).toThrow(
      expect.objectContaining({
        code: 'ObjectNotFoundException',
        message: 'No scalable target registered for service namespace: ecs, resource ID: service/previews/web, scalable dimension: ecs:service:DesiredCount',
      }),
    );
    expect(() =>
      op('PutScalingPolicy', { ...key, PolicyName: 'cpu', PolicyType: 'TargetTrackingScaling', TargetTrackingScalingPolicyConfiguration: {} }),
    ).toThrow(expect.objectContaining({ code: 'ObjectNotFoundException' }));
    clock.stop();
  });
});

describe('through the SDK against the emulator', () => {
  let emu: RunningEmulator;
  let aas: ApplicationAutoScalingClient;
  let ecs: ECSClient;
  beforeAll(async () => {
    emu = await startEmulator({ registry: false });
    const cfg = { endpoint: emu.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 };
    aas = new ApplicationAutoScalingClient(cfg);
    ecs = new ECSClient(cfg);
    const ec2 = new EC2Client(cfg);
    const subnets = (await ec2.send(new DescribeSubnetsCommand({}))).Subnets?.map((s) => s.SubnetId as string) ?? [];
    ec2.destroy();
    await ecs.send(new CreateClusterCommand({ clusterName: 'previews' }));
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'web',
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '256',
        memory: '512',
        containerDefinitions: [{ name: 'web', image: 'nginx:1.27', essential: true }],
      }),
    );
    await ecs.send(
      new CreateServiceCommand({
        cluster: 'previews',
        serviceName: 'web',
        taskDefinition: 'web',
        desiredCount: 1,
        launchType: 'FARGATE',
        networkConfiguration: { awsvpcConfiguration: { subnets } },
      }),
    );
  });
  afterAll(async () => {
    aas.destroy();
    ecs.destroy();
    await emu.stop();
  });
  const desired = async () => (await ecs.send(new DescribeServicesCommand({ cluster: 'previews', services: ['web'] }))).services?.[0]?.desiredCount;
  const advance = (s: number) => fetch(`${emu.endpoint}/_emulator/clock`, { method: 'POST', body: JSON.stringify({ advanceSeconds: s }) });

  it('keeps an ECS service within its bounds until they are lowered to 0', async () => {
    const { ScalableTargetARN } = await aas.send(new RegisterScalableTargetCommand({ ...key, MinCapacity: 2, MaxCapacity: 3, Tags: { env: 'pr-1' } }));
    expect(ScalableTargetARN).toMatch(/^arn:aws:application-autoscaling:us-east-1:123456789012:scalable-target\//);
    expect(await desired()).toBe(2);

    await ecs.send(new UpdateServiceCommand({ cluster: 'previews', service: 'web', desiredCount: 0 }));
    expect(await desired()).toBe(0);
    await advance(61);
    expect(await desired()).toBe(2);

    const targets = await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs', ResourceIds: [RID] }));
    expect(targets.ScalableTargets?.[0]).toMatchObject({ MinCapacity: 2, MaxCapacity: 3, CreationTime: expect.any(Date) });
    const activities = await aas.send(new DescribeScalingActivitiesCommand({ ServiceNamespace: 'ecs', ResourceId: RID }));
    expect(activities.ScalingActivities?.[0]).toMatchObject({ StatusCode: 'Successful', Description: 'Setting desired count to 2.' });

    await aas.send(new TagResourceCommand({ ResourceARN: ScalableTargetARN, Tags: { team: 'web' } }));
    expect((await aas.send(new ListTagsForResourceCommand({ ResourceARN: ScalableTargetARN }))).Tags).toEqual({ env: 'pr-1', team: 'web' });

    const policy = await aas.send(
      new PutScalingPolicyCommand({
        ...key,
        PolicyName: 'cpu50',
        PolicyType: 'TargetTrackingScaling',
        TargetTrackingScalingPolicyConfiguration: {
          TargetValue: 50,
          PredefinedMetricSpecification: { PredefinedMetricType: 'ECSServiceAverageCPUUtilization' },
        },
      }),
    );
    expect(policy.Alarms).toHaveLength(2);
    const policies = await aas.send(new DescribeScalingPoliciesCommand({ ServiceNamespace: 'ecs', ResourceId: RID }));
    expect(policies.ScalingPolicies?.map((p) => p.PolicyName)).toEqual(['cpu50']);
    await aas.send(new DeleteScalingPolicyCommand({ ...key, PolicyName: 'cpu50' }));
    await expect(aas.send(new DeleteScalingPolicyCommand({ ...key, PolicyName: 'cpu50' }))).rejects.toMatchObject({ name: 'ObjectNotFoundException' });

    // Scale to zero the way an action must: bounds to 0, then the count stays at 0.
    await aas.send(new RegisterScalableTargetCommand({ ...key, MinCapacity: 0, MaxCapacity: 0 }));
    expect(await desired()).toBe(0);
    await advance(120);
    expect(await desired()).toBe(0);

    await aas.send(new DeregisterScalableTargetCommand(key));
    expect((await aas.send(new DescribeScalableTargetsCommand({ ServiceNamespace: 'ecs' }))).ScalableTargets).toEqual([]);
    await expect(aas.send(new DeregisterScalableTargetCommand(key))).rejects.toMatchObject({ name: 'ObjectNotFoundException' });
  });
});
