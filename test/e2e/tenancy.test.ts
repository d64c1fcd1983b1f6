// One account, many teams: two clusters and two repositories share one preview listener, and every
// repository has a pr-2. An environment is (repository, cluster, name); nothing else is ever touched.
// The bundles run as a runner runs them, with GITHUB_REPOSITORY saying which repository a run is from.

import { DescribeServicesCommand } from '@aws-sdk/client-ecs';
import {
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupsCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { provisioned, provisionInputs } from '../helpers/provisioned.ts';
import { type CallRecord, sharedListener, startWorld, taggedResources, type World } from '../helpers/world.ts';

let world: World;
let route53: Route53Client;
let listenerArn: string;
let hostedZoneId: string;

beforeAll(async () => {
  world = await startWorld();
  ({ listenerArn } = await sharedListener(world, 'previews', { https: true }));
  route53 = new Route53Client({ endpoint: world.emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });
  const zone = await route53.send(new CreateHostedZoneCommand({ Name: 'example.com', CallerReference: 'tenancy-test' }));
  hostedZoneId = (zone.HostedZone?.Id ?? '').replace('/hostedzone/', '');
});
afterAll(async () => {
  route53.destroy();
  await world.stop();
});

const from = (repository: string) => ({ GITHUB_REPOSITORY: repository });

function provision(repository: string, cluster: string, environment: string, extra: Record<string, string> = {}) {
  return world.run('provision-platform', { inputs: provisionInputs({ cluster, listenerArn }, environment, extra), env: from(repository), timeoutMs: 60_000 });
}

/** The calls the action made that change something, from the call log since `before` entries. */
async function mutatingSince(before: number): Promise<string[]> {
  const calls: CallRecord[] = (await world.calls()).slice(before);
  return calls.filter((call) => call.action && call.mutating).map((call) => `${call.service}:${call.operation}`);
}

/** What another team would see of its environment: the service, its target group and its rule, with tags. */
async function seenBy(cluster: string, outputs: Record<string, string>): Promise<string> {
  const service = (await world.ecs.send(new DescribeServicesCommand({ cluster, services: [outputs['service-arn'] ?? ''], include: ['TAGS'] }))).services?.[0];
  const group = (await world.elb.send(new DescribeTargetGroupsCommand({ TargetGroupArns: [outputs['target-group-arn'] ?? ''] }))).TargetGroups;
  const rule = (await world.elb.send(new DescribeRulesCommand({ RuleArns: [outputs['listener-rule-arn'] ?? ''] }))).Rules;
  const tags = (await world.elb.send(new DescribeTagsCommand({ ResourceArns: [outputs['target-group-arn'] ?? '', outputs['listener-rule-arn'] ?? ''] })))
    .TagDescriptions;
  return JSON.stringify({ service, group, rule, tags });
}

describe('two clusters and two repositories on one listener', () => {
  let teamD: Record<string, string>;

  test('pr-2 in team-c and in team-d: both succeed, two rules; tearing down team-c/pr-2 leaves team-d/pr-2 byte-identical', async () => {
    const c = await provision('acme/blog', 'team-c', 'pr-2', { 'host-pattern': '{env}.c.example.com' });
    expect({ exitCode: c.exitCode, stdout: c.exitCode ? c.stdout : '' }).toEqual({ exitCode: 0, stdout: '' });
    const d = await provision('acme/shop', 'team-d', 'pr-2', { 'host-pattern': '{env}.d.example.com' });
    expect({ exitCode: d.exitCode, stdout: d.exitCode ? d.stdout : '' }).toEqual({ exitCode: 0, stdout: '' });
    teamD = d.outputs;

    expect(d.outputs['listener-rule-arn']).not.toBe(c.outputs['listener-rule-arn']);
    expect(d.outputs['target-group-arn']).not.toBe(c.outputs['target-group-arn']);
    const rules = (await world.elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules?.filter((rule) => !rule.IsDefault) ?? [];
    expect(rules.map((rule) => rule.Conditions?.[0]?.HostHeaderConfig?.Values?.[0]).sort()).toEqual(['pr-2.c.example.com', 'pr-2.d.example.com']);

    const before = await seenBy('team-d', d.outputs);
    const teardown = await world.run('teardown-env', {
      inputs: { environment: 'pr-2', cluster: 'team-c', 'listener-arn': listenerArn },
      env: from('acme/blog'),
    });
    expect(teardown.exitCode).toBe(0);
    expect(Number(teardown.outputs.deleted)).toBeGreaterThanOrEqual(5);
    expect(await seenBy('team-d', d.outputs)).toBe(before);
    const left = (await world.elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }))).Rules?.filter((rule) => !rule.IsDefault) ?? [];
    expect(left.map((rule) => rule.RuleArn)).toEqual([d.outputs['listener-rule-arn']]);
  }, 120_000);

  test("from acme/blog, acme/shop's team-d/pr-2 is refused by provision, rollout, scale and teardown, naming acme/shop, with 0 mutating calls", async () => {
    const before = (await world.calls()).length;
    const snapshot = await seenBy('team-d', teamD);
    const runs = {
      provision: await provision('acme/blog', 'team-d', 'pr-2', { 'host-pattern': '{env}.d.example.com' }),
      rollout: await world.run('rollout-with-circuit-breaker', { inputs: { environment: 'pr-2', cluster: 'team-d', image: 'web:v2' }, env: from('acme/blog') }),
      rollback: await world.run('rollback-to-revision', { inputs: { environment: 'pr-2', cluster: 'team-d' }, env: from('acme/blog') }),
      'rollout by service name': await world.run('rollout-with-circuit-breaker', {
        inputs: { service: 'pr-2', cluster: 'team-d', image: 'web:v2' },
        env: from('acme/blog'),
      }),
      sleep: await world.run('scale-schedule', { inputs: { mode: 'sleep', environments: 'pr-2', cluster: 'team-d' }, env: from('acme/blog') }),
      teardown: await world.run('teardown-env', { inputs: { environment: 'pr-2', cluster: 'team-d', 'listener-arn': listenerArn }, env: from('acme/blog') }),
    };
    for (const [action, run] of Object.entries(runs)) {
      expect({ action, exitCode: run.exitCode }).toEqual({ action, exitCode: 1 });
      expect(run.stdout).toMatch(/belongs to repository acme\/shop/);
      expect(run.stdout).toMatch(/pick another environment name .* or another cluster/);
    }
    expect(await mutatingSince(before)).toEqual([]);
    expect(await seenBy('team-d', teamD)).toBe(snapshot);
  }, 120_000);

  test("a glob reaches only the repository's own environments; a platform repository says repositories: '*'", async () => {
    const own = await world.run('scale-schedule', {
      inputs: { mode: 'sleep', environments: 'pr-*', cluster: 'team-d', 'dry-run': 'true' },
      env: from('acme/blog'),
    });
    expect(own.exitCode).toBe(0);
    expect(own.stdout).toMatch(/other repositories' environments, left alone .*pr-2 \(acme\/shop\)/);
    expect(own.outputs.changed).toBe('0');
    const platform = await world.run('scale-schedule', {
      inputs: { mode: 'sleep', environments: 'pr-*', cluster: 'team-d', repositories: '*', 'dry-run': 'true' },
      env: from('acme/platform'),
    });
    expect(platform.exitCode).toBe(0);
    expect(platform.stdout).toMatch(/1 environments \(1 services\) selected/);
  }, 60_000);

  test("a sweep takes only the repository's own stale environments, unless a platform repository says repositories: '*'", async () => {
    const expired = { 'ecs-deploy-actions:expires-at': '2020-01-01T00:00:00.000Z' };
    await provisioned(world, { cluster: 'team-d', listenerArn, environment: 'pr-6', repository: 'acme/shop', tags: expired, host: 'pr-6.d.example.com' });
    const before = (await world.calls()).length;
    const blog = await world.run('teardown-env', { inputs: { cluster: 'team-d', mode: 'sweep' }, env: from('acme/blog') });
    expect(blog.exitCode).toBe(0);
    expect(blog.outputs.swept).toBe('');
    expect(await mutatingSince(before)).toEqual([]);
    const platform = await world.run('teardown-env', { inputs: { cluster: 'team-d', mode: 'sweep', repositories: '*' }, env: from('acme/platform') });
    expect(platform.exitCode).toBe(0);
    expect(platform.outputs.swept).toBe('pr-6');
    expect(platform.stdout).toMatch(/pr-6 \(acme\/shop\): sweep: ttl passed/);
    expect(platform.stdout).toMatch(/pr-2 \(acme\/shop\): keep/);
    expect(await taggedResources(world, 'pr-6')).toEqual([]);
  }, 120_000);
});

