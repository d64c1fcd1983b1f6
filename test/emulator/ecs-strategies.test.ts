// Blue/green, canary and linear deployments: lifecycle stages, traffic weights on the listener rule, bake
// time and alarm rollback, observed through the real SDK clients while the emulated clock is advanced.
import {
  CreateServiceCommand,
  type DeploymentConfiguration,
  DescribeServiceDeploymentsCommand,
  ListServiceDeploymentsCommand,
  type ServiceDeployment,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { CreateTargetGroupCommand, DescribeRulesCommand, ModifyTargetGroupAttributesCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, beforeEach, expect, test } from '@jest/globals';
import { advanceUntil, describeService, type Harness, harness, type Platform, platform, SECURITY_GROUP, SUBNETS, VPC } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
beforeEach(async () => {
  await h.control('/_emulator/reset', {});
});
afterAll(async () => {
  await h.stop();
});

interface Setup extends Platform {
  alternateTargetGroupArn: string;
  ruleArn: string;
  v1: string;
  v2: string;
}

/** The helpers' platform plus a second target group and the production rule's ARN. */
async function setup(): Promise<Setup> {
  const p = await platform(h);
  const tg = await h.elb.send(
    new CreateTargetGroupCommand({
      Name: 'pr-1-web-alt',
      Protocol: 'HTTP',
      Port: 8080,
      VpcId: VPC,
      TargetType: 'ip',
      HealthCheckPath: '/health',
      HealthCheckIntervalSeconds: 10,
      HealthyThresholdCount: 3,
    }),
  );
  const alternateTargetGroupArn = tg.TargetGroups?.[0]?.TargetGroupArn as string;
  await h.elb.send(
    new ModifyTargetGroupAttributesCommand({
      TargetGroupArn: alternateTargetGroupArn,
      Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }],
    }),
  );
  const rules = await h.elb.send(new DescribeRulesCommand({ ListenerArn: p.listenerArn }));
  const ruleArn = rules.Rules?.find((r) => !r.IsDefault)?.RuleArn as string;
  return { ...p, alternateTargetGroupArn, ruleArn, v1: await p.taskDefinitionArn('app:v1'), v2: await p.taskDefinitionArn('app:v2') };
}

function createService(s: Setup, deploymentConfiguration: DeploymentConfiguration, advanced = true) {
  return h.ecs.send(
    new CreateServiceCommand({
      cluster: s.clusterName,
      serviceName: 'web',
      taskDefinition: s.v1,
      desiredCount: 2,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } },
      loadBalancers: [
        {
          targetGroupArn: s.targetGroupArn,
          containerName: 'web',
          containerPort: 8080,
          ...(advanced && {
            advancedConfiguration: {
              alternateTargetGroupArn: s.alternateTargetGroupArn,
              productionListenerRule: s.ruleArn,
              roleArn: 'arn:aws:iam::123456789012:role/ecsInfrastructureRole',
            },
          }),
        },
      ],
      deploymentConfiguration,
    }),
  );
}

/** Creates the service on v1 (a first deployment has nothing to shift from), then deploys v2. */
async function deployV2(s: Setup, deploymentConfiguration: DeploymentConfiguration): Promise<string> {
  await createService(s, deploymentConfiguration);
  await advanceUntil(h, async () => (await describeService(h, s.clusterName, 'web')).deployments?.[0]?.rolloutState === 'COMPLETED');
  const out = await h.ecs.send(new UpdateServiceCommand({ cluster: s.clusterName, service: 'web', taskDefinition: s.v2 }));
  expect(out.service?.deployments?.[0]?.taskDefinition).toBe(s.v2);
  return (await latestDeployment(s)).serviceDeploymentArn as string;
}

async function latestDeployment(s: Setup): Promise<ServiceDeployment> {
  const list = await h.ecs.send(new ListServiceDeploymentsCommand({ cluster: s.clusterName, service: 'web' }));
  const arn = list.serviceDeployments?.[0]?.serviceDeploymentArn as string;
  const out = await h.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }));
  return out.serviceDeployments?.[0] as ServiceDeployment;
}

