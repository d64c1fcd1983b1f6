// A pool of shared ALBs (load-balancer-pool): an ALB holds at most 100 target groups (a hard quota),
// so many environments need several. Placement reads every ALB's load (describe calls only) and picks
// the one with the most free slots; a full pool fails before anything is created, or grows by one ALB.
import {
  CreateLoadBalancerCommand,
  DescribeListenersCommand,
  DescribeLoadBalancersCommand,
  type ElasticLoadBalancingV2Client,
  type Listener,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsCall } from '../aws.ts';
import { accountLimits, allLoadBalancers, listenerRules } from '../elb/describe.ts';
import { forwardedTargetGroups } from '../elb/rules.ts';
import { describeElbTags, toElbTags } from '../elb/tags.ts';
import { MANAGED_BY, TAG_MANAGED_BY } from '../environment.ts';
import { ActionError } from '../errors.ts';
import { present } from './present.ts';
import { ensureHttpsListener, TAG_PLATFORM } from './shared-alb.ts';
import type { ProvisionSpec } from './spec.ts';

export const TAG_POOL = 'ecs-deploy-actions:pool';

export interface Quotas {
  targetGroups: number;
  rules: number;
}

export interface PoolMember {
  loadBalancer: LoadBalancer;
  name: string;
  /** The listener environments' rules go on; undefined for an ALB a concurrent grower has not finished. */
  listenerArn: string | undefined;
  targetGroups: number;
  rules: number;
}

export interface Pool {
  /** The pool's name (tag value), or undefined for a list of listener ARNs. */
  name: string | undefined;
  quotas: Quotas;
  members: PoolMember[];
}

export function freeSlots(member: PoolMember, quotas: Quotas): number {
  return Math.max(0, Math.min(quotas.targetGroups - member.targetGroups, quotas.rules - member.rules));
}

async function quotas(elb: ElasticLoadBalancingV2Client): Promise<Quotas> {
  const limits = new Map((await accountLimits(elb)).map((limit) => [limit.Name ?? '', Number(limit.Max)]));
  return {
    targetGroups: limits.get('target-groups-per-application-load-balancer') ?? 100,
    rules: limits.get('rules-per-application-load-balancer') ?? 100,
  };
}

/** One ALB's load: distinct forwarded target groups and non-default rules over all its listeners. */
async function measure(elb: ElasticLoadBalancingV2Client, loadBalancer: LoadBalancer, wanted: string | undefined): Promise<PoolMember> {
  const arn = present(loadBalancer.LoadBalancerArn, 'LoadBalancerArn', 'DescribeLoadBalancers');
  const name = loadBalancer.LoadBalancerName ?? arn;
  const listeners: Listener[] =
    (await awsCall('DescribeListeners', name, () => elb.send(new DescribeListenersCommand({ LoadBalancerArn: arn })))).Listeners ?? [];
  const groups = new Set<string>();
  let rules = 0;
  for (const listener of listeners) {
    for (const group of forwardedTargetGroups(listener.DefaultActions)) groups.add(group);
    for (const rule of await listenerRules(elb, present(listener.ListenerArn, 'ListenerArn', 'DescribeListeners'))) {
      if (rule.IsDefault) continue;
      rules++;
      for (const group of forwardedTargetGroups(rule.Actions)) groups.add(group);
    }
  }
  const https = listeners.find((listener) => listener.Protocol === 'HTTPS');
  // HTTP only when the ALB serves plain HTTP: a redirect to HTTPS is a grower's ALB whose HTTPS listener is still to come.
  const plain = listeners.find((listener) => listener.Protocol === 'HTTP' && !listener.DefaultActions?.some((action) => action.Type === 'redirect'));
  const listenerArn = wanted ?? https?.ListenerArn ?? plain?.ListenerArn;
  return { loadBalancer, name, listenerArn, targetGroups: groups.size, rules };
}

/** The pool as it is now: its ALBs (by pool tag, or the given listeners'), each with its load. */
export async function readPool(elb: ElasticLoadBalancingV2Client, pool: string | string[]): Promise<Pool> {
  let balancers: LoadBalancer[];
  const listenerOf = new Map<string, string>();
  if (typeof pool === 'string') {
    const all = (await allLoadBalancers(elb)).map((balancer) => ({
      balancer,
      arn: present(balancer.LoadBalancerArn, 'LoadBalancerArn', 'DescribeLoadBalancers'),
    }));
    const tags = await describeElbTags(
      elb,
      all.map(({ arn }) => arn),
    );
    balancers = all.filter(({ arn }) => tags.get(arn)?.[TAG_POOL] === pool).map(({ balancer }) => balancer);
  } else {
    const listeners =
      (await awsCall('DescribeListeners', pool.join(', '), () => elb.send(new DescribeListenersCommand({ ListenerArns: pool })))).Listeners ?? [];
    for (const listener of listeners)
      listenerOf.set(
        present(listener.LoadBalancerArn, 'LoadBalancerArn', 'DescribeListeners'),
        present(listener.ListenerArn, 'ListenerArn', 'DescribeListeners'),
      );
    balancers =
      (await awsCall('DescribeLoadBalancers', 'the pool', () => elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [...listenerOf.keys()] }))))
        .LoadBalancers ?? [];
  }
  balancers.sort((a, b) => (a.LoadBalancerName ?? '').localeCompare(b.LoadBalancerName ?? '', 'en', { numeric: true }));
  const [limits, members] = await Promise.all([
    quotas(elb),
    Promise.all(balancers.map((balancer) => measure(elb, balancer, listenerOf.get(balancer.LoadBalancerArn ?? '')))),
  ]);
  return { name: typeof pool === 'string' ? pool : undefined, quotas: limits, members };
}

