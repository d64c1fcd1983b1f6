// provision-platform (existing shared listener), run as a runner runs it, against the emulator.

import { DescribeTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import {
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  type ElasticLoadBalancingV2Client,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { tagsOf } from '../../src/ecs/services.ts';
import { provisionInputs } from '../helpers/provisioned.ts';
import { describe as describeService, SECURITY_GROUP, SUBNETS, sharedListener, startWorld, taggedResources, type World } from '../helpers/world.ts';

let world: World;
let elb: ElasticLoadBalancingV2Client;
let listenerArn: string;

beforeAll(async () => {
  world = await startWorld();
  elb = world.elb;
  ({ listenerArn } = await sharedListener(world, 'previews', { https: true }));
});
afterAll(() => world.stop());

const inputs = (environment: string, extra: Record<string, string> = {}) => provisionInputs({ cluster: 'previews', listenerArn }, environment, { ...extra });

async function healthyTargets(targetGroupArn: string): Promise<number> {
  const health = await elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: targetGroupArn }));
  return (health.TargetHealthDescriptions ?? []).filter((target) => target.TargetHealth?.State === 'healthy').length;
}

test('provision pr-7: routed by its host, targets healthy, summary; a re-run changes nothing', async () => {
  const run = await world.run('provision-platform', { inputs: inputs('pr-7', { ttl: '72h' }) });
  expect(run.stdout).not.toContain('Unexpected error');
  expect(run.exitCode).toBe(0);
  expect(run.outputs.url).toBe('https://pr-7.preview.example.com');
  expect(run.outputs['log-group']).toBe('/ecs/previews/pr-7');
  expect(run.outputs['task-definition-arn']).toMatch(/task-definition\/previews_pr-7:1$/);
  expect(await healthyTargets(run.outputs['target-group-arn'] ?? '')).toBe(2);
  const rules = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
  const rule = rules.Rules?.find((candidate) => candidate.RuleArn === run.outputs['listener-rule-arn']);
  expect(rule?.Conditions?.[0]?.HostHeaderConfig?.Values).toEqual(['pr-7.preview.example.com']);
  expect(run.summary).toMatch(/\| service \| pr-7 \| created \|/);
  // ttl: every resource says when it expires (a sweep reads it).
  const tags = await elb.send(new DescribeTagsCommand({ ResourceArns: [run.outputs['target-group-arn'] ?? ''] }));
  const expires = tags.TagDescriptions?.[0]?.Tags?.find((tag) => tag.Key === 'ecs-deploy-actions:expires-at')?.Value ?? '';
  expect(Date.parse(expires) - Date.now()).toBeGreaterThan(71 * 3600 * 1000);
  // 2 tasks x (0.25 vCPU x $0.04048 + 0.5 GB x $0.004445) x 730 h, us-east-1 on-demand.
  expect(run.outputs['estimated-monthly-cost']).toBe('18.02');
  expect(run.summary).toContain('Fargate prices, us-east-1, as of 2026-11-24');

  const before = (await world.calls()).length;
  const again = await world.run('provision-platform', { inputs: inputs('pr-7', { ttl: '72h' }) });
  expect(again.exitCode).toBe(0);
  expect(again.stdout).toContain('No changes: the environment already matches the inputs.');
  // The one write: the ttl moves on from this run, so a preview in use is never swept.
  const writes = (await world.calls()).slice(before).filter((call) => call.mutating);
  expect(writes.map((call) => call.operation)).toEqual(['TagResource']);
  expect(writes[0]?.parameters).toMatchObject({ tags: [{ key: 'ecs-deploy-actions:expires-at' }] });
  const movedTo = tagsOf((await describeService(world, 'previews', 'pr-7')) ?? {})['ecs-deploy-actions:expires-at'] ?? '';
  expect(Date.parse(movedTo)).toBeGreaterThan(Date.parse(expires));
  expect(again.outputs['listener-rule-arn']).toBe(run.outputs['listener-rule-arn']);
});

test('changed inputs update in place: a new revision, the same rule and target group', async () => {
  const first = await world.run('provision-platform', { inputs: inputs('pr-8') });
  const second = await world.run('provision-platform', { inputs: inputs('pr-8', { image: 'web:v2', 'health-check-path': '/healthz' }) });
  expect(second.exitCode).toBe(0);
  expect(second.outputs['task-definition-arn']).toMatch(/previews_pr-8:2$/);
  expect(second.outputs['target-group-arn']).toBe(first.outputs['target-group-arn']);
  expect(second.outputs['listener-rule-arn']).toBe(first.outputs['listener-rule-arn']);
  expect(second.summary).toMatch(/\| target group \| previews-pr-8-[0-9a-f]{6} \| updated \|/);
  expect(second.summary).toMatch(/\| service \| pr-8 \| updated \|/);
});

