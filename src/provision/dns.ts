// An environment's Route 53 alias record (hosted-zone-id): its host pointing at the ALB that routes it.
// Route 53 records carry no tags, so ownership is a TXT record of the same name holding the environment's
// identity (as external-dns marks its records): a name without our TXT is someone else's and is never
// written over; teardown deletes the alias only while it is ours and still points at our load balancer.
// The zone and host are kept in a tag on the environment's target group, so teardown finds the record
// without being told the host pattern.
import {
  type Change,
  ChangeResourceRecordSetsCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  type Route53Client,
} from '@aws-sdk/client-route-53';
import { awsCall } from '../aws.ts';
import { type Identity, MANAGED_BY } from '../environment.ts';
import { ActionError } from '../errors.ts';

export const TAG_DNS_RECORD = 'ecs-deploy-actions:dns-record';

export function dnsRecordTag(hostedZoneId: string, host: string): string {
  return `${hostedZoneId}/${host}`;
}

export function parseDnsRecordTag(value: string): { hostedZoneId: string; host: string } | undefined {
  const [hostedZoneId, host] = value.split('/');
  return hostedZoneId && host ? { hostedZoneId, host } : undefined;
}

export interface AliasTarget {
  dnsName: string;
  canonicalHostedZoneId: string;
}

const bare = (name: string | undefined) => (name ?? '').toLowerCase().replace(/\.$/, '');

/** The TXT value that marks a name as this environment's. */
export function ownershipMarker(identity: Identity): string {
  return `"heritage=${MANAGED_BY},repository=${identity.repository},cluster=${identity.cluster},environment=${identity.environment}"`;
}

function markerOwner(value: string): string | undefined {
  const match = new RegExp(`^"heritage=${MANAGED_BY},repository=([^,]+),cluster=([^,]+),environment=([^,"]+)"$`).exec(value);
  return match ? `environment ${match[3]} of cluster ${match[2]} (repository ${match[1]})` : undefined;
}

interface RecordsAtName {
  alias: ResourceRecordSet | undefined;
  /** Any other record of that name that is not our marker (a plain A, a CNAME, someone's TXT...). */
  others: ResourceRecordSet[];
  marker: ResourceRecordSet | undefined;
  /** Whose marker it is, when the TXT carries another environment's identity. */
  markedFor: string | undefined;
}

async function recordsAt(route53: Route53Client, hostedZoneId: string, host: string, identity: Identity): Promise<RecordsAtName> {
  // Records are listed in name then type order: one page from the name holds every type of it.
  const page = await awsCall('ListResourceRecordSets', host, () =>
    route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: hostedZoneId, StartRecordName: host, MaxItems: 20 })),
  );
  const atName = (page.ResourceRecordSets ?? []).filter((set) => bare(set.Name) === bare(host));
  const found: RecordsAtName = { alias: undefined, others: [], marker: undefined, markedFor: undefined };
  const wanted = ownershipMarker(identity);
  for (const set of atName) {
    const values = (set.ResourceRecords ?? []).map((record) => record.Value ?? '');
    if (set.Type === 'TXT' && values.includes(wanted)) found.marker = set;
    else if (set.Type === 'TXT' && values.some((value) => markerOwner(value))) {
      found.markedFor = values.map(markerOwner).find(Boolean);
      found.others.push(set);
    } else if (set.Type === 'A' && set.AliasTarget) found.alias = set;
    else found.others.push(set);
  }
  return found;
}

function aliasSet(host: string, target: AliasTarget): ResourceRecordSet {
  return { Name: host, Type: 'A', AliasTarget: { DNSName: target.dnsName, HostedZoneId: target.canonicalHostedZoneId, EvaluateTargetHealth: false } };
}

function markerSet(host: string, identity: Identity): ResourceRecordSet {
  return { Name: host, Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: ownershipMarker(identity) }] };
}

function pointsAt(set: ResourceRecordSet | undefined, target: AliasTarget): boolean {
  return !!set?.AliasTarget && bare(set.AliasTarget.DNSName) === bare(target.dnsName) && set.AliasTarget.HostedZoneId === target.canonicalHostedZoneId;
}

async function change(route53: Route53Client, hostedZoneId: string, host: string, changes: Change[]): Promise<void> {
  await awsCall('ChangeResourceRecordSets', host, () =>
    route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: hostedZoneId, ChangeBatch: { Comment: `${MANAGED_BY} ${host}`, Changes: changes } })),
  );
}

/** What the environment's name holds: whether our marker is there, and where our alias points. */
export interface AliasState {
  marked: boolean;
  /** The DNS name the alias leads to, when there is one. */
  pointsAt: string | undefined;
}

/**
 * Refuses, before anything is changed, a name that holds records without our marker: another team's
 * record (or another environment's) is never written over.
 */
export async function readAlias(route53: Route53Client, hostedZoneId: string, host: string, identity: Identity): Promise<AliasState> {
  const found = await recordsAt(route53, hostedZoneId, host, identity);
  refuseTaken(found, hostedZoneId, host, identity);
  return { marked: found.marker !== undefined, pointsAt: found.alias?.AliasTarget?.DNSName };
}

function refuseTaken(found: RecordsAtName, hostedZoneId: string, host: string, identity: Identity): void {
  if (found.marker) return;
  const taken = found.alias ?? found.others[0];
  if (!taken) return;
  throw new ActionError(
    `${host} already has a ${taken.Type} record in hosted zone ${hostedZoneId} ${found.markedFor ? `owned by ${found.markedFor}` : 'that ecs-deploy-actions did not create'} (no ownership TXT record of ${identity.environment} beside it); it was left unchanged.`,
    'pick a host-pattern whose names are free in this zone, or delete that record if it is stale.',
  );
}

/**
 * The alias record and its marker. A new name is CREATEd (marker and alias in one batch, which fails
 * rather than overwrite a record made meanwhile); an alias of ours is UPSERTed when the ALB changed.
 */
export async function ensureAliasRecord(
  route53: Route53Client,
  hostedZoneId: string,
  host: string,
  identity: Identity,
  target: AliasTarget,
): Promise<'created' | 'updated' | 'unchanged'> {
  const found = await recordsAt(route53, hostedZoneId, host, identity);
  refuseTaken(found, hostedZoneId, host, identity);
  if (found.marker && pointsAt(found.alias, target)) return 'unchanged';
  const changes: Change[] = [];
  if (!found.marker) changes.push({ Action: 'CREATE', ResourceRecordSet: markerSet(host, identity) });
  changes.push({ Action: found.alias ? 'UPSERT' : 'CREATE', ResourceRecordSet: aliasSet(host, target) });
  await change(route53, hostedZoneId, host, changes);
  return found.alias ? 'updated' : 'created';
}

/**
 * Deletes the alias while it is ours and still points at `target`, and our marker; an alias someone has
 * pointed elsewhere is theirs now and stays. False when nothing of ours was left.
 */
export async function deleteAliasRecord(
  route53: Route53Client,
  hostedZoneId: string,
  host: string,
  identity: Identity,
  target: AliasTarget | undefined,
): Promise<boolean> {
  const found = await recordsAt(route53, hostedZoneId, host, identity);
  if (!found.marker) return false;
  // A DELETE must repeat each record exactly as it is.
  const changes: Change[] = [];
  if (found.alias && target && pointsAt(found.alias, target)) changes.push({ Action: 'DELETE', ResourceRecordSet: found.alias });
  changes.push({ Action: 'DELETE', ResourceRecordSet: found.marker });
  await change(route53, hostedZoneId, host, changes);
  return true;
}
