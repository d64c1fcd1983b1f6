// Tags on load balancers, listeners, rules and target groups, read 20 ARNs per DescribeTags as ELB allows.
import { DescribeTagsCommand, type ElasticLoadBalancingV2Client, type Tag, type TagDescription } from '@aws-sdk/client-elastic-load-balancing-v2';
import { sdkErrorName, wrapAwsError } from '../aws.ts';
import type { Tags } from '../environment.ts';

// DescribeTags fails as a whole when one of its resources is gone.
const gone = new Set(['LoadBalancerNotFoundException', 'ListenerNotFoundException', 'RuleNotFoundException', 'TargetGroupNotFoundException']);

/**
 * Resources listed a moment ago may be deleted by now (another environment's teardown on the same
 * listener): a batch that names one is read again an ARN at a time, and a deleted one has no tags.
 */
async function describeBatch(elb: ElasticLoadBalancingV2Client, batch: string[]): Promise<TagDescription[]> {
  try {
    return (await elb.send(new DescribeTagsCommand({ ResourceArns: batch }))).TagDescriptions ?? [];
  } catch (error) {
    if (!gone.has(sdkErrorName(error) ?? '')) throw wrapAwsError('DescribeTags', `${batch.length} load-balancer resources`, error);
    if (batch.length === 1) return [];
    const found: TagDescription[] = [];
    for (const arn of batch) found.push(...(await describeBatch(elb, [arn])));
    return found;
  }
}

/** Tags by ARN; an ARN deleted since it was listed is left out. */
export async function describeElbTags(elb: ElasticLoadBalancingV2Client, arns: string[]): Promise<Map<string, Tags>> {
  const tags = new Map<string, Tags>();
  for (let i = 0; i < arns.length; i += 20) {
    for (const description of await describeBatch(elb, arns.slice(i, i + 20))) {
      tags.set(description.ResourceArn ?? '', Object.fromEntries((description.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])));
    }
  }
  return tags;
}

export function toElbTags(tags: Tags): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
