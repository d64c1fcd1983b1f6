// Listener rules as ownership sees them: where a rule forwards, which hosts it answers, and which rules of a
// shared listener belong to an environment (its tags, and forwarding only to its own target groups).
import type { Action, ElasticLoadBalancingV2Client, Rule } from '@aws-sdk/client-elastic-load-balancing-v2';
import { type Identity, isOwnedBy, matchesPattern, type Tags } from '../environment.ts';
import { listenerRules } from './describe.ts';
import { describeElbTags } from './tags.ts';

/** The target groups actions forward to, whatever their weights (ECS moves the weights of a blue/green rule). */
export function forwardedTargetGroups(actions: Action[] | undefined): string[] {
  const groups = (actions ?? []).flatMap((action) => [
    ...(action.TargetGroupArn ? [action.TargetGroupArn] : []),
    ...(action.ForwardConfig?.TargetGroups ?? []).map((group) => group.TargetGroupArn ?? ''),
  ]);
  return [...new Set(groups)].sort();
}

export function hostValues(rule: Rule): string[] {
  return (
    rule.Conditions?.filter((condition) => condition.Field === 'host-header').flatMap(
      (condition) => condition.HostHeaderConfig?.Values ?? condition.Values ?? [],
    ) ?? []
  );
}

/** ALB host conditions are case-insensitive; `*` and `?` are wildcards, as in environment globs. */
export function hostConditionMatches(value: string, host: string): boolean {
  return matchesPattern(host.toLowerCase(), value.toLowerCase());
}

export interface RuleOnListener {
  rule: Rule;
  listenerArn: string;
  tags: Tags;
}

/** Every rule but the default of these listeners, with its tags. */
export async function rulesOf(elb: ElasticLoadBalancingV2Client, listenerArns: Iterable<string>): Promise<RuleOnListener[]> {
  const rules: { rule: Rule; listenerArn: string }[] = [];
  for (const listenerArn of new Set(listenerArns)) {
    for (const rule of await listenerRules(elb, listenerArn)) if (!rule.IsDefault) rules.push({ rule, listenerArn });
  }
  const tags = await describeElbTags(
    elb,
    rules.map(({ rule }) => rule.RuleArn ?? ''),
  );
  return rules.map((found) => ({ ...found, tags: tags.get(found.rule.RuleArn ?? '') ?? {} }));
}

/**
 * A rule is the environment's only while it is tagged for it and forwards to nothing but the environment's
 * target groups: a tag copied onto someone else's rule does not make it ours to change or delete.
 */
export function isEnvironmentRule(found: RuleOnListener, identity: Identity, ownedTargetGroups: ReadonlySet<string>): boolean {
  const forwarded = forwardedTargetGroups(found.rule.Actions);
  return isOwnedBy(found.tags, identity) && forwarded.length > 0 && forwarded.every((arn) => ownedTargetGroups.has(arn));
}
