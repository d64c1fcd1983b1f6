// Route 53 over REST-XML with the real client: hosted zones, alias records to ALBs, change batches and their
// errors, listing order and pages, GetChange, and the control endpoint that resolves a name.
import { CreateLoadBalancerCommand, DeleteLoadBalancerCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import {
  type Change,
  ChangeResourceRecordSetsCommand,
  CreateHostedZoneCommand,
  GetChangeCommand,
  GetHostedZoneCommand,
  ListHostedZonesCommand,
  ListResourceRecordSetsCommand,
  type ResourceRecordSet,
  Route53Client,
} from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, beforeEach, expect, test } from '@jest/globals';
import type { CallRecord } from '../../emulator/core/types.ts';
import { type Harness, harness, SUBNETS } from './helpers.ts';

let h: Harness;
let r53: Route53Client;
beforeAll(async () => {
  h = await harness({ maxAttempts: 1 });
  r53 = new Route53Client({ endpoint: h.emu.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' }, maxAttempts: 1 });
});
afterAll(async () => {
  r53.destroy();
  await h.stop();
});
beforeEach(async () => {
  await h.control('/_emulator/reset', {});
});

interface Alb {
  arn: string;
  dnsName: string;
  zoneId: string;
}
async function alb(name: string): Promise<Alb> {
  const lb = (await h.elb.send(new CreateLoadBalancerCommand({ Name: name, Subnets: SUBNETS }))).LoadBalancers?.[0];
  return { arn: lb?.LoadBalancerArn as string, dnsName: lb?.DNSName as string, zoneId: lb?.CanonicalHostedZoneId as string };
}
async function zone(name = 'preview.example.com'): Promise<string> {
  const out = await r53.send(new CreateHostedZoneCommand({ Name: name, CallerReference: `ref-${name}-${Math.random()}` }));
  return out.HostedZone?.Id as string;
}
const alias = (Name: string, lb: Alb): ResourceRecordSet => ({
  Name,
  Type: 'A',
  AliasTarget: { HostedZoneId: lb.zoneId, DNSName: `dualstack.${lb.dnsName}`, EvaluateTargetHealth: true },
});
const change = (HostedZoneId: string, ...Changes: Change[]) => r53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId, ChangeBatch: { Changes } }));
const resolve = async (name: string): Promise<{ status: number; body: Record<string, unknown> }> => {
  const res = await fetch(`${h.emu.endpoint}/_emulator/dns/resolve?name=${encodeURIComponent(name)}`);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
async function listAll(HostedZoneId: string, MaxItems?: number): Promise<ResourceRecordSet[]> {
  const out: ResourceRecordSet[] = [];
  let next: { StartRecordName?: string; StartRecordType?: ResourceRecordSet['Type'] } = {};
  for (;;) {
    const page = await r53.send(new ListResourceRecordSetsCommand({ HostedZoneId, MaxItems, ...next }));
    out.push(...(page.ResourceRecordSets ?? []));
    if (!page.IsTruncated) return out;
    next = { StartRecordName: page.NextRecordName, StartRecordType: page.NextRecordType };
  }
}

test('CreateHostedZone, GetHostedZone, ListHostedZones', async () => {
  const created = await r53.send(
    new CreateHostedZoneCommand({ Name: 'Preview.Example.com', CallerReference: 'once', HostedZoneConfig: { Comment: 'previews' } }),
  );
  expect(created.$metadata.httpStatusCode).toBe(201);
  const id = created.HostedZone?.Id as string;
  expect(id).toMatch(/^\/hostedzone\/Z[0-9A-Z]{20}$/);
  expect(created.Location).toBe(`https://route53.amazonaws.com/2013-04-01${id}`);
  expect(created.HostedZone).toMatchObject({ Name: 'preview.example.com.', Config: { Comment: 'previews', PrivateZone: false }, ResourceRecordSetCount: 2 });
  expect(created.ChangeInfo).toMatchObject({ Id: expect.stringMatching(/^\/change\/C/), Status: 'PENDING' });
  expect(created.DelegationSet?.NameServers).toHaveLength(4);
  // The SDK strips "/hostedzone/" from IDs; either form works.
  expect((await r53.send(new GetHostedZoneCommand({ Id: id.replace('/hostedzone/', '') }))).HostedZone?.Id).toBe(id);
  expect(await listAll(id)).toEqual([
    expect.objectContaining({ Name: 'preview.example.com.', Type: 'NS', TTL: 172800 }),
    expect.objectContaining({ Name: 'preview.example.com.', Type: 'SOA', TTL: 900 }),
  ]);
  await expect(r53.send(new CreateHostedZoneCommand({ Name: 'other.example.com', CallerReference: 'once' }))).rejects.toMatchObject({
    name: 'HostedZoneAlreadyExists',
    $metadata: { httpStatusCode: 409 },
  });
  await expect(r53.send(new GetHostedZoneCommand({ Id: 'Z0000000000000000000X' }))).rejects.toMatchObject({
    name: 'NoSuchHostedZone',
    message: 'No hosted zone found with ID: Z0000000000000000000X',
    $metadata: { httpStatusCode: 404 },
  });
  const second = await zone('other.example.com');
  const page1 = await r53.send(new ListHostedZonesCommand({ MaxItems: 1 }));
  expect(page1).toMatchObject({ IsTruncated: true, MaxItems: 1, HostedZones: [{ Id: id }] });
  const page2 = await r53.send(new ListHostedZonesCommand({ MaxItems: 1, Marker: page1.NextMarker }));
  expect(page2).toMatchObject({ IsTruncated: false, HostedZones: [{ Id: second }] });
});

test('UPSERT an alias to an ALB, GetChange goes INSYNC, resolve follows the alias, DELETE removes it', async () => {
  const id = await zone();
  const [pool1, pool2] = [await alb('pool-1'), await alb('pool-2')];
  const out = await change(id, { Action: 'UPSERT', ResourceRecordSet: alias('PR-7.preview.example.com', pool1) });
  expect(out.ChangeInfo).toMatchObject({ Id: expect.stringMatching(/^\/change\/C[0-9A-Z]{20}$/), Status: 'PENDING' });
  expect((await r53.send(new GetChangeCommand({ Id: out.ChangeInfo?.Id }))).ChangeInfo?.Status).toBe('PENDING');
  await h.advance(30);
  expect((await r53.send(new GetChangeCommand({ Id: out.ChangeInfo?.Id }))).ChangeInfo?.Status).toBe('INSYNC');
  await expect(r53.send(new GetChangeCommand({ Id: 'C0000000000000000000X' }))).rejects.toMatchObject({
    name: 'NoSuchChange',
    $metadata: { httpStatusCode: 404 },
  });

  const record = (await listAll(id)).find((r) => r.Type === 'A');
  expect(record).toEqual({
    Name: 'pr-7.preview.example.com.',
    Type: 'A',
    AliasTarget: { HostedZoneId: 'Z35SXDOTRQ7X7K', DNSName: `dualstack.${pool1.dnsName}.`, EvaluateTargetHealth: true },
  });
  expect(await resolve('pr-7.preview.example.com')).toEqual({
    status: 200,
    body: {
      name: 'pr-7.preview.example.com.',
      hostedZoneId: id.replace('/hostedzone/', ''),
      recordName: 'pr-7.preview.example.com.',
      recordType: 'A',
      loadBalancerArn: pool1.arn,
      dnsName: pool1.dnsName,
      canonicalHostedZoneId: 'Z35SXDOTRQ7X7K',
    },
  });
  // UPSERT moves the name to another ALB.
  await change(id, { Action: 'UPSERT', ResourceRecordSet: alias('pr-7.preview.example.com', pool2) });
  expect((await resolve('pr-7.preview.example.com.')).body.loadBalancerArn).toBe(pool2.arn);

  await change(id, { Action: 'DELETE', ResourceRecordSet: alias('pr-7.preview.example.com', pool2) });
  expect((await resolve('pr-7.preview.example.com')).status).toBe(404);
  expect((await r53.send(new GetHostedZoneCommand({ Id: id }))).HostedZone?.ResourceRecordSetCount).toBe(2);

  const { calls } = (await h.control('/_emulator/calls')) as { calls: CallRecord[] };
  const r53Calls = calls.filter((c) => c.service === 'route53');
  expect(r53Calls.filter((c) => c.operation === 'ChangeResourceRecordSets' && c.mutating)).toHaveLength(3);
  expect(r53Calls.find((c) => c.operation === 'ChangeResourceRecordSets')?.parameters).toMatchObject({
    HostedZoneId: id.replace('/hostedzone/', ''),
    ChangeBatch: { Changes: [{ Action: 'UPSERT', ResourceRecordSet: { Name: 'PR-7.preview.example.com', Type: 'A' } }] },
  });
});

test("a batch with a bad change applies nothing and names every problem in AWS's words", async () => {
  const id = await zone();
  const lb = await alb('pool-1');
  await change(id, { Action: 'CREATE', ResourceRecordSet: { Name: 'a.preview.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.0.1' }] } });
  const refused = change(
    id,
    { Action: 'CREATE', ResourceRecordSet: alias('new.preview.example.com', lb) },
    { Action: 'CREATE', ResourceRecordSet: { Name: 'a.preview.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.0.1' }] } },
    { Action: 'DELETE', ResourceRecordSet: { Name: 'gone.preview.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.0.2' }] } },
    { Action: 'DELETE', ResourceRecordSet: { Name: 'a.preview.example.com', Type: 'A', TTL: 300, ResourceRecords: [{ Value: '10.0.0.1' }] } },
    { Action: 'UPSERT', ResourceRecordSet: alias('pr-1.elsewhere.com', lb) },
  );
  await expect(refused).rejects.toMatchObject({
    name: 'InvalidChangeBatch',
    $metadata: { httpStatusCode: 400 },
    message:
      "[Tried to create resource record set [name='a.preview.example.com.', type='A'] but it already exists, " +
      "Tried to delete resource record set [name='gone.preview.example.com.', type='A'] but it was not found, " +
      "Tried to delete resource record set [name='a.preview.example.com.', type='A'] but the values provided do not match the current values, " +
      'RRSet with DNS name pr-1.elsewhere.com. is not permitted in zone preview.example.com.]',
  });
  expect((await listAll(id)).map((r) => r.Name)).not.toContain('new.preview.example.com.');

  // Alias targets must exist, in the zone their ID names.
  await expect(
    change(id, { Action: 'UPSERT', ResourceRecordSet: alias('x.preview.example.com', { ...lb, dnsName: 'nope-1.us-east-1.elb.amazonaws.com' }) }),
  ).rejects.toMatchObject({
    name: 'InvalidChangeBatch',
    message: `[Tried to create an alias that targets dualstack.nope-1.us-east-1.elb.amazonaws.com., type A in zone Z35SXDOTRQ7X7K, but that target was not found]`,
  });
  await expect(change(id, { Action: 'UPSERT', ResourceRecordSet: alias('x.preview.example.com', { ...lb, zoneId: 'Z1H1FL5HABSF5' }) })).rejects.toMatchObject({
    message: `[Tried to create an alias that targets dualstack.${lb.dnsName}., type A in zone Z1H1FL5HABSF5, but the alias target name does not lie within the target zone]`,
  });
  // DELETE then CREATE of one record in a batch is a replacement.
  await change(
    id,
    { Action: 'DELETE', ResourceRecordSet: { Name: 'a.preview.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.0.1' }] } },
    { Action: 'CREATE', ResourceRecordSet: { Name: 'a.preview.example.com', Type: 'A', TTL: 60, ResourceRecords: [{ Value: '10.0.0.9' }] } },
  );
  expect(await resolve('a.preview.example.com')).toMatchObject({ status: 200, body: { recordType: 'A', values: ['10.0.0.9'] } });
});

