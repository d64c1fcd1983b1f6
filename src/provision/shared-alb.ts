// The platform's shared load balancer, when no listener-arn is given: found by its platform tag, or
// created once (internet-facing, HTTPS with the certificate, HTTP redirected to HTTPS). Never deleted
// by an environment's teardown: it carries no environment tag.
import {
  CreateListenerCommand,
  CreateLoadBalancerCommand,
  DescribeListenersCommand,
  type ElasticLoadBalancingV2Client,
  type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { awsCall, sdkErrorName, wrapAwsError } from '../aws.ts';
import { allLoadBalancers } from '../elb/describe.ts';
import { describeElbTags, toElbTags } from '../elb/tags.ts';
import { fitName, MANAGED_BY, TAG_MANAGED_BY } from '../environment.ts';
import { ActionError } from '../errors.ts';
import { present } from './present.ts';
import type { ProvisionSpec } from './spec.ts';

export const TAG_PLATFORM = 'ecs-deploy-actions:platform';

export function sharedLoadBalancerName(cluster: string): string {
  return fitName(`${cluster}-shared`.replace(/[^A-Za-z0-9-]/g, '-'), 32);
}

export async function findSharedLoadBalancer(elb: ElasticLoadBalancingV2Client, cluster: string): Promise<LoadBalancer | undefined> {
  const balancers = (await allLoadBalancers(elb)).map((balancer) => ({
    balancer,
    arn: present(balancer.LoadBalancerArn, 'LoadBalancerArn', 'DescribeLoadBalancers'),
  }));
  const tags = await describeElbTags(
    elb,
    balancers.map(({ arn }) => arn),
  );
  return balancers.find(({ arn }) => {
    const found = tags.get(arn) ?? {};
    return found[TAG_PLATFORM] === cluster && found[TAG_MANAGED_BY] === MANAGED_BY;
  })?.balancer;
}

async function createListener(elb: ElasticLoadBalancingV2Client, input: ConstructorParameters<typeof CreateListenerCommand>[0]): Promise<void> {
  try {
    await elb.send(new CreateListenerCommand(input));
  } catch (error) {
    // Another environment's run created it a moment ago.
    if (sdkErrorName(error) !== 'DuplicateListenerException' && sdkErrorName(error) !== 'DuplicateListener')
      throw wrapAwsError('CreateListener', `port ${input.Port}`, error);
  }
}

/** The HTTPS listener of the cluster's shared ALB (`found` when observed), creating the ALB and its listeners when missing. */
export async function ensureSharedListener(
  elb: ElasticLoadBalancingV2Client,
  spec: ProvisionSpec,
  found: string | undefined,
  record: (resource: string, name: string, change: 'created' | 'unchanged') => void,
): Promise<string> {
  const name = sharedLoadBalancerName(spec.identity.cluster);
  let balancerArn = found;
  if (balancerArn) record('load balancer', name, 'unchanged');
  else {
    // Same name and settings: AWS returns the existing one, so concurrent first runs converge.
    const created = await awsCall('CreateLoadBalancer', name, () =>
      elb.send(
        new CreateLoadBalancerCommand({
          Name: name,
          Type: 'application',
          Scheme: 'internet-facing',
          Subnets: spec.loadBalancerSubnets,
          SecurityGroups: spec.loadBalancerSecurityGroups,
          Tags: toElbTags({ [TAG_MANAGED_BY]: MANAGED_BY, [TAG_PLATFORM]: spec.identity.cluster }),
        }),
      ),
    );
    balancerArn = created.LoadBalancers?.[0]?.LoadBalancerArn;
    if (!balancerArn) throw new ActionError(`CreateLoadBalancer returned no LoadBalancerArn for ${name}.`, 'retry the step; if it persists, report it.');
    record('load balancer', name, 'created');
  }
  return ensureHttpsListener(elb, balancerArn, name, spec.certificateArn, record);
}

/** The ALB's HTTPS listener on 443 (HTTP on 80 redirected to it), creating either when missing. */
export async function ensureHttpsListener(
  elb: ElasticLoadBalancingV2Client,
  loadBalancerArn: string,
  name: string,
  certificateArn: string | undefined,
  record: (resource: string, name: string, change: 'created' | 'unchanged') => void,
): Promise<string> {
  const listeners =
    (await awsCall('DescribeListeners', name, () => elb.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn })))).Listeners ?? [];
  if (!listeners.some((listener) => listener.Port === 80)) {
    await createListener(elb, {
      LoadBalancerArn: loadBalancerArn,
      Port: 80,
      Protocol: 'HTTP',
      DefaultActions: [{ Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', StatusCode: 'HTTP_301' } }],
    });
    record('listener', `${name}:80 (redirect to HTTPS)`, 'created');
  }
  let https = listeners.find((listener) => listener.Port === 443);
  if (!https) {
    await createListener(elb, {
      LoadBalancerArn: loadBalancerArn,
      Port: 443,
      Protocol: 'HTTPS',
      Certificates: [{ CertificateArn: certificateArn }],
      DefaultActions: [{ Type: 'fixed-response', FixedResponseConfig: { StatusCode: '404', ContentType: 'text/plain', MessageBody: 'No environment here.' } }],
    });
    record('listener', `${name}:443`, 'created');
    const again = await awsCall('DescribeListeners', name, () => elb.send(new DescribeListenersCommand({ LoadBalancerArn: loadBalancerArn })));
    https = again.Listeners?.find((listener) => listener.Port === 443);
  }
  if (!https?.ListenerArn) throw new ActionError(`The shared load balancer ${name} has no HTTPS listener.`, 'give listener-arn, or check the certificate-arn.');
  return https.ListenerArn;
}
