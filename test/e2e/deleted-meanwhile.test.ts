// Another run (a teardown of another environment on the same listener, or a second teardown of the same
// one) deletes a resource between a listing and the next call about it: that resource is simply gone.

import { ECRClient } from '@aws-sdk/client-ecr';
import { CreateClusterCommand } from '@aws-sdk/client-ecs';
import { CreateTargetGroupCommand, DeleteRuleCommand, DeleteTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { describeElbTags } from '../../src/elb/tags.ts';
import { Progress } from '../../src/report.ts';
import { deleteInventory } from '../../src/teardown/delete.ts';
import { discover } from '../../src/teardown/discover.ts';
import { scaledClock } from '../../src/watch.ts';
import { provisioned } from '../helpers/provisioned.ts';
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

test('tags of resources listed together, one deleted since: the others are read, the deleted one has none', async () => {
  const vpc = { Protocol: 'HTTP' as const, Port: 80, VpcId: 'vpc-0e1a2b3c4d5e6f701', TargetType: 'ip' as const };
  const kept = (await world.elb.send(new CreateTargetGroupCommand({ Name: 'kept', ...vpc, Tags: [{ Key: 'team', Value: 'web' }] }))).TargetGroups?.[0];
  const deleted = (await world.elb.send(new CreateTargetGroupCommand({ Name: 'deleted', ...vpc }))).TargetGroups?.[0];
  await world.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: deleted?.TargetGroupArn }));
  const tags = await describeElbTags(world.elb, [kept?.TargetGroupArn ?? '', deleted?.TargetGroupArn ?? '']);
  expect([...tags]).toEqual([[kept?.TargetGroupArn, { team: 'web' }]]);
});

test('a listener rule deleted between discovery and deletion counts as deleted; the teardown finishes', async () => {
  await provisioned(world, { cluster, listenerArn, environment: 'pr-5' });
  const inventory = await discover(world, { identity: { repository: 'acme/web', cluster, environment: 'pr-5' } });
  expect(inventory.rules).toHaveLength(1);
  await world.elb.send(new DeleteRuleCommand({ RuleArn: inventory.rules[0]?.id }));
  const config = { endpoint: world.emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } };
  const context = { ...world, ecr: new ECRClient(config), route53: new Route53Client(config), clock: scaledClock(world.timeScale), progress: new Progress() };
  const deleted = await deleteInventory(context, inventory, {
    identity: { repository: 'acme/web', cluster, environment: 'pr-5' },
    timeoutSeconds: 600,
    keepLogs: false,
  });
  expect(deleted.map((found) => found.kind)).toContain('listener rule');
  expect(await taggedResources(world, 'pr-5')).toEqual([]);
  context.ecr.destroy();
  context.route53.destroy();
}, 60_000);
