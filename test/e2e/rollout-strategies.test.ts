// rollout-with-circuit-breaker with ECS-native blue/green, canary and linear deployments, run as a runner
// runs it, while the test watches the emulator's listener rule and the old revision's tasks.
import { DescribeServiceDeploymentsCommand, ListServiceDeploymentsCommand } from '@aws-sdk/client-ecs';
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DescribeRulesCommand,
  ModifyTargetGroupAttributesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { LIFECYCLE_STAGES } from '../../emulator/services/ecs-model.ts';
import { describe as describeService, type SeededService, seedService, sharedListener, startWorld, type World } from '../helpers/world.ts';

let world: World;
let listenerArn: string;
let priority = 1;
beforeAll(async () => {
  world = await startWorld();
  ({ listenerArn } = await sharedListener(world, 'strategies'));
});
afterAll(() => world.stop());

interface Shiftable extends SeededService {
  blue: string;
  green: string;
  ruleArn: string;
}

async function targetGroup(name: string): Promise<string> {
  const created = await world.elb.send(
    new CreateTargetGroupCommand({
      Name: name,
      Protocol: 'HTTP',
      Port: 8080,
      VpcId: 'vpc-0e1a2b3c4d5e6f701',
      TargetType: 'ip',
      HealthCheckIntervalSeconds: 10,
      HealthyThresholdCount: 2,
    }),
  );
  const arn = created.TargetGroups?.[0]?.TargetGroupArn ?? '';
  await world.elb.send(
    new ModifyTargetGroupAttributesCommand({ TargetGroupArn: arn, Attributes: [{ Key: 'deregistration_delay.timeout_seconds', Value: '30' }] }),
  );
  return arn;
}

/** A service on v1 behind a rule of the shared listener, with the second target group ECS shifts traffic to. */
async function shiftableService(name: string, cluster = 'strategies'): Promise<Shiftable> {
  const blue = await targetGroup(`${name}-a`);
  const green = await targetGroup(`${name}-b`);
  const rule = await world.elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: priority++,
      Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [`${name}.example.com`] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: blue }],
    }),
  );
  const ruleArn = rule.Rules?.[0]?.RuleArn ?? '';
  const seeded = await seedService(world, {
    cluster,
    service: name,
    image: 'shop:v1',
    loadBalancers: [
      {
        targetGroupArn: blue,
        containerName: 'app',
        containerPort: 8080,
        advancedConfiguration: {
          alternateTargetGroupArn: green,
          productionListenerRule: ruleArn,
          roleArn: 'arn:aws:iam::123456789012:role/ecsInfrastructureRole',
        },
      },
    ],
  });
  return { ...seeded, blue, green, ruleArn };
}

interface Observation {
  stage: string;
  status: string;
  /** Percent of production traffic on the green target group, from the rule's weights. */
  share: number;
  /** Running tasks of the revision the service ran before. */
  oldRunning: number;
}

/** Samples the emulator every 20 ms (2 emulated seconds) until stopped; keeps each change. */
function observe(s: Shiftable): { stop: () => Promise<Observation[]> } {
  const seen: Observation[] = [];
  let running = true;
  const loop = (async () => {
    while (running) {
      const list = await world.ecs.send(new ListServiceDeploymentsCommand({ cluster: s.cluster, service: s.service }));
      const arn = list.serviceDeployments?.[0]?.serviceDeploymentArn;
      const deployment = arn
        ? (await world.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }))).serviceDeployments?.[0]
        : undefined;
      const rules = await world.elb.send(new DescribeRulesCommand({ RuleArns: [s.ruleArn] }));
      const groups = rules.Rules?.[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups ?? [];
      const total = groups.reduce((sum, group) => sum + (group.Weight ?? 0), 0);
      const green = groups.find((group) => group.TargetGroupArn === s.green)?.Weight ?? 0;
      const service = await describeService(world, s.cluster, s.service);
      const old = service?.deployments?.find((d) => d.taskDefinition === s.taskDefinitionArn);
      const now: Observation = {
        stage: deployment?.lifecycleStage ?? '',
        status: deployment?.status ?? '',
        share: total === 0 ? 0 : Math.round((green / total) * 1000) / 10,
        oldRunning: old?.runningCount ?? 0,
      };
      const last = seen.at(-1);
      if (!last || JSON.stringify(last) !== JSON.stringify(now)) seen.push(now);
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      return seen;
    },
  };
}

/** The "stage X, p% of production traffic" lines of the step's log, in order. */
function stagesInLog(stdout: string, service: string): { stage: string; share: number }[] {
  return [...stdout.matchAll(new RegExp(`${service}: stage ([A-Z_]+), ([\\d.]+)% of production traffic on `, 'g'))].map((m) => ({
    stage: m[1] ?? '',
    share: Number(m[2]),
  }));
}

/** Distinct values in order of first appearance after each change: [0, 0, 10, 10, 100] → [0, 10, 100]. */
function changes(values: number[]): number[] {
  return values.filter((value, index) => index === 0 || values[index - 1] !== value);
}

