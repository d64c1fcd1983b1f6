// ELBv2 over Query/XML with the real client: listeners, rules, target groups, target health, tags.
import {
  AddTagsCommand,
  CreateListenerCommand,
  CreateRuleCommand,
  CreateTargetGroupCommand,
  DeleteRuleCommand,
  DeregisterTargetsCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTagsCommand,
  DescribeTargetGroupAttributesCommand,
  DescribeTargetGroupsCommand,
  DescribeTargetHealthCommand,
  ModifyRuleCommand,
  RegisterTargetsCommand,
  RemoveTagsCommand,
  SetRulePrioritiesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { advanceUntil, type Harness, harness, type Platform, platform, VPC } from './helpers.ts';

let h: Harness;
let p: Platform;
beforeAll(async () => {
  h = await harness();
  p = await platform(h);
});
afterAll(async () => {
  await h.stop();
});

test('load balancer provisions, then is active with a DNS name', async () => {
  let lb = (await h.elb.send(new DescribeLoadBalancersCommand({ Names: ['previews'] }))).LoadBalancers?.[0];
  expect(lb?.State?.Code).toBe('provisioning');
  expect(lb?.DNSName).toMatch(/^previews-\d{10}\.us-east-1\.elb\.amazonaws\.com$/);
  expect(lb?.AvailabilityZones?.map((z) => z.ZoneName)).toEqual(['us-east-1a', 'us-east-1b']);
  await advanceUntil(
    h,
    async () => {
      lb = (await h.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [p.loadBalancerArn] }))).LoadBalancers?.[0];
      return lb?.State?.Code === 'active';
    },
    { step: 30 },
  );
});

test('HTTPS listener with redirect, weighted forward rules, priorities', async () => {
  const blue = (await h.elb.send(new CreateTargetGroupCommand({ Name: 'blue', Protocol: 'HTTP', Port: 80, VpcId: VPC, TargetType: 'ip' }))).TargetGroups?.[0]
    ?.TargetGroupArn;
  const green = (await h.elb.send(new CreateTargetGroupCommand({ Name: 'green', Protocol: 'HTTP', Port: 80, VpcId: VPC, TargetType: 'ip' }))).TargetGroups?.[0]
    ?.TargetGroupArn;
  const https = await h.elb.send(
    new CreateListenerCommand({
      LoadBalancerArn: p.loadBalancerArn,
      Protocol: 'HTTPS',
      Port: 443,
      Certificates: [{ CertificateArn: 'arn:aws:acm:us-east-1:123456789012:certificate/abc' }],
      DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Host: 'www.example.com', StatusCode: 'HTTP_301' } }],
    }),
  );
  const listenerArn = https.Listeners?.[0]?.ListenerArn as string;
  expect(https.Listeners?.[0]?.DefaultActions?.[0]?.RedirectConfig).toMatchObject({ Host: 'www.example.com', Port: '#{port}', StatusCode: 'HTTP_301' });
  const rule = await h.elb.send(
    new CreateRuleCommand({
      ListenerArn: listenerArn,
      Priority: 5,
      Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/api/*'] } }],
      Actions: [
        {
          Type: 'forward',
          ForwardConfig: {
            TargetGroups: [
              { TargetGroupArn: blue, Weight: 90 },
              { TargetGroupArn: green, Weight: 10 },
            ],
          },
        },
      ],
    }),
  );
  const ruleArn = rule.Rules?.[0]?.RuleArn as string;
  expect(rule.Rules?.[0]?.Actions?.[0]?.ForwardConfig?.TargetGroups?.map((t) => t.Weight)).toEqual([90, 10]);
  await h.elb.send(new ModifyRuleCommand({ RuleArn: ruleArn, Conditions: [{ Field: 'host-header', Values: ['api.example.com'] }] }));
  await h.elb.send(new SetRulePrioritiesCommand({ RulePriorities: [{ RuleArn: ruleArn, Priority: 7 }] }));
  const rules = await h.elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn }));
  expect(rules.Rules?.map((r) => [r.Priority, r.IsDefault])).toEqual([
    ['7', false],
    ['default', true],
  ]);
  expect(rules.Rules?.[0]?.Conditions?.[0]?.HostHeaderConfig?.Values).toEqual(['api.example.com']);
  await expect(h.elb.send(new DeleteRuleCommand({ RuleArn: rules.Rules?.[1]?.RuleArn }))).rejects.toMatchObject({ name: 'OperationNotPermittedException' });
  const listeners = await h.elb.send(new DescribeListenersCommand({ LoadBalancerArn: p.loadBalancerArn }));
  expect(listeners.Listeners?.map((l) => l.Port).sort()).toEqual([443, 80]);
  const groups = await h.elb.send(new DescribeTargetGroupsCommand({ LoadBalancerArn: p.loadBalancerArn }));
  expect(groups.TargetGroups?.map((g) => g.TargetGroupName).sort()).toEqual(['blue', 'green', 'pr-1-web']);
});

test('target health: initial -> healthy after interval x threshold; draining for the deregistration delay', async () => {
  const target = { Id: '172.31.5.5', Port: 8080 };
  await h.elb.send(new RegisterTargetsCommand({ TargetGroupArn: p.targetGroupArn, Targets: [target] }));
  const state = async (): Promise<string | undefined> =>
    (await h.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: p.targetGroupArn, Targets: [target] }))).TargetHealthDescriptions?.[0]?.TargetHealth
      ?.State;
  expect(await state()).toBe('initial');
  // Health check 10 s x healthy threshold 3.
  await h.advance(29);
  expect(await state()).toBe('initial');
  await h.advance(1);
  expect(await state()).toBe('healthy');
  await h.elb.send(new DeregisterTargetsCommand({ TargetGroupArn: p.targetGroupArn, Targets: [target] }));
  expect(await state()).toBe('draining');
  const attrs = await h.elb.send(new DescribeTargetGroupAttributesCommand({ TargetGroupArn: p.targetGroupArn }));
  expect(attrs.Attributes?.find((a) => a.Key === 'deregistration_delay.timeout_seconds')?.Value).toBe('30');
  await h.advance(30);
  const gone = await h.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: p.targetGroupArn, Targets: [target] }));
  expect(gone.TargetHealthDescriptions?.[0]?.TargetHealth).toMatchObject({ State: 'unused', Reason: 'Target.NotRegistered' });
});

test('tags on target groups and load balancers', async () => {
  await h.elb.send(
    new AddTagsCommand({ ResourceArns: [p.targetGroupArn, p.loadBalancerArn], Tags: [{ Key: 'ecs-deploy-actions:environment', Value: 'pr-1' }] }),
  );
  await h.elb.send(new RemoveTagsCommand({ ResourceArns: [p.loadBalancerArn], TagKeys: ['ecs-deploy-actions:environment'] }));
  const tags = await h.elb.send(new DescribeTagsCommand({ ResourceArns: [p.targetGroupArn, p.loadBalancerArn] }));
  expect(tags.TagDescriptions?.map((d) => d.Tags)).toEqual([[{ Key: 'ecs-deploy-actions:environment', Value: 'pr-1' }], []]);
});