test('InvalidInput for record sets that are neither alias nor TTL with values, and NoSuchHostedZone', async () => {
  const id = await zone();
  await expect(change(id, { Action: 'CREATE', ResourceRecordSet: { Name: 'b.preview.example.com', Type: 'A' } })).rejects.toMatchObject({
    name: 'InvalidInput',
    message:
      'Invalid request: Expected exactly one of [AliasTarget, all of [TTL, and ResourceRecords], or TrafficPolicyInstanceId], but found none in Change with [Action=CREATE, Name=b.preview.example.com, Type=A, SetIdentifier=null]',
  });
  await expect(
    change('Z0000000000000000000X', { Action: 'CREATE', ResourceRecordSet: alias('c.preview.example.com', await alb('pool-1')) }),
  ).rejects.toMatchObject({ name: 'NoSuchHostedZone', $metadata: { httpStatusCode: 404 } });
  await expect(r53.send(new ListResourceRecordSetsCommand({ HostedZoneId: id, StartRecordType: 'A' }))).rejects.toMatchObject({ name: 'InvalidInput' });
});

test('ListResourceRecordSets sorts by reversed labels then type, and pages by name and type', async () => {
  const id = await zone('example.com');
  const plain = (Name: string, Type: 'A' | 'TXT', Value: string): Change => ({
    Action: 'CREATE',
    ResourceRecordSet: { Name, Type, TTL: 60, ResourceRecords: [{ Value }] },
  });
  await change(
    id,
    plain('www.example.com', 'A', '10.0.0.1'),
    plain('api.example.com', 'TXT', '"v=1"'),
    plain('api.example.com', 'A', '10.0.0.2'),
    plain('a.b.example.com', 'A', '10.0.0.3'),
    plain('*.b.example.com', 'A', '10.0.0.4'),
  );
  const expected = [
    'example.com. NS',
    'example.com. SOA',
    'api.example.com. A',
    'api.example.com. TXT',
    '\\052.b.example.com. A',
    'a.b.example.com. A',
    'www.example.com. A',
  ];
  expect((await listAll(id)).map((r) => `${r.Name} ${r.Type}`)).toEqual(expected);
  expect((await listAll(id, 2)).map((r) => `${r.Name} ${r.Type}`)).toEqual(expected);
  const fromApiTxt = await r53.send(
    new ListResourceRecordSetsCommand({ HostedZoneId: id, StartRecordName: 'api.example.com', StartRecordType: 'TXT', MaxItems: 1 }),
  );
  expect(fromApiTxt).toMatchObject({ IsTruncated: true, NextRecordName: '\\052.b.example.com.', NextRecordType: 'A', ResourceRecordSets: [{ Type: 'TXT' }] });
  // A wildcard answers names that have no records of their own.
  expect((await resolve('x.b.example.com')).body).toMatchObject({ recordName: '\\052.b.example.com.', values: ['10.0.0.4'] });
  expect((await resolve('a.b.example.com')).body).toMatchObject({ values: ['10.0.0.3'] });
  expect((await resolve('nothing.example.com')).status).toBe(404);
  expect((await resolve('example.org')).status).toBe(404);
});

