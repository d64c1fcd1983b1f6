import { CreateServiceCommand, DeleteServiceCommand, ListTasksCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DeleteRuleCommand, DeleteTargetGroupCommand, DescribeRulesCommand, DescribeTargetHealthCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { advanceUntil, describeService, type Harness, harness, platform, SECURITY_GROUP, SUBNETS } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.stop();
});

test('scale to 0 and back to 2, then delete with force leaves the target group empty and deletable', async () => {
  const p = await platform(h);
  const td = await p.taskDefinitionArn('app:v1');
  await h.ecs.send(
    new CreateServiceCommand({
      cluster: p.clusterName,
      serviceName: 'web',
      taskDefinition: td,
      desiredCount: 2,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } },
      loadBalancers: [{ targetGroupArn: p.targetGroupArn, containerName: 'web', containerPort: 8080 }],
    }),
  );
  // A steady-state event newer than the last change.
  let since = 0;
  const steady = async (): Promise<boolean> => {
    const e = (await describeService(h, p.clusterName, 'web')).events?.[0];
    return e?.message === '(service web) has reached a steady state.' && (e.createdAt?.getTime() ?? 0) > since;
  };
  await advanceUntil(h, steady);
  since = await h.now();

  await h.ecs.send(new UpdateServiceCommand({ cluster: p.clusterName, service: 'web', desiredCount: 0 }));
  await advanceUntil(h, steady);
  let s = await describeService(h, p.clusterName, 'web');
  expect([s.desiredCount, s.runningCount, s.pendingCount]).toEqual([0, 0, 0]);
  expect((await h.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: p.targetGroupArn }))).TargetHealthDescriptions).toEqual([]);

  since = await h.now();
  await h.ecs.send(new UpdateServiceCommand({ cluster: p.clusterName, service: 'web', desiredCount: 2 }));
  await advanceUntil(h, steady);
  s = await describeService(h, p.clusterName, 'web');
  expect([s.desiredCount, s.runningCount]).toEqual([2, 2]);
  // Scaling is not a new deployment.
  expect(s.deployments).toHaveLength(1);

  await expect(h.ecs.send(new DeleteServiceCommand({ cluster: p.clusterName, service: 'web' }))).rejects.toMatchObject({
    name: 'InvalidParameterException',
    message: 'The service cannot be stopped while it is scaled above 0.',
  });
  const deleted = await h.ecs.send(new DeleteServiceCommand({ cluster: p.clusterName, service: 'web', force: true }));
  expect(deleted.service?.status).toBe('DRAINING');
  // While the service drains its tasks the target group stays in use.
  const rules = await h.elb.send(new DescribeRulesCommand({ ListenerArn: p.listenerArn }));
  await h.elb.send(new DeleteRuleCommand({ RuleArn: rules.Rules?.[0]?.RuleArn as string }));
  await expect(h.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: p.targetGroupArn }))).rejects.toMatchObject({ name: 'ResourceInUseException' });

  await advanceUntil(h, async () => (await describeService(h, p.clusterName, 'web')).status === 'INACTIVE');
  expect((await h.ecs.send(new ListTasksCommand({ cluster: p.clusterName }))).taskArns).toEqual([]);
  expect((await h.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: p.targetGroupArn }))).TargetHealthDescriptions).toEqual([]);
  await h.elb.send(new DeleteTargetGroupCommand({ TargetGroupArn: p.targetGroupArn }));
});
