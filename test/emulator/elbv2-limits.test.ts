// ELB quotas with the real client: each one refused at the call AWS refuses it, DescribeAccountLimits, and
// the control endpoint that lowers them.
import {
  type Action,
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteLoadBalancerCommand,
  DeleteRuleCommand,
  DescribeAccountLimitsCommand,
  DescribeRulesCommand,
  ElasticLoadBalancingV2Client,
  type Limit,
  ModifyListenerCommand,
  ModifyRuleCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, beforeEach, expect, test } from '@jest/globals';
import { type Harness, harness, SUBNETS, VPC } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness({ maxAttempts: 1 });
});
afterAll(async () => {
  await h.stop();
});
beforeEach(async () => {
  await h.control('/_emulator/reset', {});
});

const fixed404: Action[] = [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404' } }];
const forward = (TargetGroupArn: string): Action[] => [{ Type: 'forward', TargetGroupArn }];
const host = (name: string) => [{ Field: 'host-header', HostHeaderConfig: { Values: [name] } }];

async function alb(name: string): Promise<string> {
  const out = await h.elb.send(new CreateLoadBalancerCommand({ Name: name, Subnets: SUBNETS }));
  return out.LoadBalancers?.[0]?.LoadBalancerArn as string;
}
async function listener(lbArn: string, port: number, defaultActions = fixed404): Promise<string> {
  const out = await h.elb.send(new CreateListenerCommand({ LoadBalancerArn: lbArn, Port: port, Protocol: 'HTTP', DefaultActions: defaultActions }));
  return out.Listeners?.[0]?.ListenerArn as string;
}
async function targetGroup(name: string): Promise<string> {
  const out = await h.elb.send(new CreateTargetGroupCommand({ Name: name, Protocol: 'HTTP', Port: 80, VpcId: VPC, TargetType: 'ip' }));
  return out.TargetGroups?.[0]?.TargetGroupArn as string;
}
async function rule(listenerArn: string, priority: number, tgArn: string): Promise<string> {
  const out = await h.elb.send(
    new CreateRuleCommand({ ListenerArn: listenerArn, Priority: priority, Conditions: host(`pr-${priority}.example.com`), Actions: forward(tgArn) }),
  );
  return out.Rules?.[0]?.RuleArn as string;
}
async function accountLimits(pageSize?: number): Promise<Limit[]> {
  const limits: Limit[] = [];
  let marker: string | undefined;
  do {
    const page = await h.elb.send(new DescribeAccountLimitsCommand({ Marker: marker, PageSize: pageSize }));
    limits.push(...(page.Limits ?? []));
    marker = page.NextMarker;
  } while (marker);
  return limits;
}
const maxOf = (limits: Limit[], name: string): string | undefined => limits.find((l) => l.Name === name)?.Max;

test("DescribeAccountLimits reports AWS's names and defaults, page by page", async () => {
  const all = await accountLimits();
  expect(all).toHaveLength(23);
  expect(all[0]).toEqual({ Name: 'target-groups', Max: '3000' });
  expect(Object.fromEntries(all.map((l) => [l.Name, l.Max]))).toMatchObject({
    'application-load-balancers': '50',
    'listeners-per-application-load-balancer': '50',
    'rules-per-application-load-balancer': '100',
    'target-groups-per-application-load-balancer': '100',
    'targets-per-application-load-balancer': '1000',
    'target-groups-per-action-on-application-load-balancer': '5',
  });
  const first = await h.elb.send(new DescribeAccountLimitsCommand({ PageSize: 10 }));
  expect(first.Limits).toHaveLength(10);
  expect(first.NextMarker).toBeTruthy();
  expect(await accountLimits(10)).toEqual(all);
  await expect(h.elb.send(new DescribeAccountLimitsCommand({ PageSize: 401 }))).rejects.toMatchObject({ name: 'ValidationError' });
});

test('the control endpoint overrides enforced limits, DescribeAccountLimits follows, reset restores them', async () => {
  const set = (await h.control('/_emulator/limits', { elbv2: { 'target-groups-per-application-load-balancer': 5, 'application-load-balancers': 3 } })) as {
    elbv2: Record<string, number>;
  };
  expect(set.elbv2).toMatchObject({ 'target-groups-per-application-load-balancer': 5, 'application-load-balancers': 3, 'target-groups': 3000 });
  expect(await h.control('/_emulator/limits')).toEqual(set);
  let limits = await accountLimits();
  expect(maxOf(limits, 'target-groups-per-application-load-balancer')).toBe('5');
  expect(maxOf(limits, 'application-load-balancers')).toBe('3');

  await h.control('/_emulator/limits', { elbv2: { 'application-load-balancers': null } });
  expect(maxOf(await accountLimits(), 'application-load-balancers')).toBe('50');

  const post = (body: unknown) => fetch(`${h.emu.endpoint}/_emulator/limits`, { method: 'POST', body: JSON.stringify(body) });
  expect((await post({ elbv2: { 'targets-per-application-load-balancer': 5 } })).status).toBe(400);
  expect((await post({ elbv2: { 'rules-per-application-load-balancer': -1 } })).status).toBe(400);
  expect((await post({ ecs: {} })).status).toBe(400);

  await h.control('/_emulator/reset', {});
  limits = await accountLimits();
  expect(maxOf(limits, 'target-groups-per-application-load-balancer')).toBe('100');
});

test('target groups per ALB: distinct groups across listeners and rules, refused where an action would attach one more', async () => {
  await h.control('/_emulator/limits', { elbv2: { 'target-groups-per-application-load-balancer': 2 } });
  const lb = await alb('pool-1');
  const l80 = await listener(lb, 80);
  const [tg1, tg2, tg3, tg4] = [await targetGroup('tg-1'), await targetGroup('tg-2'), await targetGroup('tg-3'), await targetGroup('tg-4')];
  const r1 = await rule(l80, 1, tg1);
  const r2 = await rule(l80, 2, tg2);
  // The same group again counts once.
  await rule(l80, 3, tg1);
  const tooMany = { name: 'TooManyUniqueTargetGroupsPerLoadBalancerException', $metadata: { httpStatusCode: 400 } };
  await expect(rule(l80, 4, tg3)).rejects.toMatchObject({
    ...tooMany,
    message: "You have reached the maximum number of unique target groups that you can associate with a load balancer of type 'application': [2]",
  });
  // Swapping one group for another stays at two.
  await h.elb.send(new ModifyRuleCommand({ RuleArn: r2, Actions: forward(tg3) }));
  await expect(
    h.elb.send(
      new ModifyRuleCommand({
        RuleArn: r1,
        Actions: [{ Type: 'forward', ForwardConfig: { TargetGroups: [{ TargetGroupArn: tg1 }, { TargetGroupArn: tg2 }] } }],
      }),
    ),
  ).rejects.toMatchObject(tooMany);
  // A refused change leaves the rule as it was.
  expect((await h.elb.send(new DescribeRulesCommand({ RuleArns: [r1] }))).Rules?.[0]?.Actions?.[0]?.TargetGroupArn).toBe(tg1);
  await expect(listener(lb, 8080, forward(tg2))).rejects.toMatchObject(tooMany);
  await expect(h.elb.send(new ModifyListenerCommand({ ListenerArn: l80, DefaultActions: forward(tg2) }))).rejects.toMatchObject(tooMany);
  const defaultRule = (await h.elb.send(new DescribeRulesCommand({ ListenerArn: l80 }))).Rules?.find((r) => r.IsDefault)?.RuleArn;
  await expect(h.elb.send(new ModifyRuleCommand({ RuleArn: defaultRule, Actions: forward(tg2) }))).rejects.toMatchObject(tooMany);
  await h.elb.send(new ModifyListenerCommand({ ListenerArn: l80, DefaultActions: forward(tg3) }));
  // Counted per load balancer: another ALB has room of its own.
  await listener(await alb('pool-2'), 80, forward(tg4));
});

test('rules per ALB count every listener, not default rules; refused at CreateRule', async () => {
  await h.control('/_emulator/limits', { elbv2: { 'rules-per-application-load-balancer': 2 } });
  const lb = await alb('pool-1');
  const tg = await targetGroup('tg-1');
  const l80 = await listener(lb, 80);
  const l8080 = await listener(lb, 8080);
  await rule(l80, 1, tg);
  const second = await rule(l8080, 2, tg);
  await expect(rule(l80, 3, tg)).rejects.toMatchObject({
    name: 'TooManyRulesException',
    message: `The maximum number of rules on load balancer ${lb} has been reached`,
    $metadata: { httpStatusCode: 400 },
  });
  await h.elb.send(new DeleteRuleCommand({ RuleArn: second }));
  await rule(l80, 3, tg);
  // Another load balancer has its own count.
  await rule(await listener(await alb('pool-2'), 80), 1, tg);
});

test('listeners per ALB: refused at CreateListener', async () => {
  await h.control('/_emulator/limits', { elbv2: { 'listeners-per-application-load-balancer': 1 } });
  const lb = await alb('pool-1');
  await listener(lb, 80);
  await expect(listener(lb, 8080)).rejects.toMatchObject({ name: 'TooManyListenersException', $metadata: { httpStatusCode: 400 } });
});

test('ALBs per region: refused at CreateLoadBalancer, an idempotent repeat still answers', async () => {
  await h.control('/_emulator/limits', { elbv2: { 'application-load-balancers': 2 } });
  const first = await alb('pool-1');
  await alb('pool-2');
  await expect(alb('pool-3')).rejects.toMatchObject({
    name: 'TooManyLoadBalancersException',
    message: 'The maximum number of load balancers has been reached',
    $metadata: { httpStatusCode: 400 },
  });
  expect(await alb('pool-1')).toBe(first);
  await h.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: first }));
  await alb('pool-3');
});

