// An environment's Route 53 alias record (hosted-zone-id): its host pointing at the ALB that routes it.
// The zone and host are kept in a tag on the environment's target group, so teardown deletes the
// record without being told the host pattern.
import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, type ResourceRecordSet, type Route53Client } from '@aws-sdk/client-route-53';
import { awsCall } from '../aws.ts';

export const TAG_DNS_RECORD = 'ecs-deploy-actions:dns-record';

export function dnsRecordTag(hostedZoneId: string, host: string): string {
  return `${hostedZoneId}/${host}`;
}

export function parseDnsRecordTag(value: string): { hostedZoneId: string; host: string } | undefined {
  const [hostedZoneId, host] = value.split('/');
  return hostedZoneId && host ? { hostedZoneId, host } : undefined;
}

const bare = (name: string | undefined) => (name ?? '').toLowerCase().replace(/\.$/, '');

async function findRecord(route53: Route53Client, hostedZoneId: string, host: string): Promise<ResourceRecordSet | undefined> {
  const page = await awsCall('ListResourceRecordSets', host, () =>
    route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: hostedZoneId, StartRecordName: host, StartRecordType: 'A', MaxItems: 1 })),
  );
  const found = page.ResourceRecordSets?.[0];
  return found && bare(found.Name) === bare(host) && found.Type === 'A' ? found : undefined;
}

/** UPSERTs the alias A record unless it already points at the ALB; returns the change made. */
export async function ensureAliasRecord(
  route53: Route53Client,
  hostedZoneId: string,
  host: string,
  target: { dnsName: string; canonicalHostedZoneId: string },
): Promise<'created' | 'updated' | 'unchanged'> {
  const found = await findRecord(route53, hostedZoneId, host);
  if (found?.AliasTarget && bare(found.AliasTarget.DNSName) === bare(target.dnsName) && found.AliasTarget.HostedZoneId === target.canonicalHostedZoneId) {
    return 'unchanged';
  }
  await awsCall('ChangeResourceRecordSets', host, () =>
    route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: hostedZoneId,
        ChangeBatch: {
          Comment: 'ecs-deploy-actions provision-platform',
          Changes: [
            {
              Action: 'UPSERT',
              ResourceRecordSet: {
                Name: host,
                Type: 'A',
                AliasTarget: { DNSName: target.dnsName, HostedZoneId: target.canonicalHostedZoneId, EvaluateTargetHealth: false },
              },
            },
          ],
        },
      }),
    ),
  );
  return found ? 'updated' : 'created';
}

/** Deletes the host's alias record (a DELETE must repeat it exactly); false when it is already gone. */
export async function deleteAliasRecord(route53: Route53Client, hostedZoneId: string, host: string): Promise<boolean> {
  const found = await findRecord(route53, hostedZoneId, host);
  // Only an alias record is ours to delete: a plain record of that name was made by someone else.
  if (!found?.AliasTarget) return false;
  await awsCall('ChangeResourceRecordSets', host, () =>
    route53.send(
      new ChangeResourceRecordSetsCommand({
        HostedZoneId: hostedZoneId,
        ChangeBatch: { Changes: [{ Action: 'DELETE', ResourceRecordSet: found }] },
      }),
    ),
  );
  return true;
}