test('after a rollout of another image, provision with its own inputs again puts its image back', async () => {
  expect((await world.run('provision-platform', { inputs: inputs('pr-12') })).exitCode).toBe(0);
  const rolled = await world.run('rollout-with-circuit-breaker', { inputs: { cluster: 'previews', environment: 'pr-12', image: 'web:v2' } });
  expect(rolled.exitCode).toBe(0);
  const again = await world.run('provision-platform', { inputs: inputs('pr-12') });
  expect(again.exitCode).toBe(0);
  expect(again.outputs['task-definition-arn']).toMatch(/previews_pr-12:3$/);
  expect(again.summary).toMatch(/\| service \| pr-12 \| updated \|/);
  const revision = await world.ecs.send(new DescribeTaskDefinitionCommand({ taskDefinition: again.outputs['task-definition-arn'] }));
  expect(revision.taskDefinition?.containerDefinitions?.[0]?.image).toBe('web:v1');
  expect((await describeService(world, 'previews', 'pr-12'))?.taskDefinition).toBe(again.outputs['task-definition-arn']);
});

test('provisioned while asleep: awake with its inputs’ desired count, which a later sleep and wake keep', async () => {
  const scale = (mode: string) => world.run('scale-schedule', { inputs: { mode, cluster: 'previews', environments: 'pr-14' } });
  expect((await world.run('provision-platform', { inputs: inputs('pr-14') })).exitCode).toBe(0);
  expect((await scale('sleep')).exitCode).toBe(0);
  const awake = await world.run('provision-platform', { inputs: inputs('pr-14', { 'desired-count': '1' }) });
  expect(awake.exitCode).toBe(0);
  const service = await describeService(world, 'previews', 'pr-14');
  expect(service?.desiredCount).toBe(1);
  expect(service?.tags?.map((tag) => tag.key)).not.toContain('ecs-deploy-actions:asleep-desired-count');
  expect((await scale('sleep')).exitCode).toBe(0);
  expect((await scale('wake')).exitCode).toBe(0);
  expect((await describeService(world, 'previews', 'pr-14'))?.desiredCount).toBe(1);
});

test('re-run after a run that stopped waiting: the re-run waits for the deployment that run started, then succeeds', async () => {
  await world.control('/_emulator/behaviours', { image: 'web:slow', kind: 'slow-start', startSeconds: 600 });
  const first = await world.run('provision-platform', { inputs: inputs('pr-15', { image: 'web:slow', timeout: '30s' }) });
  expect(first.exitCode).toBe(1);
  expect(first.stdout).toContain('timed out');
  const again = await world.run('provision-platform', { inputs: inputs('pr-15', { image: 'web:slow' }) });
  expect(again.exitCode).toBe(0);
  expect(again.summary).toMatch(/\| service \| pr-15 \| unchanged \|/);
  const service = await describeService(world, 'previews', 'pr-15');
  expect(service?.runningCount).toBe(2);
  expect(service?.deployments?.map((deployment) => deployment.rolloutState)).toEqual(['COMPLETED']);
});

test('re-run after a run that stopped waiting on a crashing image: the re-run fails as that run would have, rolled back', async () => {
  await world.control('/_emulator/behaviours', { image: 'web:crashing', kind: 'crash', exitCode: 1 });
  const good = await world.run('provision-platform', { inputs: inputs('pr-16') });
  expect(good.exitCode).toBe(0);
  const first = await world.run('provision-platform', { inputs: inputs('pr-16', { image: 'web:crashing', timeout: '30s' }) });
  expect(first.stdout).toContain('timed out');
  const again = await world.run('provision-platform', { inputs: inputs('pr-16', { image: 'web:crashing' }) });
  expect(again.exitCode).toBe(1);
  expect(again.stdout).toMatch(/Deployment of pr-16 was rolled back/);
  // Right after, ECS still rolling back: provision with the good inputs again waits for the rollback to land.
  const back = await world.run('provision-platform', { inputs: inputs('pr-16') });
  expect(back.exitCode).toBe(0);
  expect(back.outputs['task-definition-arn']).toBe(good.outputs['task-definition-arn']);
  const service = await describeService(world, 'previews', 'pr-16');
  expect(service?.deployments?.map((deployment) => [deployment.taskDefinition, deployment.rolloutState])).toEqual([
    [good.outputs['task-definition-arn'], 'COMPLETED'],
  ]);
  expect(service?.runningCount).toBe(2);
});

