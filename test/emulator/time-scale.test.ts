// At --time-scale 100 a deployment of about three emulated minutes finishes in under 3 s of wall time.
import { CreateServiceCommand } from '@aws-sdk/client-ecs';
import { CreateTargetGroupCommand, DescribeRulesCommand, ModifyRuleCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { describeService, type Harness, harness, platform, SECURITY_GROUP, SUBNETS, VPC } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness({ timeScale: 100 });
});
afterAll(async () => {
  await h.stop();
});

test('time-scale 100 runs a ~3 minute deployment in under 3 s', async () => {
  const p = await platform(h);
  // ELB's default health check: 30 s interval x 5 healthy threshold = 150 s before a target is healthy.
  const tg = await h.elb.send(new CreateTargetGroupCommand({ Name: 'default-checks', Protocol: 'HTTP', Port: 8080, VpcId: VPC, TargetType: 'ip' }));
  const tgArn = tg.TargetGroups?.[0]?.TargetGroupArn as string;
  const rules = await h.elb.send(new DescribeRulesCommand({ ListenerArn: p.listenerArn }));
  await h.elb.send(new ModifyRuleCommand({ RuleArn: rules.Rules?.[0]?.RuleArn, Actions: [{ Type: 'forward', TargetGroupArn: tgArn }] }));
  const td = await p.taskDefinitionArn('app:v1');

  const wallStart = Date.now();
  const emulatedStart = await h.now();
  await h.ecs.send(
    new CreateServiceCommand({
      cluster: p.clusterName,
      serviceName: 'web',
      taskDefinition: td,
      desiredCount: 2,
      launchType: 'FARGATE',
      networkConfiguration: { awsvpcConfiguration: { subnets: SUBNETS, securityGroups: [SECURITY_GROUP] } },
      loadBalancers: [{ targetGroupArn: tgArn, containerName: 'web', containerPort: 8080 }],
    }),
  );
  for (;;) {
    const s = await describeService(h, p.clusterName, 'web');
    if (s.deployments?.[0]?.rolloutState === 'COMPLETED') break;
    if (Date.now() - wallStart > 5000) throw new Error('deployment did not complete within 5 s wall');
    await new Promise((r) => setTimeout(r, 50));
  }
  const wall = Date.now() - wallStart;
  const emulated = ((await h.now()) - emulatedStart) / 1000;
  expect(emulated).toBeGreaterThanOrEqual(150 + 30);
  expect(emulated).toBeLessThan(240);
  expect(wall).toBeLessThan(3000);
});
