// teardown-env, run as a runner runs it, against the emulator. The environments are built with the
// SDK exactly as the naming contract says provision-platform builds them (names and ownership tags).

import { CreateLogGroupCommand } from '@aws-sdk/client-cloudwatch-logs';
import { CreateClusterCommand, DeleteServiceCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { environmentNames } from '../../src/environment.ts';
import { settled } from '../helpers/environments.ts';
import { provisioned as provisionedEnvironment } from '../helpers/provisioned.ts';
import { sharedListener, startWorld, taggedResources, type World } from '../helpers/world.ts';

let world: World;
let listenerArn: string;
const cluster = 'previews';

beforeAll(async () => {
  world = await startWorld();
  await world.ecs.send(new CreateClusterCommand({ clusterName: cluster }));
  ({ listenerArn } = await sharedListener(world, 'shared'));
});
afterAll(() => world.stop());

const provisioned = (environment: string, upTo: 'target-group' | 'service' = 'service') =>
  provisionedEnvironment(world, { cluster, listenerArn, environment, upTo });

const tagged = (environment: string) => taggedResources(world, environment);

test('teardown deletes everything pr-7 owns, in order, and leaves pr-70 and a foreign look-alike alone; twice is safe', async () => {
  await provisioned('pr-7');
  await provisioned('pr-70');
  // Somebody else's log group named like pr-8's: never ours to delete.
  await world.logs.send(new CreateLogGroupCommand({ logGroupName: environmentNames(cluster, 'pr-8').logGroup }));
  expect((await tagged('pr-7')).length).toBeGreaterThan(0);
  // pr-70's tasks come and go with its scheduler; its resources must stay exactly as they were.
  const durable = (ids: string[]) => ids.filter((id) => !id.includes(':task/'));
  const pr70Before = durable(await tagged('pr-70'));

  const first = await world.run('teardown-env', { inputs: { cluster, environment: 'pr-7' } });
  expect(first.exitCode).toBe(0);
  expect(Number(first.outputs.deleted)).toBe(5);
  expect(first.outputs.left).toBe('0');
  const order = [
    'Stopping and deleting the service',
    'Deleting listener rules',
    'Deleting target groups',
    'Deregistering and deleting task definitions',
    'Deleting the log group',
  ];
  const positions = order.map((phase) => first.stdout.indexOf(phase));
  expect(positions.every((at) => at >= 0)).toBe(true);
  expect([...positions].sort((a, b) => a - b)).toEqual(positions);
  expect(await tagged('pr-7')).toEqual([]);
  expect(durable(await tagged('pr-70'))).toEqual(pr70Before);

  const before = (await world.calls()).length;
  const second = await world.run('teardown-env', { inputs: { cluster, environment: 'pr-7' } });
  expect(second.exitCode).toBe(0);
  expect(second.outputs.deleted).toBe('0');
  expect(second.stdout).toContain('Nothing owned by pr-7 is left');
  expect(second.summary).toContain('Nothing owned by `pr-7` is left in cluster `previews`: nothing to delete.');
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);

  const foreign = await world.run('teardown-env', { inputs: { cluster, environment: 'pr-8' } });
  expect(foreign.exitCode).toBe(0);
  expect(foreign.outputs).toMatchObject({ deleted: '0', left: '1' });
  expect(foreign.stdout).toContain('left untouched (not owned by pr-8): log group /ecs/previews/pr-8');
  const groups = (await world.control<{ services: { logs: unknown } }>('/_emulator/state')).services.logs;
  expect(JSON.stringify(groups)).toContain('/ecs/previews/pr-8');
});

test('dry run lists the plan and changes nothing', async () => {
  await provisioned('pr-21');
  const before = (await world.calls()).length;
  const run = await world.run('teardown-env', { inputs: { cluster, environment: 'pr-21', 'dry-run': 'true' } });
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toContain('would delete: service pr-21');
  expect(run.stdout).toMatch(/would delete: target group previews-pr-21-[0-9a-f]{6}/);
  expect(run.stdout).toContain('would delete: log group /ecs/previews/pr-21');
  expect((await world.calls()).slice(before).filter((call) => call.mutating)).toEqual([]);
  expect((await tagged('pr-21')).length).toBeGreaterThan(0);
});

test('after a provision interrupted between the target group and the service, teardown leaves nothing', async () => {
  await provisioned('pr-33', 'target-group');
  const run = await world.run('teardown-env', { inputs: { cluster, environment: 'pr-33' } });
  expect(run.exitCode).toBe(0);
  expect(run.outputs.deleted).toBe('2');
  expect(await tagged('pr-33')).toEqual([]);
});

test('keep-logs keeps the log group and deletes the rest', async () => {
  await provisioned('pr-50');
  const run = await world.run('teardown-env', { inputs: { cluster, environment: 'pr-50', 'keep-logs': 'true' } });
  expect(run.exitCode).toBe(0);
  expect(run.outputs.deleted).toBe('4');
  expect(await tagged('pr-50')).toEqual(['/ecs/previews/pr-50']);
});

test('re-run of a teardown stopped while the service drained: waits for it, then deletes the rest', async () => {
  await provisioned('pr-60');
  await settled(world, cluster, ['pr-60']);
  // What the stopped run had done: scaled to 0 and deleted the service, which now drains.
  await world.ecs.send(new UpdateServiceCommand({ cluster, service: 'pr-60', desiredCount: 0 }));
  await world.ecs.send(new DeleteServiceCommand({ cluster, service: 'pr-60', force: true }));
  const run = await world.run('teardown-env', { inputs: { cluster, environment: 'pr-60' } });
  expect(run.exitCode).toBe(0);
  expect(run.stdout).toContain('services INACTIVE');
  expect(await tagged('pr-60')).toEqual([]);
});