/** The member with the most free slots (first in name order on a tie); undefined when the pool is full. */
export function choose(pool: Pool): PoolMember | undefined {
  let best: PoolMember | undefined;
  for (const member of pool.members) {
    if (!member.listenerArn || freeSlots(member, pool.quotas) === 0) continue;
    if (!best || freeSlots(member, pool.quotas) > freeSlots(best, pool.quotas)) best = member;
  }
  return best;
}

export function fullPoolError(pool: Pool, label: string): ActionError {
  const { targetGroups, rules } = pool.quotas;
  const quota =
    pool.members.length > 0 && pool.members.every((member) => targetGroups - member.targetGroups <= rules - member.rules)
      ? `target groups per Application Load Balancer (${targetGroups}, a hard quota)`
      : `rules per Application Load Balancer (${rules})`;
  return new ActionError(
    pool.members.length === 0
      ? `The load-balancer pool ${label} has no load balancer; nothing was created.`
      : `The load-balancer pool ${label} is full: each of its ${pool.members.length} ALB(s) has reached the quota of ${quota}; nothing was created.`,
    pool.name
      ? `set grow-pool: true to add an ALB to the pool, tag another ALB ${TAG_POOL}=${pool.name}, ask AWS for more rules per ALB (target groups per ALB cannot be raised), or tear down environments that are no longer needed.`
      : 'add a listener of another ALB to load-balancer-pool, ask AWS for more rules per ALB (target groups per ALB cannot be raised), or tear down environments that are no longer needed.',
  );
}

/**
 * A new ALB for a full pool, named `<pool>-<n>` for the first free n: concurrent growers pick the same
 * name and CreateLoadBalancer with the same name and settings returns the same ALB, so they converge.
 * Subnets, security groups, scheme and certificate are the pool's own (the inputs only for an empty pool).
 */
export async function growPool(
  elb: ElasticLoadBalancingV2Client,
  pool: Pool & { name: string },
  spec: ProvisionSpec,
  record: (resource: string, name: string, change: 'created' | 'unchanged') => void,
): Promise<PoolMember> {
  const names = new Set(pool.members.map((member) => member.name));
  let n = 1;
  while (names.has(`${pool.name}-${n}`)) n++;
  // An ALB without listeners is another grower's, caught halfway: finish it rather than add one more.
  const name = pool.members.find((member) => !member.listenerArn)?.name ?? `${pool.name}-${n}`;
  const model = pool.members.find((member) => member.listenerArn);
  let certificateArn = spec.certificateArn;
  if (model) {
    const listeners = (
      await awsCall('DescribeListeners', model.name, () => elb.send(new DescribeListenersCommand({ LoadBalancerArn: model.loadBalancer.LoadBalancerArn })))
    ).Listeners;
    certificateArn = listeners?.find((listener) => listener.Protocol === 'HTTPS')?.Certificates?.[0]?.CertificateArn ?? certificateArn;
  }
  const subnets = model ? (model.loadBalancer.AvailabilityZones ?? []).map((zone) => zone.SubnetId ?? '') : spec.loadBalancerSubnets;
  const securityGroups = model ? model.loadBalancer.SecurityGroups : spec.loadBalancerSecurityGroups;
  if (!certificateArn || !subnets?.length) {
    throw new ActionError(
      `Cannot grow the load-balancer pool ${pool.name}: no certificate and subnets to copy from the pool.`,
      'give certificate-arn and load-balancer-subnets for its first ALB.',
    );
  }
  const created = await awsCall('CreateLoadBalancer', name, () =>
    elb.send(
      new CreateLoadBalancerCommand({
        Name: name,
        Type: 'application',
        Scheme: model?.loadBalancer.Scheme ?? 'internet-facing',
        Subnets: subnets,
        SecurityGroups: securityGroups,
        // Platform-level: no environment tag, so no teardown ever deletes it.
        Tags: toElbTags({ [TAG_MANAGED_BY]: MANAGED_BY, [TAG_PLATFORM]: spec.identity.cluster, [TAG_POOL]: pool.name }),
      }),
    ),
  );
  const loadBalancer = present(created.LoadBalancers?.[0], 'load balancer', 'CreateLoadBalancer');
  record('load balancer', `${name} (pool ${pool.name})`, 'created');
  const listenerArn = await ensureHttpsListener(
    elb,
    present(loadBalancer.LoadBalancerArn, 'LoadBalancerArn', 'CreateLoadBalancer'),
    name,
    certificateArn,
    record,
  );
  return { loadBalancer, name, listenerArn, targetGroups: 0, rules: 0 };
}
