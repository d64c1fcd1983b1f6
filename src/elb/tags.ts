// Tags on load balancers, listeners, rules and target groups, read 20 ARNs per DescribeTags as ELB allows.
import { DescribeTagsCommand, type ElasticLoadBalancingV2Client, type Tag } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsCall } from '../aws.ts';
import type { Tags } from '../environment.ts';

export async function describeElbTags(elb: ElasticLoadBalancingV2Client, arns: string[]): Promise<Map<string, Tags>> {
  const tags = new Map<string, Tags>();
  for (let i = 0; i < arns.length; i += 20) {
    const batch = arns.slice(i, i + 20);
    const response = await awsCall('DescribeTags', `${batch.length} load-balancer resources`, () => elb.send(new DescribeTagsCommand({ ResourceArns: batch })));
    for (const description of response.TagDescriptions ?? []) {
      tags.set(description.ResourceArn ?? '', Object.fromEntries((description.Tags ?? []).map((tag) => [tag.Key ?? '', tag.Value ?? ''])));
    }
  }
  return tags;
}

export function toElbTags(tags: Tags): Tag[] {
  return Object.entries(tags).map(([Key, Value]) => ({ Key, Value }));
}