test('resolve follows a CNAME to an ALB and stops at a deleted ALB; state and reset cover Route 53', async () => {
  const id = await zone();
  const lb = await alb('pool-1');
  await change(id, {
    Action: 'CREATE',
    ResourceRecordSet: { Name: 'www.preview.example.com', Type: 'CNAME', TTL: 60, ResourceRecords: [{ Value: lb.dnsName }] },
  });
  expect((await resolve('www.preview.example.com')).body).toMatchObject({ recordType: 'CNAME', loadBalancerArn: lb.arn });
  await change(id, { Action: 'CREATE', ResourceRecordSet: alias('pr-2.preview.example.com', lb) });
  await h.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: lb.arn }));
  expect((await resolve('pr-2.preview.example.com')).status).toBe(404);

  const state = (await h.control('/_emulator/state')) as { services: { route53: { hostedZones: { Id: string; ResourceRecordSets: unknown[] }[] } } };
  expect(state.services.route53.hostedZones).toEqual([
    expect.objectContaining({ Id: id, ResourceRecordSets: expect.arrayContaining([expect.objectContaining({ Type: 'CNAME' })]) }),
  ]);
  await h.control('/_emulator/reset', {});
  expect((await r53.send(new ListHostedZonesCommand({}))).HostedZones).toEqual([]);
});

test('faults reach Route 53 as its throttling; unknown paths under the API version are 404', async () => {
  const id = await zone();
  await h.control('/_emulator/faults', { service: 'route53', operation: 'GetHostedZone', error: 'ThrottlingException', rate: 1 });
  await expect(r53.send(new GetHostedZoneCommand({ Id: id }))).rejects.toMatchObject({ name: 'Throttling', $metadata: { httpStatusCode: 400 } });
  await h.control('/_emulator/faults', undefined, 'DELETE');
  const unknown = await fetch(`${h.emu.endpoint}/2013-04-01/healthcheck`);
  expect(unknown.status).toBe(404);
  expect(await unknown.text()).toContain('<Code>UnknownOperationException</Code>');
});
