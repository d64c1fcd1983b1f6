// Every load balancer of the account in this region, page by page.
import { DescribeLoadBalancersCommand, type ElasticLoadBalancingV2Client, type LoadBalancer } from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsCall } from '../aws.ts';

export async function allLoadBalancers(elb: ElasticLoadBalancingV2Client): Promise<LoadBalancer[]> {
  const balancers: LoadBalancer[] = [];
  let marker: string | undefined;
  do {
    const page = await awsCall('DescribeLoadBalancers', 'load balancers', () => elb.send(new DescribeLoadBalancersCommand({ Marker: marker, PageSize: 400 })));
    balancers.push(...(page.LoadBalancers ?? []));
    marker = page.NextMarker;
  } while (marker);
  return balancers;
}