/** Production weights on the rule as "blue/green". */
async function weights(s: Setup): Promise<string> {
  const out = await h.elb.send(new DescribeRulesCommand({ RuleArns: [s.ruleArn] }));
  const groups = out.Rules?.[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups ?? [];
  const w = (arn: string): number => groups.find((g) => g.TargetGroupArn === arn)?.Weight ?? 0;
  return `${w(s.targetGroupArn)}/${w(s.alternateTargetGroupArn)}`;
}

interface Observation {
  stage: string;
  status: string;
  weights: string;
  /** Running tasks of the old revision (blue). */
  blue: number;
}

/** Advances half a second at a time (every stage lasts at least one) and records each change until done holds. */
async function trace(s: Setup, done: (sd: ServiceDeployment) => boolean): Promise<Observation[]> {
  const seen: Observation[] = [];
  for (let i = 0; i < 4000; i++) {
    const sd = await latestDeployment(s);
    const svc = await describeService(h, s.clusterName, 'web');
    const o: Observation = {
      stage: sd.lifecycleStage ?? '',
      status: sd.status ?? '',
      weights: await weights(s),
      blue: svc.deployments?.find((d) => d.taskDefinition === s.v1)?.runningCount ?? 0,
    };
    const prev = seen[seen.length - 1];
    if (!prev || prev.stage !== o.stage || prev.status !== o.status || prev.weights !== o.weights || prev.blue !== o.blue) seen.push(o);
    if (done(sd)) return seen;
    await h.advance(0.5);
  }
  throw new Error('deployment did not finish');
}

const stagesOf = (seen: Observation[]): string[] => seen.map((o) => o.stage).filter((st, i, all) => st !== all[i - 1]);
const weightsIn = (seen: Observation[], stage: string): string[] =>
  seen
    .filter((o) => o.stage === stage)
    .map((o) => o.weights)
    .filter((w, i, all) => w !== all[i - 1]);

const ALL_STAGES = [
  'PRE_SCALE_UP',
  'SCALE_UP',
  'POST_SCALE_UP',
  'TEST_TRAFFIC_SHIFT',
  'POST_TEST_TRAFFIC_SHIFT',
  'PRODUCTION_TRAFFIC_SHIFT',
  'POST_PRODUCTION_TRAFFIC_SHIFT',
  'BAKE_TIME',
  'CLEAN_UP',
];

test('blue/green: green scales up, traffic moves 0 -> 100 at once, blue stays through the bake time, then clean-up', async () => {
  const s = await setup();
  await deployV2(s, { strategy: 'BLUE_GREEN', bakeTimeInMinutes: 2 });
  const seen = await trace(s, (sd) => sd.status === 'SUCCESSFUL');
  expect(stagesOf(seen)).toEqual(ALL_STAGES);
  for (const stage of ALL_STAGES.slice(0, 5)) expect(weightsIn(seen, stage)).toEqual(['100/0']);
  expect(weightsIn(seen, 'PRODUCTION_TRAFFIC_SHIFT')).toEqual(['0/100']);
  expect(weightsIn(seen, 'BAKE_TIME')).toEqual(['0/100']);
  // Blue keeps both tasks running through the whole bake time, and is gone at the end.
  const bake = seen.filter((o) => o.stage === 'BAKE_TIME');
  expect(bake.every((o) => o.blue === 2)).toBe(true);
  expect(seen[seen.length - 1]).toMatchObject({ stage: 'CLEAN_UP', status: 'SUCCESSFUL', blue: 0 });

  const sd = await latestDeployment(s);
  expect(sd.deploymentConfiguration?.strategy).toBe('BLUE_GREEN');
  expect(sd.alarms?.status).toBe('DISABLED');
  const svc = await describeService(h, s.clusterName, 'web');
  expect(svc.deployments?.map((d) => [d.taskDefinition, d.rolloutState])).toEqual([[s.v2, 'COMPLETED']]);
  expect(svc.loadBalancers?.[0]?.advancedConfiguration?.alternateTargetGroupArn).toBe(s.alternateTargetGroupArn);

  // The next deployment shifts back the other way: the alternate group is now blue.
  const v3 = await s.taskDefinitionArn('app:v3');
  await h.ecs.send(new UpdateServiceCommand({ cluster: s.clusterName, service: 'web', taskDefinition: v3 }));
  await advanceUntil(h, async () => (await latestDeployment(s)).status === 'SUCCESSFUL');
  expect(await weights(s)).toBe('100/0');
});

test('canary: 10% for the canary bake time, then 100%', async () => {
  const s = await setup();
  await deployV2(s, { strategy: 'CANARY', bakeTimeInMinutes: 1, canaryConfiguration: { canaryPercent: 10, canaryBakeTimeInMinutes: 1 } });
  const seen = await trace(s, (sd) => sd.status === 'SUCCESSFUL');
  expect(stagesOf(seen)).toEqual(ALL_STAGES);
  expect(weightsIn(seen, 'PRODUCTION_TRAFFIC_SHIFT')).toEqual(['90/10', '0/100']);
  // The canary holds 10% for canaryBakeTimeInMinutes: about 120 observations half a second apart.
  const canary = seen.findIndex((o) => o.weights === '90/10');
  expect(seen[canary + 1]?.weights).toBe('0/100');
  const svc = await describeService(h, s.clusterName, 'web');
  const shifted = svc.events?.map((e) => e.message ?? '').filter((m) => m.includes('of production traffic')) ?? [];
  expect(shifted.reverse().map((m) => m.match(/shifted ([\d.]+)%/)?.[1])).toEqual(['10', '100']);
});

test('linear: 4 steps of 25%, stepBakeTimeInMinutes apart', async () => {
  const s = await setup();
  await deployV2(s, { strategy: 'LINEAR', bakeTimeInMinutes: 0, linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 1 } });
  const start = await h.now();
  const seen = await trace(s, (sd) => sd.status === 'SUCCESSFUL');
  // A bake time of 0 passes BAKE_TIME in no time, so no observation sees it.
  expect(stagesOf(seen)).toEqual(ALL_STAGES.filter((st) => st !== 'BAKE_TIME'));
  expect(weightsIn(seen, 'PRODUCTION_TRAFFIC_SHIFT')).toEqual(['75/25', '50/50', '25/75', '0/100']);
  // Three one-minute waits between four steps, after about a minute of scale-up.
  const took = ((await h.now()) - start) / 1000;
  expect(took).toBeGreaterThan(180);
  expect(took).toBeLessThan(300);
});

