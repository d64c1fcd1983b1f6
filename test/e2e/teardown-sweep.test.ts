// teardown-env in sweep mode against the emulator and its GitHub module: environments go when the pull
// request recorded on them is closed or their ttl has passed, and nothing else goes.
import { CreateClusterCommand, CreateServiceCommand, RegisterTaskDefinitionCommand } from '@aws-sdk/client-ecs';
import { CreateRuleCommand, DeleteRuleCommand, DeleteTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { ownershipTags } from '../../src/environment.ts';
import { provisioned } from '../helpers/provisioned.ts';
import { SECURITY_GROUP, SUBNETS, sharedListener, startWorld, taggedResources, type World } from '../helpers/world.ts';

const TOKEN = 'ghs_sweepTokenValue123';
const PR = 'ecs-deploy-actions:pull-request';
const TTL = 'ecs-deploy-actions:expires-at';
const PAST = '2020-01-01T00:00:00.000Z';
const FUTURE = '2099-01-01T00:00:00.000Z';

let world: World;
let listenerArn: string;
beforeAll(async () => {
  world = await startWorld();
  ({ listenerArn } = await sharedListener(world, 'shared'));
});
afterAll(() => world.stop());

const pull = (number: number, state: 'open' | 'closed', merged = false) =>
  world.control('/_emulator/github/pulls', { owner: 'acme', repo: 'web', number, state, merged });
const mutatingSince = async (from: number) => (await world.calls()).slice(from).filter((call) => call.mutating);
/** Resources that outlive their tasks: what a sweep may or may not delete. */
const durable = async (environment: string) => (await taggedResources(world, environment)).filter((id) => !id.includes(':task/'));

describe('a cluster of previews in every state', () => {
  const cluster = 'previews';
  const kept = ['pr-2', 'pr-4', 'pr-6', 'pr-7', 'staging'];
  const stale = ['pr-1', 'pr-3', 'pr-5'];
  const before: Record<string, string[]> = {};

  beforeAll(async () => {
    await world.ecs.send(new CreateClusterCommand({ clusterName: cluster }));
    await pull(1, 'closed');
    await pull(2, 'open');
    await pull(3, 'open');
    await pull(5, 'closed', true);
    await pull(8, 'closed');
    const environments: [string, Record<string, string>][] = [
      ['pr-1', { [PR]: 'acme/web/pull/1' }],
      ['pr-2', { [PR]: 'acme/web/pull/2' }],
      ['pr-3', { [PR]: 'acme/web/pull/3', [TTL]: PAST }],
      ['pr-4', { [TTL]: FUTURE }],
      ['pr-5', { [PR]: 'acme/web/pull/5' }],
      // Recorded, but GitHub does not know it: kept, never guessed.
      ['pr-6', { [PR]: 'acme/web/pull/6' }],
      ['pr-7', {}],
      ['staging', { [PR]: 'acme/web/pull/8' }],
    ];
    for (const [environment, tags] of environments) await provisioned(world, { cluster, listenerArn, environment, tags });
    // Somebody else's service whose name says "pr-9": not an environment of ours.
    await world.ecs.send(
      new CreateServiceCommand({
        cluster,
        serviceName: 'pr-9',
        taskDefinition: `${cluster}_pr-7`,
        desiredCount: 0,
        launchType: 'FARGATE',
        networkConfiguration: { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } },
      }),
    );
    for (const environment of [...kept, ...stale]) before[environment] = await durable(environment);
  }, 60_000);

  test('without a token, a dry run would sweep only by ttl, and changes nothing', async () => {
    const from = (await world.calls()).length;
    const run = await world.run('teardown-env', { inputs: { cluster, mode: 'sweep', 'dry-run': 'true' } });
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ swept: 'pr-3', deleted: '0' });
    expect(run.stdout).toContain('pr-1: keep: pull request acme/web#1 not read: no github-token given');
    expect(run.stdout).toContain(`pr-3: would sweep: ttl passed at ${PAST}`);
    expect(await mutatingSince(from)).toEqual([]);
  });

  test('a dry run with a token lists closed pull requests and passed ttls, with reasons, and changes nothing', async () => {
    const from = (await world.calls()).length;
    const run = await world.run('teardown-env', { inputs: { cluster, mode: 'sweep', 'dry-run': 'true', 'github-token': TOKEN } });
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ swept: 'pr-1,pr-3,pr-5', deleted: '0' });
    for (const line of [
      'pr-1: would sweep: pull request acme/web#1 closed',
      'pr-2: keep: pull request acme/web#2 open',
      'pr-4: keep: no pull request recorded; ttl until 2099-01-01T00:00:00.000Z',
      'pr-5: would sweep: pull request acme/web#5 merged',
      'pr-6: keep: pull request acme/web#6 could not be read (GET /repos/acme/web/pulls/6: 404 Not Found)',
      'pr-7: keep: no pull request recorded; no ttl',
      'staging: keep: protected (protected-environments): never swept',
      'would delete: service pr-1',
    ]) {
      expect(run.stdout).toContain(line);
    }
    expect(run.stdout).not.toContain('pr-9');
    expect(run.summary).toContain('| pr-1 | acme/web#1 | — | would sweep | pull request acme/web#1 closed | 5 |');
    expect(await mutatingSince(from)).toEqual([]);
    const github = (await world.calls()).slice(from).filter((call) => call.service === 'github');
    // pr-3's ttl decided it before GitHub was asked; staging is protected; pr-4 and pr-7 record no pull request.
    expect(github.map((call) => call.parameters.path).sort()).toEqual([
      '/repos/acme/web/pulls/1',
      '/repos/acme/web/pulls/2',
      '/repos/acme/web/pulls/5',
      '/repos/acme/web/pulls/6',
    ]);
  });

  test('the sweep tears down exactly the stale environments, with teardown’s own code path; the token never shows', async () => {
    const run = await world.run('teardown-env', { inputs: { cluster, mode: 'sweep', 'github-token': TOKEN } });
    expect(run.exitCode).toBe(0);
    expect(run.outputs).toMatchObject({ swept: 'pr-1,pr-3,pr-5', deleted: '15', left: '0' });
    expect(run.stdout).toContain('Deleting target groups');
    for (const environment of stale) expect(await taggedResources(world, environment)).toEqual([]);
    for (const environment of kept) expect(await durable(environment)).toEqual(before[environment]);
    const shown = `${run.stdout.replace(`::add-mask::${TOKEN}`, '')}${run.stderr}${run.summary}`;
    expect(run.stdout).toContain(`::add-mask::${TOKEN}`);
    expect(shown).not.toContain(TOKEN);

    const again = await world.run('teardown-env', { inputs: { cluster, mode: 'sweep', 'github-token': TOKEN } });
    expect(again.exitCode).toBe(0);
    expect(again.outputs).toMatchObject({ swept: '', deleted: '0' });
  });
});

