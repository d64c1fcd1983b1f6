// provision-platform with strategy blue-green: the environment gets the second target group and the
// weighted production rule ECS shifts traffic on, rollouts shift it, re-runs leave ECS's weights alone,
// and teardown takes both target groups.
import { DescribeRulesCommand, DescribeTargetHealthCommand, type Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { provisionInputs } from '../helpers/provisioned.ts';
import { describe as describeService, sharedListener, startWorld, taggedResources, type World } from '../helpers/world.ts';

const ROLE = 'arn:aws:iam::123456789012:role/ecsInfrastructureRole';

let world: World;
let listenerArn: string;
beforeAll(async () => {
  world = await startWorld();
  ({ listenerArn } = await sharedListener(world, 'bluegreen', { https: true }));
});
afterAll(() => world.stop());

const inputs = (environment: string, extra: Record<string, string> = {}) =>
  provisionInputs({ cluster: 'bluegreen', listenerArn }, environment, { strategy: 'blue-green', 'infrastructure-role-arn': ROLE, ...extra });

async function rule(ruleArn: string): Promise<Rule | undefined> {
  return (await world.elb.send(new DescribeRulesCommand({ RuleArns: [ruleArn] }))).Rules?.[0];
}

/** Target group ARN -> weight on the rule's forward action. */
async function weights(ruleArn: string): Promise<Record<string, number>> {
  const groups = (await rule(ruleArn))?.Actions?.find((action) => action.Type === 'forward')?.ForwardConfig?.TargetGroups ?? [];
  return Object.fromEntries(groups.map((group) => [group.TargetGroupArn ?? '', group.Weight ?? 0]));
}

async function healthy(targetGroupArn: string): Promise<number> {
  const health = await world.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  return (health.TargetHealthDescriptions ?? []).filter((target) => target.TargetHealth?.State === 'healthy').length;
}

test('a blue/green environment: two target groups, a rule forwarding to both, rollouts shift traffic, re-runs keep the weights, teardown takes all', async () => {
  const created = await world.run('provision-platform', { inputs: inputs('pr-40') });
  expect(created.exitCode).toBe(0);
  const primary = created.outputs['target-group-arn'] ?? '';
  const alternate = created.outputs['alternate-target-group-arn'] ?? '';
  const ruleArn = created.outputs['listener-rule-arn'] ?? '';
  expect(alternate).toMatch(/:targetgroup\/bluegreen-pr-40-alt-[0-9a-f]{6}\//);
  expect(alternate).not.toBe(primary);
  expect(created.summary).toMatch(/\| target group \| bluegreen-pr-40-alt-[0-9a-f]{6} \| created \|/);
  expect(await weights(ruleArn)).toEqual({ [primary]: 100, [alternate]: 0 });
  expect(await healthy(primary)).toBe(2);
  const service = await describeService(world, 'bluegreen', 'pr-40');
  expect(service?.deploymentConfiguration?.strategy).toBe('BLUE_GREEN');
  expect(service?.loadBalancers?.[0]?.advancedConfiguration).toEqual({ alternateTargetGroupArn: alternate, productionListenerRule: ruleArn, roleArn: ROLE });

  // A rollout with the service's own strategy moves all traffic to the other target group.
  const rollout = await world.run('rollout-with-circuit-breaker', { inputs: { cluster: 'bluegreen', service: 'pr-40', image: 'web:v2' } });
  expect(rollout.exitCode).toBe(0);
  // Which stage first shows 100% depends on when a poll falls; that the share was followed does not.
  expect(rollout.stdout).toMatch(/pr-40: stage \w+, 0% of production traffic on bluegreen_pr-40:2/);
  expect(rollout.stdout).toMatch(/pr-40: stage \w+, 100% of production traffic on bluegreen_pr-40:2/);
  expect(await weights(ruleArn)).toEqual({ [primary]: 0, [alternate]: 100 });
  expect(await healthy(alternate)).toBe(2);

  // provision's own inputs (now v2) are a revision of its own: deployed blue/green too, traffic back on the first group.
  const redeployed = await world.run('provision-platform', { inputs: inputs('pr-40', { image: 'web:v2' }) });
  expect(redeployed.exitCode).toBe(0);
  expect(redeployed.summary).toMatch(/\| service \| pr-40 \| updated \|/);
  expect(await weights(ruleArn)).toEqual({ [primary]: 100, [alternate]: 0 });

  // Run again: nothing changes, the rule's weights included.
  const before = (await world.calls()).length;
  const again = await world.run('provision-platform', { inputs: inputs('pr-40', { image: 'web:v2' }) });
  expect(again.exitCode).toBe(0);
  expect(again.stdout).toContain('No changes: the environment already matches the inputs.');
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);

  // A new host changes the rule's condition only: the weights stay as ECS set them.
  await world.run('rollout-with-circuit-breaker', { inputs: { cluster: 'bluegreen', service: 'pr-40', image: 'web:v3' } });
  expect(await weights(ruleArn)).toEqual({ [primary]: 0, [alternate]: 100 });
  const moved = await world.run('provision-platform', {
    inputs: inputs('pr-40', { image: 'web:v2', 'host-pattern': '{env}.review.example.com', 'desired-count': '2' }),
  });
  expect(moved.exitCode).toBe(0);
  expect((await rule(ruleArn))?.Conditions?.find((condition) => condition.Field === 'host-header')?.HostHeaderConfig?.Values).toEqual([
    'pr-40.review.example.com',
  ]);
  // Its revision differs from v3's, so it deploys once more and ECS shifts the traffic back: the rule held both groups throughout.
  expect(await weights(ruleArn)).toEqual({ [primary]: 100, [alternate]: 0 });
  expect(await healthy(primary)).toBe(2);

  const teardown = await world.run('teardown-env', { inputs: { cluster: 'bluegreen', environment: 'pr-40' } });
  expect(teardown.exitCode).toBe(0);
  expect((await taggedResources(world, 'pr-40')).filter((id) => !id.includes(':task/'))).toEqual([]);
});

test('blue-green without infrastructure-role-arn, or a role with rolling: refused naming the input, nothing changed', async () => {
  const before = (await world.calls()).length;
  const { 'infrastructure-role-arn': _, ...withoutRole } = inputs('pr-41');
  const missing = await world.run('provision-platform', { inputs: withoutRole });
  expect(missing.exitCode).toBe(1);
  expect(missing.stdout).toContain('infrastructure-role-arn');
  expect(missing.stdout).toContain('AmazonECSInfrastructureRolePolicyForLoadBalancers');
  const stray = await world.run('provision-platform', { inputs: inputs('pr-41', { strategy: 'rolling' }) });
  expect(stray.exitCode).toBe(1);
  expect(stray.stdout).toContain('Input "infrastructure-role-arn": is used only with strategy: blue-green');
  expect((await world.calls()).slice(before)).toEqual([]);
});

test('an existing environment is not switched between rolling and blue-green: refused before any change', async () => {
  const { strategy: _, 'infrastructure-role-arn': __, ...rolling } = inputs('pr-42');
  expect((await world.run('provision-platform', { inputs: rolling })).exitCode).toBe(0);
  const before = (await world.calls()).length;
  const switched = await world.run('provision-platform', { inputs: inputs('pr-42') });
  expect(switched.exitCode).toBe(1);
  expect(switched.stdout).toContain('Input "strategy": service pr-42 was provisioned rolling (one target group)');
  expect(switched.stdout).toContain('tear it down with teardown-env and provision it again with strategy: blue-green');
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
});