test('target groups per region: refused at CreateTargetGroup', async () => {
  await h.control('/_emulator/limits', { elbv2: { 'target-groups': 1 } });
  const tg = await targetGroup('tg-1');
  await expect(targetGroup('tg-2')).rejects.toMatchObject({ name: 'TooManyTargetGroupsException', $metadata: { httpStatusCode: 400 } });
  expect(await targetGroup('tg-1')).toBe(tg);
});

test("an ALB's canonical hosted zone is its region's", async () => {
  const euWest1 = new ElasticLoadBalancingV2Client({ endpoint: h.emu.endpoint, region: 'eu-west-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } });
  const lb = (await euWest1.send(new CreateLoadBalancerCommand({ Name: 'eu', Subnets: SUBNETS }))).LoadBalancers?.[0];
  euWest1.destroy();
  expect(lb).toMatchObject({ CanonicalHostedZoneId: 'Z32O12XQLNTSW2', DNSName: expect.stringMatching(/^eu-\d{10}\.eu-west-1\.elb\.amazonaws\.com$/) });
  const us = (await h.elb.send(new CreateLoadBalancerCommand({ Name: 'us', Subnets: SUBNETS }))).LoadBalancers?.[0];
  expect(us?.CanonicalHostedZoneId).toBe('Z35SXDOTRQ7X7K');
});