function expectInLifecycleOrder(stages: { stage: string }[]): void {
  const order = stages.map((seen) => (LIFECYCLE_STAGES as readonly string[]).indexOf(seen.stage));
  expect(order.every((index) => index >= 0)).toBe(true);
  expect(order).toEqual([...order].sort((a, b) => a - b));
}

test('blue/green with a bake time: traffic moves 0 → 100% at once, and the old revision runs until the bake time ends', async () => {
  const s = await shiftableService('bg');
  const watch = observe(s);
  const run = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster: s.cluster, service: s.service, image: 'shop:v2', strategy: 'blue-green', 'bake-time': '3m' },
  });
  const seen = await watch.stop();
  expect(run.exitCode).toBe(0);
  expect(run.outputs.status).toBe('successful');

  // The rule: nothing to green, then everything, with no step between.
  expect(changes(seen.map((o) => o.share))).toEqual([0, 100]);
  // The old revision serves nothing during the bake time but keeps running, and is gone once it ends.
  const baking = seen.filter((o) => o.stage === 'BAKE_TIME');
  expect(baking.length).toBeGreaterThan(0);
  expect(baking.every((o) => o.share === 100 && o.oldRunning === 2)).toBe(true);
  const service = await describeService(world, s.cluster, s.service);
  expect(service?.deployments?.map((d) => d.taskDefinition)).toEqual([run.outputs['task-definition-arn']]);

  const logged = stagesInLog(run.stdout, 'bg');
  expectInLifecycleOrder(logged);
  expect(changes(logged.map((l) => l.share))).toEqual([0, 100]);
  expect(logged.map((l) => l.stage)).toEqual(expect.arrayContaining(['SCALE_UP', 'BAKE_TIME']));
  expect(logged.find((l) => l.stage === 'BAKE_TIME')?.share).toBe(100);
  expect(run.summary).toMatch(/bg lifecycle, with the new revision's share of production traffic: .*BAKE_TIME \(100%\)/);
});

test('blue/green: an alarm raised during the bake time rolls back, and the step fails naming the alarm', async () => {
  const s = await shiftableService('alarmed');
  const watch = observe(s);
  const running = world.run('rollout-with-circuit-breaker', {
    inputs: {
      cluster: s.cluster,
      service: s.service,
      image: 'shop:v2',
      strategy: 'blue-green',
      'bake-time': '10m',
      alarms: 'alarmed-5xx-rate, alarmed-latency',
    },
  });
  let service = await describeService(world, s.cluster, s.service);
  for (const deadline = Date.now() + 30_000; Date.now() < deadline; ) {
    const list = await world.ecs.send(new ListServiceDeploymentsCommand({ cluster: s.cluster, service: s.service }));
    const arn = list.serviceDeployments?.[0]?.serviceDeploymentArn ?? '';
    const deployment = (await world.ecs.send(new DescribeServiceDeploymentsCommand({ serviceDeploymentArns: [arn] }))).serviceDeployments?.[0];
    if (deployment?.lifecycleStage === 'BAKE_TIME') break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  await world.control('/_emulator/alarms', { name: 'alarmed-latency', state: 'ALARM' });
  const run = await running;
  const seen = await watch.stop();

  expect(run.exitCode).toBe(1);
  expect(run.outputs.status).toBe('rolled-back');
  expect(run.outputs['failure-reason']).toBe('alarm');
  expect(run.outputs['rolled-back-to']).toBe(s.taskDefinitionArn);
  expect(run.stdout).toMatch(/::error title=rollout-with-circuit-breaker::Deployment of alarmed was rolled back: CloudWatch alarm alarmed-latency in ALARM/);
  expect(run.stdout).toContain('Alarms in ALARM: alarmed-latency');
  expect(run.summary).toContain('CloudWatch alarm');
  // Traffic was all on green while baking, and went back to blue.
  expect(changes(seen.map((o) => o.share))).toEqual([0, 100, 0]);
  service = await describeService(world, s.cluster, s.service);
  expect(service?.taskDefinition).toBe(s.taskDefinitionArn);
  expect(service?.deploymentConfiguration?.alarms).toEqual({ alarmNames: ['alarmed-5xx-rate', 'alarmed-latency'], enable: true, rollback: true });
  await world.control('/_emulator/alarms', { name: 'alarmed-latency', state: 'OK' });
});

test('canary 10% then 100%: the stages appear in order with their shares, as the rule weighted them', async () => {
  const s = await shiftableService('canary');
  const watch = observe(s);
  const run = await world.run('rollout-with-circuit-breaker', {
    inputs: {
      cluster: s.cluster,
      service: s.service,
      image: 'shop:v2',
      strategy: 'canary',
      'canary-percent': '10',
      // Bare numbers are minutes, as ECS's own minute fields read.
      'canary-interval': '2',
      'bake-time': '1',
    },
  });
  const seen = await watch.stop();
  expect(run.exitCode).toBe(0);

  expect(run.stdout).toMatch(/canary: deployment \S+ started, canary 10% for 2m, bake 1m/);
  const logged = stagesInLog(run.stdout, 'canary');
  expectInLifecycleOrder(logged);
  expect(changes(logged.map((l) => l.share))).toEqual([0, 10, 100]);
  expect(changes(seen.map((o) => o.share))).toEqual([0, 10, 100]);
  // Each lasting stage and share the step printed is one the emulator's rule held at that stage (the
  // one-second stages between them can fall between two samples of the test).
  const lasting = logged.filter((line) => (line.stage === 'PRODUCTION_TRAFFIC_SHIFT' && line.share < 100) || line.stage === 'BAKE_TIME');
  expect(lasting.length).toBeGreaterThanOrEqual(2);
  for (const line of lasting) expect(seen).toContainEqual(expect.objectContaining({ stage: line.stage, share: line.share }));
  expect(logged).toContainEqual({ stage: 'PRODUCTION_TRAFFIC_SHIFT', share: 10 });
});

test('linear in 4 steps: 25, 50, 75 and 100% in the log, each matching the rule', async () => {
  const s = await shiftableService('linear');
  const watch = observe(s);
  const run = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster: s.cluster, service: s.service, image: 'shop:v2', strategy: 'linear', 'linear-step-percent': '25', 'linear-interval': '1m' },
  });
  const seen = await watch.stop();
  expect(run.exitCode).toBe(0);

  const logged = stagesInLog(run.stdout, 'linear');
  expectInLifecycleOrder(logged);
  expect(changes(logged.map((l) => l.share))).toEqual([0, 25, 50, 75, 100]);
  expect(changes(seen.map((o) => o.share))).toEqual([0, 25, 50, 75, 100]);
  for (const share of [25, 50, 75]) {
    expect(logged).toContainEqual({ stage: 'PRODUCTION_TRAFFIC_SHIFT', share });
    expect(seen).toContainEqual(expect.objectContaining({ stage: 'PRODUCTION_TRAFFIC_SHIFT', share }));
  }
  const service = await describeService(world, s.cluster, s.service);
  expect(service?.deploymentConfiguration).toMatchObject({ strategy: 'LINEAR', linearConfiguration: { stepPercent: 25, stepBakeTimeInMinutes: 1 } });

  // rollback-to-revision goes back the same way, traffic shifting step by step to the old revision.
  const back = await world.run('rollback-to-revision', { inputs: { cluster: s.cluster, service: s.service, to: 'previous' } });
  expect(back.exitCode).toBe(0);
  expect(changes(stagesInLog(back.stdout, 'linear').map((l) => l.share))).toEqual([0, 25, 50, 75, 100]);
  expect((await describeService(world, s.cluster, s.service))?.taskDefinition).toBe(s.taskDefinitionArn);
});

