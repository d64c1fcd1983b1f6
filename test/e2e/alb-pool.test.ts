// A pool of shared ALBs (load-balancer-pool, grow-pool, hosted-zone-id), with the emulator's quota of
// target groups per ALB lowered to 5 so a dozen environments fill it.

import {
  AddTagsCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateHostedZoneCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { readPool } from '../../src/provision/pool.ts';
import { SECURITY_GROUP, SUBNETS, sharedListener, startWorld, taggedResources, type World } from '../helpers/world.ts';

let world: World;
let hostedZoneId: string;

beforeAll(async () => {
  world = await startWorld();
  await world.control('/_emulator/limits', { elbv2: { 'target-groups-per-application-load-balancer': 5 } });
  const route53 = new Route53Client({
    endpoint: world.emulator.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
  });
  const zone = await route53.send(new CreateHostedZoneCommand({ Name: 'preview.example.com', CallerReference: 'alb-pool-test' }));
  hostedZoneId = (zone.HostedZone?.Id ?? '').replace('/hostedzone/', '');
  route53.destroy();
});
afterAll(() => world.stop());

const environments = Array.from({ length: 12 }, (_, index) => `pr-${index + 1}`);

const inputs = (cluster: string, environment: string, extra: Record<string, string> = {}) => ({
  environment,
  cluster,
  'load-balancer-pool': cluster,
  'host-pattern': `{env}-${cluster}.preview.example.com`,
  image: 'web:v1',
  'execution-role-arn': 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
  'container-port': '8080',
  subnets: SUBNETS.join(','),
  'security-groups': SECURITY_GROUP,
  'desired-count': '1',
  ...extra,
});

/** Runs the environments 4 at a time, as a busy repository's pull requests do. */
async function inBatches<T>(items: string[], run: (item: string) => Promise<T>): Promise<T[]> {
  const results: T[] = [];
  for (let i = 0; i < items.length; i += 4) results.push(...(await Promise.all(items.slice(i, i + 4).map(run))));
  return results;
}

/** The listener and ALB a rule is on, from the rule's ARN (listener-rule/app/<alb>/<id>/<listener>/<rule>) and the listener's ALB. */
async function routedBy(ruleArn: string): Promise<{ listenerArn: string; loadBalancerArn: string | undefined }> {
  const listenerArn = ruleArn.replace(':listener-rule/', ':listener/').replace(/\/[^/]+$/, '');
  const listeners = await world.elb.send(new DescribeListenersCommand({ ListenerArns: [listenerArn] }));
  return { listenerArn, loadBalancerArn: listeners.Listeners?.[0]?.LoadBalancerArn };
}

async function resolve(name: string): Promise<{ loadBalancerArn?: string } | undefined> {
  const response = await fetch(`${world.emulator.endpoint}/_emulator/dns/resolve?name=${name}`);
  return response.status === 404 ? undefined : ((await response.json()) as { loadBalancerArn?: string });
}

test('grow-pool: 12 environments, 4 at a time, fill 3 ALBs within the quota; each routed and resolvable; a re-run changes nothing', async () => {
  const grow = {
    'grow-pool': 'true',
    'hosted-zone-id': hostedZoneId,
    'certificate-arn': 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000001',
    'load-balancer-subnets': SUBNETS.join(','),
    'load-balancer-security-groups': SECURITY_GROUP,
  };
  const runs = await inBatches(environments, (environment) =>
    world.run('provision-platform', { inputs: inputs('grow', environment, grow), timeoutMs: 120_000 }),
  );
  for (const run of runs) expect({ exitCode: run.exitCode, stdout: run.exitCode === 0 ? '' : run.stdout }).toEqual({ exitCode: 0, stdout: '' });

  const pool = await readPool(world.elb, 'grow');
  expect(pool.members.map((member) => member.name)).toEqual(['grow-1', 'grow-2', 'grow-3']);
  expect(pool.members.map((member) => member.targetGroups)).toEqual([5, 5, 2]);
  expect(pool.members.every((member) => member.targetGroups <= 5)).toBe(true);
  // Platform-level: tagged with the pool and the platform, never with an environment.
  const tags = await world.elb.send(new DescribeTagsCommand({ ResourceArns: pool.members.map((member) => member.loadBalancer.LoadBalancerArn ?? '') }));
  for (const description of tags.TagDescriptions ?? []) {
    const keys = (description.Tags ?? []).map((tag) => tag.Key);
    expect(keys).toEqual(expect.arrayContaining(['ecs-deploy-actions:pool', 'ecs-deploy-actions:platform']));
    expect(keys).not.toContain('ecs-deploy-actions:environment');
  }

  // Each environment: a rule for its host on one ALB's listener, forwarding to its target group; its record leads to that ALB.
  for (const [index, environment] of environments.entries()) {
    const run = runs[index];
    const host = `${environment}-grow.preview.example.com`;
    const ruleArn = run?.outputs['listener-rule-arn'] ?? '';
    const { listenerArn, loadBalancerArn } = await routedBy(ruleArn);
    const member = pool.members.find((candidate) => candidate.loadBalancer.LoadBalancerArn === loadBalancerArn);
    expect(member?.listenerArn).toBe(listenerArn);
    const rules = await world.elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
    const rule = rules.Rules?.find((candidate) => candidate.RuleArn === ruleArn);
    expect(rule?.Conditions?.[0]?.HostHeaderConfig?.Values).toEqual([host]);
    expect(rule?.Actions?.[0]?.TargetGroupArn).toBe(run?.outputs['target-group-arn']);
    expect((await resolve(host))?.loadBalancerArn).toBe(member?.loadBalancer.LoadBalancerArn);
  }
  expect(runs[11]?.summary).toContain('| load balancer of the pool | target groups | rules | free slots |');

  const before = (await world.calls()).length;
  const again = await world.run('provision-platform', { inputs: inputs('grow', 'pr-1', grow) });
  expect(again.exitCode).toBe(0);
  expect(again.stdout).toContain('No changes: the environment already matches the inputs.');
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
  expect(again.outputs['listener-rule-arn']).toBe(runs[0]?.outputs['listener-rule-arn']);
}, 600_000);

test('without grow-pool: a pool of 2 ALBs takes 10 environments; the others fail naming the quota, with nothing half-made', async () => {
  for (const name of ['fixed-a', 'fixed-b']) {
    const { loadBalancerArn } = await sharedListener(world, name, { https: true });
    await world.elb.send(new AddTagsCommand({ ResourceArns: [loadBalancerArn], Tags: [{ Key: 'ecs-deploy-actions:pool', Value: 'fixed' }] }));
  }
  // Named apart from the grown pool's environments, so their tags tell them apart.
  const fixed = environments.map((environment) => environment.replace('pr-', 'fx-'));
  const runs = await inBatches(fixed, (environment) => world.run('provision-platform', { inputs: inputs('fixed', environment), timeoutMs: 120_000 }));
  const failed = fixed.filter((_, index) => runs[index]?.exitCode !== 0);
  expect(failed).toHaveLength(2);
  for (const environment of failed) {
    const run = runs[fixed.indexOf(environment)];
    expect(run?.stdout).toContain('target groups per Application Load Balancer (5, a hard quota)');
    expect(run?.stdout).toContain('grow-pool: true');
    expect(await taggedResources(world, environment)).toEqual([]);
  }
  // Without a hosted zone, the summary says which wildcard record each ALB needs.
  const succeeded = runs.find((run) => run.exitCode === 0);
  expect(succeeded?.summary).toMatch(/\| \*\.preview\.example\.com \| ALIAS \| fixed-a-\d+\.us-east-1\.elb\.amazonaws\.com \|/);

  // Refused up front: read calls only.
  const before = (await world.calls()).length;
  const refused = await world.run('provision-platform', { inputs: inputs('fixed', 'fx-13') });
  expect(refused.exitCode).not.toBe(0);
  expect(refused.stdout).toContain(
    'The load-balancer pool fixed is full: each of its 2 ALB(s) has reached the quota of target groups per Application Load Balancer (5',
  );
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
}, 600_000);

test('teardown of all 12 grown environments: records, rules and target groups gone; the pool ALBs remain', async () => {
  const runs = await inBatches(environments, (environment) => world.run('teardown-env', { inputs: { environment, cluster: 'grow' }, timeoutMs: 120_000 }));
  for (const run of runs) expect(run.exitCode).toBe(0);
  const pool = await readPool(world.elb, 'grow');
  expect(pool.members.map((member) => [member.name, member.targetGroups, member.rules])).toEqual([
    ['grow-1', 0, 0],
    ['grow-2', 0, 0],
    ['grow-3', 0, 0],
  ]);
  for (const environment of environments) {
    expect(await resolve(`${environment}-grow.preview.example.com`)).toBeUndefined();
    expect(await taggedResources(world, environment)).toEqual([]);
  }
  const balancers = (await world.elb.send(new DescribeLoadBalancersCommand({}))).LoadBalancers ?? [];
  expect(balancers.filter((balancer) => balancer.LoadBalancerName?.startsWith('grow-'))).toHaveLength(3);
}, 600_000);

test('a pool given as listener ARNs (ALBs a team made): 8 environments spread by free capacity, none over the quota, a full pool refused up front', async () => {
  const listeners = [await sharedListener(world, 'team-a', { https: true }), await sharedListener(world, 'team-b', { https: true })];
  const pool = listeners.map((listener) => listener.listenerArn).join('\n');
  const names = Array.from({ length: 8 }, (_, index) => `pr-${index + 101}`);
  for (const environment of names) {
    const run = await world.run('provision-platform', { inputs: { ...inputs('listed', environment), 'load-balancer-pool': pool }, timeoutMs: 120_000 });
    expect({ exitCode: run.exitCode, stdout: run.exitCode === 0 ? '' : run.stdout }).toEqual({ exitCode: 0, stdout: '' });
  }
  const rules = await Promise.all(listeners.map((listener) => world.elb.send(new DescribeRulesCommand({ ListenerArn: listener.listenerArn }))));
  // Most free capacity first: the two ALBs fill evenly.
  expect(rules.map((listed) => (listed.Rules ?? []).filter((rule) => !rule.IsDefault).length)).toEqual([4, 4]);

  await world.run('provision-platform', { inputs: { ...inputs('listed', 'pr-109'), 'load-balancer-pool': pool } });
  await world.run('provision-platform', { inputs: { ...inputs('listed', 'pr-110'), 'load-balancer-pool': pool } });
  const before = (await world.calls()).length;
  const full = await world.run('provision-platform', { inputs: { ...inputs('listed', 'pr-111'), 'load-balancer-pool': pool } });
  expect(full.exitCode).toBe(1);
  expect(full.stdout).toContain('target groups per Application Load Balancer (5');
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
  expect(await taggedResources(world, 'pr-111')).toEqual([]);
}, 300_000);

test('inputs: load-balancer-pool is not combined with listener-arn; grow-pool needs a pool name', async () => {
  const listener = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/x/0123456789abcdef/0123456789abcdef';
  const both = await world.run('provision-platform', { inputs: inputs('grow', 'pr-90', { 'listener-arn': listener }) });
  expect(both.exitCode).not.toBe(0);
  expect(both.stdout).toContain('Input "load-balancer-pool": cannot be combined with listener-arn.');
  const listed = await world.run('provision-platform', { inputs: inputs('grow', 'pr-90', { 'load-balancer-pool': listener, 'grow-pool': 'true' }) });
  expect(listed.exitCode).not.toBe(0);
  expect(listed.stdout).toContain('Input "grow-pool": needs load-balancer-pool to be a pool name');
});
