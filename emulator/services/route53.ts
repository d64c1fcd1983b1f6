// Amazon Route 53 (REST-XML, 2013-04-01): public hosted zones and their record sets (plain and alias, simple
// routing), changes that go INSYNC on the emulated clock, and where a name leads (for the control endpoint).
import { randomInt } from 'node:crypto';
import { AwsError, type EmulatorContext, type RestResponse, type ServiceModule } from '../core/types.ts';
import { escapeXml, parseXml, type XmlElement } from '../core/wire.ts';
import type { ElbAccount } from './elbv2.ts';

const XMLNS = 'https://route53.amazonaws.com/doc/2013-04-01/';
const PREFIX = '/2013-04-01/';
// "Changes generally propagate to all Route 53 name servers managing the hosted zone within 60 seconds"
// (ChangeResourceRecordSets); GetChange says PENDING until then.
const INSYNC_SECONDS = 30;
const RR_TYPES = ['SOA', 'A', 'TXT', 'NS', 'CNAME', 'MX', 'NAPTR', 'PTR', 'SRV', 'SPF', 'AAAA', 'CAA', 'DS', 'TLSA', 'SSHFP', 'SVCB', 'HTTPS'];
const ROUTING_FIELDS = [
  'SetIdentifier',
  'Weight',
  'Region',
  'GeoLocation',
  'Failover',
  'MultiValueAnswer',
  'HealthCheckId',
  'TrafficPolicyInstanceId',
  'CidrRoutingConfig',
  'GeoProximityLocation',
];
// Elements whose children are list members; every other element with children is a structure.
const LISTS = new Set(['Changes', 'ResourceRecords']);

interface AliasTarget {
  HostedZoneId: string;
  DNSName: string;
  EvaluateTargetHealth: boolean;
}

interface RecordSet {
  Name: string;
  Type: string;
  TTL?: number;
  ResourceRecords?: string[];
  AliasTarget?: AliasTarget;
}

interface Zone {
  id: string;
  name: string;
  callerReference: string;
  comment?: string;
  nameServers: string[];
  /** Keyed by `${name} ${type}`. */
  records: Map<string, RecordSet>;
}

interface Change {
  id: string;
  submittedAt: number;
  comment?: string;
}

type Input = Record<string, unknown>;

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);
const obj = (v: unknown): Input => (v && typeof v === 'object' && !Array.isArray(v) ? (v as Input) : {});
const list = (v: unknown): Input[] => (Array.isArray(v) ? (v as Input[]) : []);

/** A name as Route 53 keeps it: lower case, fully qualified, `*` for its octal escape. */
const fqdn = (name: string): string => {
  const n = name.trim().toLowerCase().replace(/\\052/g, '*');
  return n.endsWith('.') ? n : `${n}.`;
};
/** Route 53 answers `*` as `\052`. */
const wireName = (name: string): string => name.replace(/\*/g, '\\052');
const inZone = (name: string, zone: Zone): boolean => name === zone.name || name.endsWith(`.${zone.name}`);
/** ListResourceRecordSets' order: by name with the labels reversed (com.example.www.), then by type. */
const sortKey = (r: RecordSet): string => `${r.Name.slice(0, -1).split('.').reverse().join('.')}. ${r.Type}`;
const recordKey = (name: string, type: string): string => `${name} ${type}`;

const ID_CHARS = '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const newId = (first: string): string => first + Array.from({ length: 20 }, () => ID_CHARS[randomInt(ID_CHARS.length)]).join('');

const leaf = (name: string, value: string | number | boolean | undefined): string =>
  value === undefined ? '' : `<${name}>${escapeXml(String(value))}</${name}>`;
const el = (name: string, ...content: string[]): string => `<${name}>${content.join('')}</${name}>`;
const doc = (root: string, ...content: string[]): string => `<${root} xmlns="${XMLNS}">${content.join('')}</${root}>`;