test('dry run: the strategy it would deploy with, and nothing changed', async () => {
  const s = await shiftableService('dry');
  const before = (await world.calls()).length;
  const run = await world.run('rollout-with-circuit-breaker', {
    inputs: {
      cluster: s.cluster,
      service: s.service,
      image: 'shop:v2',
      strategy: 'linear',
      'linear-step-percent': '20',
      'linear-interval': '2m',
      alarms: 'dry-5xx',
      'dry-run': 'true',
    },
  });
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toContain('would deploy dry: strategies-dry:1 → new revision of strategies-dry, linear 20% every 2m, alarms dry-5xx');
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
});

test('settings that do not fit the service are refused before any change, naming the input', async () => {
  const s = await shiftableService('unfit');
  const plain = await seedService(world, { cluster: 'strategies', service: 'plain', image: 'shop:v1' });
  const before = (await world.calls()).length;
  const wrongKind = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster: s.cluster, service: s.service, image: 'shop:v2', strategy: 'linear', 'canary-percent': '10' },
  });
  expect(wrongKind.exitCode).toBe(1);
  expect(wrongKind.stdout).toMatch(/Input "canary-percent": applies to canary deployments, not to strategy linear/);
  const noSecondGroup = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster: plain.cluster, service: 'plain', image: 'shop:v2', strategy: 'blue-green' },
  });
  expect(noSecondGroup.exitCode).toBe(1);
  expect(noSecondGroup.stdout).toMatch(/Input "strategy": blue-green needs service plain behind a load balancer with a second target group/);
  const bakeOnRolling = await world.run('rollout-with-circuit-breaker', {
    inputs: { cluster: plain.cluster, service: 'plain', image: 'shop:v2', 'bake-time': '5m' },
  });
  expect(bakeOnRolling.stdout).toMatch(/Input "bake-time": applies to blue-green, canary and linear deployments, not to service plain's strategy \(rolling\)/);
  const seconds = await world.run('rollout-with-circuit-breaker', { inputs: { cluster: s.cluster, service: s.service, image: 'shop:v2', 'bake-time': '90s' } });
  expect(seconds.stdout).toMatch(/Input "bake-time": 90s is not a whole number of minutes/);
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
});
