// ELB describe calls that page with Marker, read to the end: a listener can hold hundreds of rules and
// an account thousands of target groups, more than one page.
import {
  DescribeAccountLimitsCommand,
  DescribeLoadBalancersCommand,
  DescribeRulesCommand,
  DescribeTargetGroupsCommand,
  type ElasticLoadBalancingV2Client,
  type Limit,
  type LoadBalancer,
  type Rule,
  type TargetGroup,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsCall } from '../aws.ts';

async function allPages<T>(
  operation: string,
  resource: string,
  page: (marker: string | undefined) => Promise<{ items: T[] | undefined; next: string | undefined }>,
): Promise<T[]> {
  const items: T[] = [];
  let marker: string | undefined;
  do {
    const answer = await awsCall(operation, resource, () => page(marker));
    items.push(...(answer.items ?? []));
    marker = answer.next;
  } while (marker);
  return items;
}

export function allLoadBalancers(elb: ElasticLoadBalancingV2Client): Promise<LoadBalancer[]> {
  return allPages('DescribeLoadBalancers', 'load balancers', async (Marker) => {
    const answer = await elb.send(new DescribeLoadBalancersCommand({ Marker, PageSize: 400 }));
    return { items: answer.LoadBalancers, next: answer.NextMarker };
  });
}

export function allTargetGroups(elb: ElasticLoadBalancingV2Client): Promise<TargetGroup[]> {
  return allPages('DescribeTargetGroups', 'target groups', async (Marker) => {
    const answer = await elb.send(new DescribeTargetGroupsCommand({ Marker, PageSize: 400 }));
    return { items: answer.TargetGroups, next: answer.NextMarker };
  });
}

/** Every rule of the listener, its default rule included. */
export function listenerRules(elb: ElasticLoadBalancingV2Client, listenerArn: string): Promise<Rule[]> {
  return allPages('DescribeRules', listenerArn, async (Marker) => {
    const answer = await elb.send(new DescribeRulesCommand({ ListenerArn: listenerArn, Marker, PageSize: 400 }));
    return { items: answer.Rules, next: answer.NextMarker };
  });
}

export function accountLimits(elb: ElasticLoadBalancingV2Client): Promise<Limit[]> {
  return allPages('DescribeAccountLimits', 'load-balancer quotas', async (Marker) => {
    const answer = await elb.send(new DescribeAccountLimitsCommand({ Marker }));
    return { items: answer.Limits, next: answer.NextMarker };
  });
}