function xmlToInput(e: XmlElement): unknown {
  if (LISTS.has(e.name)) return e.children.map(xmlToInput);
  if (!e.children.length) return e.text.trim();
  return Object.fromEntries(e.children.map((c) => [c.name, xmlToInput(c)]));
}

/** The body's members under the expected root element. */
function readBody(body: string, root: string): Input {
  let parsed: XmlElement;
  try {
    parsed = parseXml(body);
  } catch (e) {
    throw new AwsError('MalformedInput', `Unable to parse the request body: ${(e as Error).message}`);
  }
  if (parsed.name !== root) throw new AwsError('MalformedInput', `The request body is not valid, expected ${root}`);
  return obj(xmlToInput(parsed));
}

export interface Route53 extends ServiceModule {
  /** Where a name leads through the hosted zones' records (alias or CNAME to a load balancer, or values); undefined when nowhere. */
  resolve(name: string): Record<string, unknown> | undefined;
}

export function createRoute53Service(ctx: EmulatorContext, elb: Pick<ElbAccount, 'loadBalancerByDnsName' | 'regionOfCanonicalZone'>): Route53 {
  let zones = new Map<string, Zone>();
  let changes = new Map<string, Change>();

  function getZone(id: unknown): Zone {
    const zone = zones.get(String(id));
    if (!zone) throw new AwsError('NoSuchHostedZone', `No hosted zone found with ID: ${id}`, 404);
    return zone;
  }

  function newChange(comment?: string): Change {
    const change: Change = { id: newId('C'), submittedAt: ctx.clock.now() };
    if (comment) change.comment = comment;
    changes.set(change.id, change);
    return change;
  }

  const changeInfo = (c: Change): string =>
    el(
      'ChangeInfo',
      leaf('Id', `/change/${c.id}`),
      leaf('Status', ctx.clock.now() - c.submittedAt >= INSYNC_SECONDS * 1000 ? 'INSYNC' : 'PENDING'),
      leaf('SubmittedAt', new Date(c.submittedAt).toISOString()),
      leaf('Comment', c.comment),
    );

  const zoneXml = (z: Zone): string =>
    el(
      'HostedZone',
      leaf('Id', `/hostedzone/${z.id}`),
      leaf('Name', wireName(z.name)),
      leaf('CallerReference', z.callerReference),
      el('Config', leaf('Comment', z.comment), leaf('PrivateZone', false)),
      leaf('ResourceRecordSetCount', z.records.size),
    );

  const delegationSetXml = (z: Zone): string => el('DelegationSet', el('NameServers', ...z.nameServers.map((ns) => leaf('NameServer', ns))));

  const recordXml = (r: RecordSet): string =>
    el(
      'ResourceRecordSet',
      leaf('Name', wireName(r.Name)),
      leaf('Type', r.Type),
      leaf('TTL', r.TTL),
      r.ResourceRecords ? el('ResourceRecords', ...r.ResourceRecords.map((v) => el('ResourceRecord', leaf('Value', v)))) : '',
      r.AliasTarget
        ? el(
            'AliasTarget',
            leaf('HostedZoneId', r.AliasTarget.HostedZoneId),
            leaf('DNSName', r.AliasTarget.DNSName),
            leaf('EvaluateTargetHealth', r.AliasTarget.EvaluateTargetHealth),
          )
        : '',
    );

  const ok = (xml: string, status = 200, headers?: Record<string, string>): RestResponse => (headers ? { status, xml, headers } : { status, xml });

  /** One change of a batch as a record set; InvalidInput for what no batch could hold. */
  function readChange(change: Input): { action: string; set: RecordSet; given: string } {
    const action = str(change.Action) ?? '';
    const rrs = obj(change.ResourceRecordSet);
    const given = str(rrs.Name) ?? '';
    const type = str(rrs.Type) ?? '';
    if (!['CREATE', 'DELETE', 'UPSERT'].includes(action)) {
      throw new AwsError(
        'InvalidInput',
        `Invalid XML ; cvc-enumeration-valid: Value '${action}' is not facet-valid with respect to enumeration '[CREATE, DELETE, UPSERT]'.`,
      );
    }
    if (!RR_TYPES.includes(type)) {
      throw new AwsError(
        'InvalidInput',
        `Invalid XML ; cvc-enumeration-valid: Value '${type}' is not facet-valid with respect to enumeration '[${RR_TYPES.join(', ')}]'.`,
      );
    }
    const routing = ROUTING_FIELDS.filter((f) => rrs[f] !== undefined);
    if (routing.length) throw new AwsError('InvalidInput', `The emulator models simple routing only, not ${routing.join(', ')}`);
    const hasAlias = rrs.AliasTarget !== undefined;
    const hasValues = rrs.TTL !== undefined && list(rrs.ResourceRecords).length > 0;
    if (hasAlias === hasValues || (hasAlias && (rrs.TTL !== undefined || rrs.ResourceRecords !== undefined))) {
      const found = hasAlias ? 'more than one' : 'none';
      throw new AwsError(
        'InvalidInput',
        `Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found ${found} in Change with [Action=${action}, Name=${given}, Type=${type}, SetIdentifier=null]`,
      );
    }
    if (!given.trim()) throw new AwsError('InvalidChangeBatch', "[FATAL problem: DomainNameEmpty (Domain name is empty) encountered with '']");
    const set: RecordSet = { Name: fqdn(given), Type: type };
    if (hasAlias) {
      const a = obj(rrs.AliasTarget);
      set.AliasTarget = {
        HostedZoneId: str(a.HostedZoneId) ?? '',
        DNSName: fqdn(str(a.DNSName) ?? ''),
        EvaluateTargetHealth: a.EvaluateTargetHealth === 'true',
      };
    } else {
      const ttl = Number(rrs.TTL);
      if (!Number.isInteger(ttl) || ttl < 0 || ttl > 2147483647)
        throw new AwsError('InvalidInput', `Invalid XML ; '${rrs.TTL}' is not a valid value for 'TTL'.`);
      set.TTL = ttl;
      set.ResourceRecords = list(rrs.ResourceRecords).map((r) => String(r.Value ?? ''));
    }
    return { action, set, given };
  }

  /** Why Route 53 would refuse this alias target (InvalidChangeBatch wording), given the zone's records as they will be. */
  function aliasProblem(zone: Zone, set: RecordSet, records: Map<string, RecordSet>): string | undefined {
    const target = set.AliasTarget as AliasTarget;
    const prefix = `Tried to create an alias that targets ${target.DNSName}, type ${set.Type} in zone ${target.HostedZoneId}, but`;
    if (target.HostedZoneId === zone.id) {
      if (!inZone(target.DNSName, zone)) return `${prefix} the alias target name does not lie within the target zone`;
      return records.has(recordKey(target.DNSName, set.Type)) ? undefined : `${prefix} that target was not found`;
    }
    const region = elb.regionOfCanonicalZone(target.HostedZoneId);
    const lb = elb.loadBalancerByDnsName(target.DNSName);
    if (lb && lb.canonicalHostedZoneId === target.HostedZoneId) return undefined;
    if (region && (lb || !target.DNSName.endsWith(`.${region}.elb.amazonaws.com.`))) {
      return `${prefix} the alias target name does not lie within the target zone`;
    }
    // Other AWS targets (CloudFront, S3, API Gateway, other load balancers) are not modelled: none exists.
    return `${prefix} that target was not found`;
  }

  const sameValues = (a: RecordSet, b: RecordSet): boolean =>
    a.TTL === b.TTL &&
    JSON.stringify([...(a.ResourceRecords ?? [])].sort()) === JSON.stringify([...(b.ResourceRecords ?? [])].sort()) &&
    JSON.stringify(a.AliasTarget ?? null) === JSON.stringify(b.AliasTarget ?? null);

  /** The record a query for name and type finds, a wildcard standing in when nothing has that name. */
  function lookup(zone: Zone, name: string, type: string): RecordSet | undefined {
    const exact = zone.records.get(recordKey(name, type));
    if (exact || [...zone.records.values()].some((r) => r.Name === name)) return exact;
    for (let parent = name.slice(name.indexOf('.') + 1); parent && inZone(parent, zone); parent = parent.slice(parent.indexOf('.') + 1)) {
      const wild = zone.records.get(recordKey(`*.${parent}`, type));
      if (wild) return wild;
    }
    return undefined;
  }

  /** The load balancer or values a name leads to, following aliases and CNAMEs through the zones. */
  function follow(name: string, depth: number): Record<string, unknown> | undefined {
    // The most specific zone answers, as delegation would make it.
    const zone = [...zones.values()].filter((z) => inZone(name, z)).sort((a, b) => b.name.length - a.name.length)[0];
    if (!zone || depth > 8) return undefined;
    const rs = lookup(zone, name, 'A') ?? lookup(zone, name, 'CNAME');
    if (!rs) return undefined;
    const answer = { hostedZoneId: zone.id, recordName: wireName(rs.Name), recordType: rs.Type };
    const target = rs.AliasTarget?.DNSName ?? (rs.Type === 'CNAME' ? fqdn(rs.ResourceRecords?.[0] ?? '') : undefined);
    if (!target) return { ...answer, values: rs.ResourceRecords };
    const lb = elb.loadBalancerByDnsName(target);
    if (lb && (!rs.AliasTarget || rs.AliasTarget.HostedZoneId === lb.canonicalHostedZoneId)) {
      return { ...answer, loadBalancerArn: lb.arn, dnsName: lb.dnsName, canonicalHostedZoneId: lb.canonicalHostedZoneId };
    }
    return follow(target, depth + 1);
  }

  return {
    name: 'route53',
    protocol: 'rest-xml',
    pathPrefix: PREFIX,
    xmlNamespace: XMLNS,

    route(req) {
      const parts = req.path.slice(PREFIX.length).replace(/\/+$/, '').split('/').map(decodeURIComponent);
      const query = (key: string, member: string): Input => (req.query.has(key) ? { [member]: req.query.get(key) } : {});
      const [kind, id, sub] = parts;
      if (kind === 'hostedzone' && parts.length === 1 && req.method === 'POST') {
        return { operation: 'CreateHostedZone', input: () => readBody(req.body, 'CreateHostedZoneRequest') };
      }
      if (kind === 'hostedzone' && parts.length === 1 && req.method === 'GET') {
        return { operation: 'ListHostedZones', input: () => ({ ...query('marker', 'Marker'), ...query('maxitems', 'MaxItems') }) };
      }
      if (kind === 'hostedzone' && parts.length === 2 && req.method === 'GET') return { operation: 'GetHostedZone', input: () => ({ Id: id }) };
      if (kind === 'hostedzone' && parts.length === 3 && sub === 'rrset' && req.method === 'POST') {
        return {
          operation: 'ChangeResourceRecordSets',
          input: () => ({ HostedZoneId: id, ...readBody(req.body, 'ChangeResourceRecordSetsRequest') }),
        };
      }
      if (kind === 'hostedzone' && parts.length === 3 && sub === 'rrset' && req.method === 'GET') {
        return {
          operation: 'ListResourceRecordSets',
          input: () => ({
            HostedZoneId: id,
            ...query('name', 'StartRecordName'),
            ...query('type', 'StartRecordType'),
            ...query('identifier', 'StartRecordIdentifier'),
            ...query('maxitems', 'MaxItems'),
          }),
        };
      }
      if (kind === 'change' && parts.length === 2 && req.method === 'GET') return { operation: 'GetChange', input: () => ({ Id: id }) };
      return undefined;
    },

    operations: {
      CreateHostedZone: {
        mutating: true,
        handler: (input) => {
          const name = str(input.Name);
          const callerReference = str(input.CallerReference);
          if (!name || !callerReference) throw new AwsError('InvalidInput', 'Invalid request: Name and CallerReference are required');
          if (input.VPC !== undefined) throw new AwsError('InvalidInput', 'The emulator models public hosted zones only');
          const zoneName = fqdn(name);
          if (!/^([a-z0-9_]([a-z0-9_-]{0,61}[a-z0-9_])?\.)+$/.test(zoneName) || zoneName.length > 255) {
            throw new AwsError('InvalidDomainName', `${name} is not a valid domain name`);
          }
          if ([...zones.values()].some((z) => z.callerReference === callerReference)) {
            throw new AwsError('HostedZoneAlreadyExists', 'A hosted zone has already been created with the specified caller reference.', 409);
          }
          const nameServers = ['com', 'net', 'org', 'co.uk'].map((tld) => `ns-${randomInt(2048)}.awsdns-${String(randomInt(64)).padStart(2, '0')}.${tld}`);
          const zone: Zone = { id: newId('Z'), name: zoneName, callerReference, nameServers, records: new Map() };
          const comment = str(obj(input.HostedZoneConfig).Comment);
          if (comment) zone.comment = comment;
          // A new zone holds its NS and SOA records, as on AWS.
          zone.records.set(recordKey(zoneName, 'NS'), { Name: zoneName, Type: 'NS', TTL: 172800, ResourceRecords: nameServers.map((ns) => `${ns}.`) });
          zone.records.set(recordKey(zoneName, 'SOA'), {
            Name: zoneName,
            Type: 'SOA',
            TTL: 900,
            ResourceRecords: [`${nameServers[0]}. awsdns-hostmaster.amazon.com. 1 7200 900 1209600 86400`],
          });
          zones.set(zone.id, zone);
          const xml = doc('CreateHostedZoneResponse', zoneXml(zone), changeInfo(newChange()), delegationSetXml(zone));
          return ok(xml, 201, { location: `https://route53.amazonaws.com/2013-04-01/hostedzone/${zone.id}` });
        },
      },
      GetHostedZone: {
        mutating: false,
        handler: (input) => {
          const zone = getZone(input.Id);
          return ok(doc('GetHostedZoneResponse', zoneXml(zone), delegationSetXml(zone)));
        },
      },
      ListHostedZones: {
        mutating: false,
        handler: (input) => {
          const all = [...zones.values()];
          const marker = str(input.Marker);
          const maxItems = input.MaxItems === undefined ? 100 : Number(input.MaxItems);
          if (!Number.isInteger(maxItems) || maxItems < 1) throw new AwsError('InvalidInput', `Invalid value for maxitems: ${input.MaxItems}`);
          const start = marker ? all.findIndex((z) => z.id === marker) : 0;
          if (start < 0) throw new AwsError('InvalidInput', `Invalid marker: ${marker}`);
          const page = all.slice(start, start + Math.min(maxItems, 100));
          const next = all[start + page.length];
          return ok(
            doc(
              'ListHostedZonesResponse',
              el('HostedZones', ...page.map(zoneXml)),
              leaf('Marker', marker ?? ''),
              leaf('IsTruncated', next !== undefined),
              leaf('NextMarker', next?.id),
              leaf('MaxItems', maxItems),
            ),
          );
        },
      },
      ChangeResourceRecordSets: {
        mutating: true,
        handler: (input) => {
          const zone = getZone(input.HostedZoneId);
          const batch = obj(input.ChangeBatch);
          const requested = list(batch.Changes);
          if (!requested.length) throw new AwsError('InvalidInput', "Invalid XML ; cvc-complex-type.2.4.b: The content of element 'Changes' is not complete.");
          const parsed = requested.map(readChange);
          // The batch is all or nothing: each change is checked against the records as the earlier ones leave them.
          const records = new Map(zone.records);
          const problems: string[] = [];
          for (const { action, set } of parsed) {
            const key = recordKey(set.Name, set.Type);
            const shown = `[name='${wireName(set.Name)}', type='${set.Type}']`;
            const current = records.get(key);
            if (!inZone(set.Name, zone)) {
              problems.push(`RRSet with DNS name ${wireName(set.Name)} is not permitted in zone ${wireName(zone.name)}`);
            } else if (action === 'DELETE') {
              if (!current) problems.push(`Tried to delete resource record set ${shown} but it was not found`);
              else if (!sameValues(current, set))
                problems.push(`Tried to delete resource record set ${shown} but the values provided do not match the current values`);
              else records.delete(key);
            } else if (action === 'CREATE' && current) {
              problems.push(`Tried to create resource record set ${shown} but it already exists`);
            } else {
              const aliasIssue = set.AliasTarget && aliasProblem(zone, set, records);
              if (aliasIssue) problems.push(aliasIssue);
              else records.set(key, set);
            }
          }
          if (problems.length) throw new AwsError('InvalidChangeBatch', `[${problems.join(', ')}]`);
          zone.records = records;
          return ok(doc('ChangeResourceRecordSetsResponse', changeInfo(newChange(str(batch.Comment)))));
        },
      },
      ListResourceRecordSets: {
        mutating: false,
        handler: (input) => {
          const zone = getZone(input.HostedZoneId);
          const maxItems = input.MaxItems === undefined ? 300 : Number(input.MaxItems);
          if (!Number.isInteger(maxItems) || maxItems < 1) throw new AwsError('InvalidInput', `Invalid value for maxitems: ${input.MaxItems}`);
          const startName = str(input.StartRecordName);
          const startType = str(input.StartRecordType);
          if (startType && !startName) throw new AwsError('InvalidInput', 'Invalid request: a record type to start from needs a record name');
          const sorted = [...zone.records.values()].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1));
          const from = startName ? sortKey({ Name: fqdn(startName), Type: startType ?? '' }) : '';
          const start = sorted.filter((r) => sortKey(r) < from).length;
          const page = sorted.slice(start, start + Math.min(maxItems, 300));
          const next = sorted[start + page.length];
          return ok(
            doc(
              'ListResourceRecordSetsResponse',
              el('ResourceRecordSets', ...page.map(recordXml)),
              leaf('IsTruncated', next !== undefined),
              leaf('NextRecordName', next && wireName(next.Name)),
              leaf('NextRecordType', next?.Type),
              leaf('MaxItems', maxItems),
            ),
          );
        },
      },
      GetChange: {
        mutating: false,
        handler: (input) => {
          const change = changes.get(String(input.Id));
          if (!change) throw new AwsError('NoSuchChange', `A change with the specified change ID does not exist: ${input.Id}`, 404);
          return ok(doc('GetChangeResponse', changeInfo(change)));
        },
      },
    },

    resolve(name) {
      const answer = follow(fqdn(name), 0);
      return answer && { name: wireName(fqdn(name)), ...answer };
    },

    state() {
      return {
        hostedZones: [...zones.values()].map((z) => ({
          Id: `/hostedzone/${z.id}`,
          Name: wireName(z.name),
          CallerReference: z.callerReference,
          Comment: z.comment,
          NameServers: z.nameServers,
          ResourceRecordSets: [...z.records.values()].sort((a, b) => (sortKey(a) < sortKey(b) ? -1 : 1)).map((r) => ({ ...r, Name: wireName(r.Name) })),
        })),
        changes: [...changes.values()].map((c) => ({ Id: `/change/${c.id}`, SubmittedAt: new Date(c.submittedAt).toISOString(), Comment: c.comment })),
      };
    },
    reset() {
      zones = new Map();
      changes = new Map();
    },
  };
}