test('the shortest health-check interval (5s) is created, and an existing target group changed to it', async () => {
  const created = await world.run('provision-platform', { inputs: inputs('pr-17', { 'health-check-interval': '5s' }) });
  expect(created.exitCode).toBe(0);
  expect((await world.run('provision-platform', { inputs: inputs('pr-18') })).exitCode).toBe(0);
  const changed = await world.run('provision-platform', { inputs: inputs('pr-18', { 'health-check-interval': '5s' }) });
  expect(changed.exitCode).toBe(0);
  const groups = await elb.send(
    new DescribeTargetGroupsCommand({ TargetGroupArns: [created.outputs['target-group-arn'] ?? '', changed.outputs['target-group-arn'] ?? ''] }),
  );
  expect(groups.TargetGroups?.map((group) => [group.HealthCheckIntervalSeconds, group.HealthCheckTimeoutSeconds])).toEqual([
    [5, 4],
    [5, 4],
  ]);
});

test('only the desired count changed: the step ends once the new count of tasks runs', async () => {
  expect((await world.run('provision-platform', { inputs: inputs('pr-19', { 'desired-count': '1' }) })).exitCode).toBe(0);
  const scaled = await world.run('provision-platform', { inputs: inputs('pr-19', { 'desired-count': '3' }) });
  expect(scaled.exitCode).toBe(0);
  expect(scaled.summary).toMatch(/\| service \| pr-19 \| updated \|/);
  const service = await describeService(world, 'previews', 'pr-19');
  expect([service?.desiredCount, service?.runningCount]).toEqual([3, 3]);
});

test('a new host and a crashing image: the rule is changed in place, the deployment rolls back and the step shows why', async () => {
  const first = await world.run('provision-platform', { inputs: inputs('pr-11') });
  expect(first.exitCode).toBe(0);
  await world.control('/_emulator/behaviours', { image: 'web:broken', kind: 'crash', exitCode: 1, logLines: ['Error: PORT is not set'] });
  const second = await world.run('provision-platform', { inputs: inputs('pr-11', { image: 'web:broken', 'host-pattern': '{env}.review.example.com' }) });
  expect(second.exitCode).toBe(1);
  expect(second.stdout).toContain('Error: PORT is not set');
  expect(second.stdout).toContain('Classification: crash on start');
  const rules = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
  const rule = rules.Rules?.find((candidate) => candidate.RuleArn === first.outputs['listener-rule-arn']);
  expect(rule?.Conditions?.[0]?.HostHeaderConfig?.Values).toEqual(['pr-11.review.example.com']);
  expect((await describeService(world, 'previews', 'pr-11'))?.taskDefinition).toBe(first.outputs['task-definition-arn']);
});

test('run for a pull request, the environment records it on every resource for a sweep; the re-run still changes nothing', async () => {
  const event = { action: 'synchronize', number: 31, pull_request: { number: 31, state: 'open' }, repository: { full_name: 'acme/web' } };
  const run = await world.run('provision-platform', { inputs: inputs('pr-31'), event, env: { GITHUB_EVENT_NAME: 'pull_request' } });
  expect(run.exitCode).toBe(0);
  // As owner/repo/pull/N: "#" is not a character AWS allows in tag values.
  const tag = { key: 'ecs-deploy-actions:pull-request', value: 'acme/web/pull/31' };
  expect((await describeService(world, 'previews', 'pr-31'))?.tags).toContainEqual(tag);
  const elbTags = await elb.send(new DescribeTagsCommand({ ResourceArns: [run.outputs['target-group-arn'] ?? '', run.outputs['listener-rule-arn'] ?? ''] }));
  for (const description of elbTags.TagDescriptions ?? []) expect(description.Tags).toContainEqual({ Key: tag.key, Value: tag.value });

  const before = (await world.calls()).length;
  const again = await world.run('provision-platform', { inputs: inputs('pr-31'), event, env: { GITHUB_EVENT_NAME: 'pull_request' } });
  expect(again.exitCode).toBe(0);
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);

  const explicit = await world.run('provision-platform', { inputs: inputs('pr-32', { 'pull-request': 'acme/api#32', 'desired-count': '1' }) });
  expect(explicit.exitCode).toBe(0);
  const tags = await elb.send(new DescribeTagsCommand({ ResourceArns: [explicit.outputs['target-group-arn'] ?? ''] }));
  expect(tags.TagDescriptions?.[0]?.Tags).toContainEqual({ Key: 'ecs-deploy-actions:pull-request', Value: 'acme/api/pull/32' });
});

