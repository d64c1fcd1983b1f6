// Another run (a teardown of another environment on the same listener, or a second teardown of the same
// one) deletes a resource between a listing and the next call about it: that resource is simply gone.

import { CreateTargetGroupCommand, DeleteTargetGroupCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { describeElbTags } from '../../src/elb/tags.ts';
import { startWorld, type World } from '../helpers/world.ts';

let world: World;

beforeAll(async () => {
  world = await startWorld();
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