describe('hosts and names another owner already serves', () => {
  test('a foreign rule for www.example.com: provisioning www with {env}.example.com is refused with 0 mutating calls', async () => {
    const vpc = { Protocol: 'HTTP' as const, Port: 80, VpcId: 'vpc-0e1a2b3c4d5e6f701', TargetType: 'ip' as const };
    const production = (await world.elb.send(new CreateTargetGroupCommand({ Name: 'www-production', ...vpc }))).TargetGroups?.[0];
    const foreign = await world.elb.send(
      new CreateRuleCommand({
        ListenerArn: listenerArn,
        Priority: 49_990,
        Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: ['WWW.example.com'] } }],
        Actions: [{ Type: 'forward', TargetGroupArn: production?.TargetGroupArn }],
      }),
    );
    const before = (await world.calls()).length;
    const run = await provision('acme/shop', 'team-d', 'www', { 'host-pattern': '{env}.example.com' });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(`Listener rule ${foreign.Rules?.[0]?.RuleArn} (priority 49990) already answers host www.example.com`);
    expect(await mutatingSince(before)).toEqual([]);
  }, 60_000);

  test('a foreign alias record pr-3.example.com: provisioning pr-3 with hosted-zone-id is refused, and the record is unchanged', async () => {
    // Another team's site, on its own load balancer.
    const { loadBalancerArn } = await sharedListener(world, 'another-team');
    const balancer = (await world.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [loadBalancerArn] }))).LoadBalancers?.[0];
    const alias = { DNSName: balancer?.DNSName, HostedZoneId: balancer?.CanonicalHostedZoneId, EvaluateTargetHealth: false };
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: hostedZoneId,
        ChangeBatch: { Changes: [{ Action: 'CREATE', ResourceRecordSet: { Name: 'pr-3.example.com', Type: 'A', AliasTarget: alias } }] },
      }),
    );
    const records = async () =>
      JSON.stringify(
        (await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: hostedZoneId, StartRecordName: 'pr-3.example.com' }))).ResourceRecordSets,
      );
    const recordsBefore = await records();
    const before = (await world.calls()).length;
    const run = await provision('acme/shop', 'team-d', 'pr-3', { 'host-pattern': '{env}.example.com', 'hosted-zone-id': hostedZoneId });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/pr-3\.example\.com already has a A record in hosted zone \w+ that ecs-deploy-actions did not create/);
    expect(await mutatingSince(before)).toEqual([]);
    expect(await records()).toBe(recordsBefore);
  }, 60_000);

  test("an environment's own record: created with its ownership TXT, kept on a re-run, deleted with it by teardown", async () => {
    const first = await provision('acme/shop', 'team-d', 'pr-4', { 'host-pattern': '{env}.example.com', 'hosted-zone-id': hostedZoneId });
    expect(first.exitCode).toBe(0);
    const atName = async () =>
      ((await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: hostedZoneId, StartRecordName: 'pr-4.example.com' }))).ResourceRecordSets ?? [])
        .filter((set) => set.Name === 'pr-4.example.com.')
        .map((set) => `${set.Type} ${set.AliasTarget ? 'alias' : set.ResourceRecords?.[0]?.Value}`);
    expect(await atName()).toEqual(['A alias', 'TXT "heritage=ecs-deploy-actions,repository=acme/shop,cluster=team-d,environment=pr-4"']);
    const again = await provision('acme/shop', 'team-d', 'pr-4', { 'host-pattern': '{env}.example.com', 'hosted-zone-id': hostedZoneId });
    expect(again.summary).toMatch(/\| DNS record \| pr-4\.example\.com ALIAS .* \| unchanged \|/);
    const teardown = await world.run('teardown-env', { inputs: { environment: 'pr-4', cluster: 'team-d' }, env: from('acme/shop') });
    expect(teardown.exitCode).toBe(0);
    expect(await atName()).toEqual([]);
  }, 120_000);

  test('an alias someone pointed at another load balancer is theirs now: teardown leaves it and removes only its ownership record', async () => {
    const provisionedRun = await provision('acme/shop', 'team-d', 'pr-8', { 'host-pattern': '{env}.example.com', 'hosted-zone-id': hostedZoneId });
    expect(provisionedRun.exitCode).toBe(0);
    const { loadBalancerArn } = await sharedListener(world, 'moved-to');
    const balancer = (await world.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [loadBalancerArn] }))).LoadBalancers?.[0];
    const moved = { DNSName: balancer?.DNSName, HostedZoneId: balancer?.CanonicalHostedZoneId, EvaluateTargetHealth: false };
    await route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: hostedZoneId,
        ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: 'pr-8.example.com', Type: 'A', AliasTarget: moved } }] },
      }),
    );
    const teardown = await world.run('teardown-env', { inputs: { environment: 'pr-8', cluster: 'team-d' }, env: from('acme/shop') });
    expect(teardown.exitCode).toBe(0);
    const left = (
      await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: hostedZoneId, StartRecordName: 'pr-8.example.com' }))
    ).ResourceRecordSets?.filter((set) => set.Name === 'pr-8.example.com.');
    expect(left?.map((set) => [set.Type, set.AliasTarget?.DNSName])).toEqual([['A', `${balancer?.DNSName}.`]]);
  }, 120_000);

  test('a host pattern without {env} is refused, naming the input', async () => {
    const before = (await world.calls()).length;
    const run = await provision('acme/shop', 'team-d', 'pr-5', { 'host-pattern': 'preview.example.com' });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(/Input "host-pattern"[\s\S]*containing \{env\}/);
    expect((await world.calls()).slice(before)).toEqual([]);
  });
});