test('an environment whose teardown fails is listed at the end; the others are swept', async () => {
  const cluster = 'failing';
  await world.ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  await pull(21, 'closed');
  await pull(22, 'closed');
  await provisioned(world, { cluster, listenerArn, environment: 'pr-21', tags: { [PR]: 'acme/web/pull/21' } });
  const { targetGroupArn } = await provisioned(world, { cluster, listenerArn, environment: 'pr-22', tags: { [PR]: 'acme/web/pull/22' } });
  // Another team's rule forwards to pr-22's target group, so ELB refuses to delete it.
  const legacy = await world.elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 40_000,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/legacy/*'] } }],
      Actions: [{ Type: 'forward', TargetGroupArn: targetGroupArn }],
    }),
  );
  const run = await world.run('teardown-env', { inputs: { cluster, mode: 'sweep', 'github-token': TOKEN } });
  expect(run.exitCode).toBe(1);
  expect(run.stdout).toContain('1 stale environment(s) could not be torn down');
  expect(run.stdout).toMatch(/pr-22: DeleteTargetGroup for failing-pr-22-[0-9a-f]{6} failed: ResourceInUse/);
  expect(run.outputs.swept).toBe('pr-21');
  expect(await taggedResources(world, 'pr-21')).toEqual([]);
  expect(run.summary).toContain('❌ teardown failed');

  // The cause fixed, the sweep run again finishes pr-22, whose service the first run had deleted.
  await world.elb.send(new DeleteRuleCommand({ RuleArn: legacy.Rules?.[0]?.RuleArn }));
  const again = await world.run('teardown-env', { inputs: { cluster, mode: 'sweep', 'github-token': TOKEN } });
  expect(again.exitCode).toBe(0);
  expect(again.outputs.swept).toBe('pr-22');
  expect(await taggedResources(world, 'pr-22')).toEqual([]);
});

test('sweep mode refuses an environment input, before any AWS call', async () => {
  const from = (await world.calls()).length;
  const run = await world.run('teardown-env', { inputs: { cluster: 'previews', mode: 'sweep', environment: 'pr-1' } });
  expect(run.exitCode).toBe(1);
  expect(run.stdout).toContain('Input "environment": is not used in sweep mode');
  expect((await world.calls()).length).toBe(from);
});

test('a sweep stopped after the target groups went: the next sweep finds the environment by its log group and finishes it', async () => {
  const cluster = 'halfway';
  await world.ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  const { targetGroupArn } = await provisioned(world, { cluster, listenerArn, environment: 'pr-31', upTo: 'target-group', tags: { [TTL]: PAST } });
  await provisioned(world, { cluster, listenerArn, environment: 'pr-32', tags: { [TTL]: FUTURE } });
  // What the stopped sweep had not reached yet: the task definition and the log group.
  await world.ecs.send(
    new RegisterTaskDefinitionCommand({
      family: 'halfway_pr-31',
      containerDefinitions: [{ name: 'app', image: 'web:v1' }],
      tags: Object.entries({
        ...ownershipTags({ repository: 'acme/web', cluster, environment: 'pr-31' }, 'https://github.com/acme/web/actions/runs/1'),
        [TTL]: PAST,
      }).map(([key, value]) => ({ key, value })),
    }),
  );
  await world.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: targetGroupArn }));
  expect(await durable('pr-31')).toEqual(['/ecs/halfway/pr-31', expect.stringMatching(/:task-definition\/halfway_pr-31:1$/)]);
  const kept = await durable('pr-32');

  const run = await world.run('teardown-env', { inputs: { cluster, mode: 'sweep' } });
  expect(run.exitCode).toBe(0);
  expect(run.outputs.swept).toBe('pr-31');
  expect(await durable('pr-31')).toEqual([]);
  expect(await durable('pr-32')).toEqual(kept);
});