test('10 environments provisioned at once on one listener: 10 distinct priorities, all healthy', async () => {
  const environments = Array.from({ length: 10 }, (_, i) => `pr-${100 + i}`);
  const runs = await Promise.all(environments.map((environment) => world.run('provision-platform', { inputs: inputs(environment), timeoutMs: 120_000 })));
  for (const run of runs) expect(run.exitCode).toBe(0);
  const rules = (await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules ?? [];
  const ours = rules.filter((rule) => runs.some((run) => run.outputs['listener-rule-arn'] === rule.RuleArn));
  expect(new Set(ours.map((rule) => rule.Priority)).size).toBe(10);
  for (const run of runs) expect(await healthyTargets(run.outputs['target-group-arn'] ?? '')).toBe(2);
}, 180_000);

test('interrupted after the target group and before the service, then torn down: nothing of it is left, others unchanged', async () => {
  const durable = async (environment: string) => (await taggedResources(world, environment)).filter((id) => !id.includes(':task/'));
  const othersBefore = [await durable('pr-7'), await durable('pr-8')];
  await world.control('/_emulator/faults', { service: 'ecs', operation: 'RegisterTaskDefinition', error: 'InternalFailure', rate: 1 });
  const interrupted = await world.run('provision-platform', { inputs: inputs('pr-9'), timeoutMs: 120_000 });
  await world.control('/_emulator/faults', undefined, 'DELETE');
  expect(interrupted.exitCode).toBe(1);
  const teardown = await world.run('teardown-env', { inputs: { cluster: 'previews', environment: 'pr-9' } });
  expect(teardown.exitCode).toBe(0);
  expect(Number(teardown.outputs.deleted)).toBeGreaterThanOrEqual(3);
  expect(await taggedResources(world, 'pr-9')).toEqual([]);
  expect(othersBefore[0]?.length).toBeGreaterThan(3);
  expect([await durable('pr-7'), await durable('pr-8')]).toEqual(othersBefore);
}, 180_000);

test('without listener-arn: one shared internet-facing ALB per cluster (HTTPS, HTTP redirected), reused by every environment', async () => {
  const shared = (environment: string) => {
    const { 'listener-arn': _, ...rest } = inputs(environment, {
      cluster: 'shared',
      'certificate-arn': 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000002',
      'load-balancer-subnets': SUBNETS.join(','),
      'load-balancer-security-groups': SECURITY_GROUP,
    });
    return rest;
  };
  const [first, second] = await Promise.all([
    world.run('provision-platform', { inputs: shared('pr-40') }),
    world.run('provision-platform', { inputs: shared('pr-41') }),
  ]);
  expect(first.exitCode).toBe(0);
  expect(second.exitCode).toBe(0);
  const balancers = (await elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers?.filter((lb) => lb.LoadBalancerName === 'shared-shared') ?? [];
  expect(balancers).toHaveLength(1);
  expect(balancers[0]?.Scheme).toBe('internet-facing');
  const listeners = (await elb.send(new DescribeListenersCommand({ LoadBalancerArn: balancers[0]?.LoadBalancerArn }))).Listeners ?? [];
  expect(listeners.map((l) => [l.Port, l.Protocol, l.DefaultActions?.[0]?.Type]).sort()).toEqual([
    [443, 'HTTPS', 'fixed-response'],
    [80, 'HTTP', 'redirect'],
  ]);
  const https = listeners.find((l) => l.Port === 443)?.ListenerArn;
  const rules = (await elb.send(new DescribeRulesCommand({ ListenerArn: https }))).Rules ?? [];
  expect(rules.filter((rule) => [first.outputs['listener-rule-arn'], second.outputs['listener-rule-arn']].includes(rule.RuleArn))).toHaveLength(2);

  const before = (await world.calls()).length;
  const again = await world.run('provision-platform', { inputs: shared('pr-40') });
  expect(again.stdout).toContain('No changes');
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
}, 120_000);

test('a listener-arn that does not exist: refused naming listener-arn, before a cluster or anything else is created', async () => {
  const missing = listenerArn.replace(/\/[0-9a-f]+$/, '/0000000000000000');
  const before = (await world.calls()).length;
  const run = await world.run('provision-platform', { inputs: inputs('pr-lost', { cluster: 'elsewhere', 'listener-arn': missing }) });
  expect(run.exitCode).toBe(1);
  expect(run.stdout).toContain(`Listener ${missing} was not found`);
  expect(run.stdout).toContain('check listener-arn');
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
});