test('an alarm raised during bake time rolls traffic back to blue and the deployment back to the old revision', async () => {
  const s = await setup();
  await deployV2(s, {
    strategy: 'BLUE_GREEN',
    bakeTimeInMinutes: 10,
    alarms: { alarmNames: ['web-5xx', 'web-latency'], enable: true, rollback: true },
  });
  await advanceUntil(h, async () => (await latestDeployment(s)).lifecycleStage === 'BAKE_TIME', { step: 1 });
  expect((await latestDeployment(s)).alarms).toEqual({ status: 'MONITORING', alarmNames: ['web-5xx', 'web-latency'] });
  expect(await weights(s)).toBe('0/100');

  expect(await h.control('/_emulator/alarms', { name: 'web-latency', state: 'ALARM' })).toEqual({ name: 'web-latency', state: 'ALARM' });
  expect(await h.control('/_emulator/alarms')).toMatchObject({ alarms: [{ name: 'web-latency', state: 'ALARM' }] });
  const sd = await latestDeployment(s);
  expect(sd.status).toBe('ROLLBACK_IN_PROGRESS');
  expect(sd.alarms).toEqual({ status: 'TRIGGERED', alarmNames: ['web-5xx', 'web-latency'], triggeredAlarmNames: ['web-latency'] });
  expect(sd.rollback?.reason).toContain('web-latency');
  expect(await weights(s)).toBe('100/0');
  const svc = await describeService(h, s.clusterName, 'web');
  const messages = svc.events?.map((e) => e.message ?? '') ?? [];
  expect(messages.some((m) => /deployment failed: alarm\(s\) detected: web-latency\.$/.test(m))).toBe(true);

  await advanceUntil(h, async () => (await latestDeployment(s)).status === 'ROLLBACK_SUCCESSFUL');
  const after = await describeService(h, s.clusterName, 'web');
  expect(after.taskDefinition).toBe(s.v1);
  expect(after.deployments?.map((d) => [d.taskDefinition, d.runningCount])).toEqual([[s.v1, 2]]);
  expect(await weights(s)).toBe('100/0');

  await h.control('/_emulator/reset', {});
  expect(await h.control('/_emulator/alarms')).toEqual({ alarms: [] });
});

test('strategy settings are validated as CreateService receives them', async () => {
  const s = await setup();
  const reject = async (dc: DeploymentConfiguration, message: RegExp, advanced = true): Promise<void> => {
    await expect(createService(s, dc, advanced)).rejects.toMatchObject({ name: 'InvalidParameterException', message: expect.stringMatching(message) });
  };
  await reject({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 5 }, /requires a load balancer with an advancedConfiguration/, false);
  await reject({ strategy: 'SIDEWAYS' as 'LINEAR' }, /Invalid deployment strategy SIDEWAYS/);
  await reject({ strategy: 'BLUE_GREEN', bakeTimeInMinutes: 1441 }, /bakeTimeInMinutes must be between 0 and 1440/);
  await reject({ strategy: 'LINEAR', linearConfiguration: { stepPercent: 2 } }, /stepPercent must be a multiple of 0.1 from 3.0 to 100.0/);
  await reject({ strategy: 'CANARY', canaryConfiguration: { canaryPercent: 0.05 } }, /canaryPercent must be a multiple of 0.1 from 0.1 to 100.0/);
  await expect(
    h.ecs.send(
      new CreateServiceCommand({
        cluster: s.clusterName,
        serviceName: 'web',
        taskDefinition: s.v1,
        launchType: 'FARGATE',
        networkConfiguration: { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } },
        loadBalancers: [
          {
            targetGroupArn: s.targetGroupArn,
            containerName: 'web',
            containerPort: 8080,
            advancedConfiguration: { alternateTargetGroupArn: s.targetGroupArn.replace('pr-1-web', 'nope'), productionListenerRule: s.ruleArn },
          },
        ],
        deploymentConfiguration: { strategy: 'BLUE_GREEN' },
      }),
    ),
  ).rejects.toMatchObject({ name: 'InvalidParameterException', message: expect.stringMatching(/Unable to find target group/) });
  // Nothing was created by the refused calls; a valid one goes through and echoes the settings.
  const ok = await createService(s, { strategy: 'CANARY', bakeTimeInMinutes: 3, canaryConfiguration: { canaryPercent: 12.5, canaryBakeTimeInMinutes: 4 } });
  expect(ok.service?.deploymentConfiguration).toMatchObject({
    strategy: 'CANARY',
    bakeTimeInMinutes: 3,
    canaryConfiguration: { canaryPercent: 12.5, canaryBakeTimeInMinutes: 4 },
  });
});
