// Which rules of a shared listener are an environment's: its tags, and forwarding only to its own target groups.
import { describe, expect, test } from '@jest/globals';
import { forwardedTargetGroups, hostConditionMatches, isEnvironmentRule, type RuleOnListener } from '../../src/elb/rules.ts';
import { ownershipTags } from '../../src/environment.ts';

const identity = { repository: 'acme/shop', cluster: 'team-d', environment: 'pr-2' };
const ours = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/team-d-pr-2-abc123/1';
const alternate = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/team-d-pr-2-alt-abc123/2';
const theirs = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/www-production/3';

function rule(targets: string[], tags = ownershipTags(identity, undefined)): RuleOnListener {
  const actions =
    targets.length === 1
      ? [{ Type: 'forward' as const, TargetGroupArn: targets[0] }]
      : [{ Type: 'forward' as const, ForwardConfig: { TargetGroups: targets.map((TargetGroupArn) => ({ TargetGroupArn, Weight: 50 })) } }];
  return { rule: { RuleArn: 'arn:rule', Priority: '7', Actions: actions }, listenerArn: 'arn:listener', tags };
}

describe('an environment rule', () => {
  const owned = new Set([ours, alternate]);
  test('is tagged for the environment and forwards only to its target groups, whatever the weights', () => {
    expect(isEnvironmentRule(rule([ours]), identity, owned)).toBe(true);
    expect(isEnvironmentRule(rule([ours, alternate]), identity, owned)).toBe(true);
  });
  test('a copy of our tags on a rule that forwards to someone else is not ours', () => {
    expect(isEnvironmentRule(rule([theirs]), identity, owned)).toBe(false);
    expect(isEnvironmentRule(rule([ours, theirs]), identity, owned)).toBe(false);
  });
  test("another cluster's or repository's pr-2 is not ours, even forwarding to our groups", () => {
    expect(isEnvironmentRule(rule([ours], ownershipTags({ ...identity, cluster: 'team-c' }, undefined)), identity, owned)).toBe(false);
    expect(isEnvironmentRule(rule([ours], ownershipTags({ ...identity, repository: 'acme/blog' }, undefined)), identity, owned)).toBe(false);
  });
  test('forwarded groups are read from both action shapes, once each', () => {
    expect(forwardedTargetGroups(rule([ours, alternate]).rule.Actions)).toEqual([ours, alternate].sort());
    expect(forwardedTargetGroups([{ Type: 'forward', TargetGroupArn: ours, ForwardConfig: { TargetGroups: [{ TargetGroupArn: ours }] } }])).toEqual([ours]);
  });
});

test('host conditions match as ALB does: case-insensitive, with * and ?', () => {
  expect(hostConditionMatches('WWW.example.com', 'www.example.com')).toBe(true);
  expect(hostConditionMatches('*.example.com', 'pr-2.example.com')).toBe(true);
  expect(hostConditionMatches('pr-?.example.com', 'pr-2.example.com')).toBe(true);
  expect(hostConditionMatches('*.example.com', 'example.com')).toBe(false);
  expect(hostConditionMatches('www.example.com', 'www.example.com.evil')).toBe(false);
});
