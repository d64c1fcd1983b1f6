// EC2: what the actions need to discover networking. A new account's default VPC with two subnets in
// two AZs and its default security group; IDs are fixed so tests and docs can name them.
import { AwsError, type EmulatorContext, type ServiceModule } from '../core/types.ts';

export const DEFAULT_VPC_ID = 'vpc-0e1a2b3c4d5e6f701';
export const DEFAULT_SUBNET_IDS = ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'] as const;
export const DEFAULT_SECURITY_GROUP_ID = 'sg-0a1b2c3d4e5f60001';

export interface Subnet {
  id: string;
  vpcId: string;
  az: string;
  azId: string;
  cidr: string;
}

export interface SecurityGroup {
  id: string;
  vpcId: string;
  name: string;
  description: string;
}

export interface Ec2Network {
  subnet(id: string): Subnet | undefined;
  securityGroup(id: string): SecurityGroup | undefined;
}

type Filter = { Name?: string; Value?: string[] };

function filters(input: Record<string, unknown>): Filter[] {
  return Array.isArray(input.Filter) ? (input.Filter as Filter[]) : [];
}

function list(value: unknown): string[] {
  return Array.isArray(value) ? value.map(String) : [];
}

export function createEc2Service(ctx: EmulatorContext): ServiceModule & Ec2Network {
  const subnets = (): Subnet[] => [
    { id: DEFAULT_SUBNET_IDS[0], vpcId: DEFAULT_VPC_ID, az: `${ctx.region}a`, azId: 'use1-az1', cidr: '172.31.0.0/20' },
    { id: DEFAULT_SUBNET_IDS[1], vpcId: DEFAULT_VPC_ID, az: `${ctx.region}b`, azId: 'use1-az2', cidr: '172.31.16.0/20' },
  ];
  const groups = (): SecurityGroup[] => [{ id: DEFAULT_SECURITY_GROUP_ID, vpcId: DEFAULT_VPC_ID, name: 'default', description: 'default VPC security group' }];

  /** EC2's rule: every filter must match (values within one filter are ORed). */
  const matchFilters = (fs: Filter[], fields: Record<string, string>): boolean =>
    fs.every((f) => {
      const actual = fields[f.Name ?? ''];
      if (actual === undefined) throw new AwsError('InvalidParameterValue', `The filter '${f.Name}' is invalid`);
      return list(f.Value).includes(actual);
    });

  function checkIds(ids: string[], pattern: RegExp, malformedCode: string, known: string[], notFound: (id: string) => AwsError): void {
    for (const id of ids) {
      if (!pattern.test(id)) throw new AwsError(malformedCode, `Invalid id: "${id}"`);
    }
    const missing = ids.filter((id) => !known.includes(id));
    if (missing.length) throw notFound(missing.join(', '));
  }

  return {
    name: 'ec2',
    protocol: 'ec2',
    apiVersion: '2016-11-15',
    subnet: (id) => subnets().find((s) => s.id === id),
    securityGroup: (id) => groups().find((g) => g.id === id),
    operations: {
      DescribeVpcs: {
        mutating: false,
        handler: (input) => {
          const ids = list(input.VpcId);
          checkIds(
            ids,
            /^vpc-[0-9a-f]{8,17}$/,
            'InvalidVpcID.Malformed',
            [DEFAULT_VPC_ID],
            (id) => new AwsError('InvalidVpcID.NotFound', `The vpc ID '${id}' does not exist`),
          );
          const fs = filters(input);
          const vpcs = [DEFAULT_VPC_ID].filter(
            (id) =>
              (!ids.length || ids.includes(id)) &&
              matchFilters(fs, { 'vpc-id': id, 'is-default': 'true', state: 'available', 'cidr-block': '172.31.0.0/16', 'owner-id': ctx.accountId }),
          );
          return {
            vpcSet: vpcs.map((id) => ({
              vpcId: id,
              ownerId: ctx.accountId,
              state: 'available',
              cidrBlock: '172.31.0.0/16',
              cidrBlockAssociationSet: [
                { associationId: 'vpc-cidr-assoc-0e1a2b3c4d5e6f701', cidrBlock: '172.31.0.0/16', cidrBlockState: { state: 'associated' } },
              ],
              dhcpOptionsId: 'dopt-0e1a2b3c4d5e6f701',
              instanceTenancy: 'default',
              isDefault: true,
              tagSet: [],
            })),
          };
        },
      },
      DescribeSubnets: {
        mutating: false,
        handler: (input) => {
          const ids = list(input.SubnetId);
          checkIds(
            ids,
            /^subnet-[0-9a-f]{8,17}$/,
            'InvalidSubnetID.Malformed',
            subnets().map((s) => s.id),
            (id) => new AwsError('InvalidSubnetID.NotFound', `The subnet ID '${id}' does not exist`),
          );
          const fs = filters(input);
          const found = subnets().filter(
            (s) =>
              (!ids.length || ids.includes(s.id)) &&
              matchFilters(fs, {
                'vpc-id': s.vpcId,
                'subnet-id': s.id,
                'availability-zone': s.az,
                'default-for-az': 'true',
                state: 'available',
                'cidr-block': s.cidr,
                'owner-id': ctx.accountId,
              }),
          );
          return {
            subnetSet: found.map((s) => ({
              subnetId: s.id,
              subnetArn: `arn:aws:ec2:${ctx.region}:${ctx.accountId}:subnet/${s.id}`,
              state: 'available',
              vpcId: s.vpcId,
              ownerId: ctx.accountId,
              cidrBlock: s.cidr,
              availableIpAddressCount: 4091,
              availabilityZone: s.az,
              availabilityZoneId: s.azId,
              defaultForAz: true,
              mapPublicIpOnLaunch: true,
              tagSet: [],
            })),
          };
        },
      },
      DescribeSecurityGroups: {
        mutating: false,
        handler: (input) => {
          const ids = list(input.GroupId);
          checkIds(
            ids,
            /^sg-[0-9a-f]{8,17}$/,
            'InvalidGroupId.Malformed',
            groups().map((g) => g.id),
            (id) => new AwsError('InvalidGroup.NotFound', `The security group '${id}' does not exist`),
          );
          const names = list(input.GroupName);
          const unknownName = names.find((n) => !groups().some((g) => g.name === n));
          if (unknownName) {
            throw new AwsError('InvalidGroup.NotFound', `The security group '${unknownName}' does not exist in default VPC '${DEFAULT_VPC_ID}'`);
          }
          const fs = filters(input);
          const found = groups().filter(
            (g) =>
              (!ids.length || ids.includes(g.id)) &&
              (!names.length || names.includes(g.name)) &&
              matchFilters(fs, { 'vpc-id': g.vpcId, 'group-id': g.id, 'group-name': g.name, 'owner-id': ctx.accountId }),
          );
          return {
            securityGroupInfo: found.map((g) => ({
              ownerId: ctx.accountId,
              groupId: g.id,
              groupName: g.name,
              groupDescription: g.description,
              vpcId: g.vpcId,
              securityGroupArn: `arn:aws:ec2:${ctx.region}:${ctx.accountId}:security-group/${g.id}`,
              ipPermissions: [{ ipProtocol: '-1', groups: [{ groupId: g.id, userId: ctx.accountId }], ipRanges: [], ipv6Ranges: [], prefixListIds: [] }],
              ipPermissionsEgress: [{ ipProtocol: '-1', groups: [], ipRanges: [{ cidrIp: '0.0.0.0/0' }], ipv6Ranges: [], prefixListIds: [] }],
              tagSet: [],
            })),
          };
        },
      },
    },
    state: () => ({ vpcs: [DEFAULT_VPC_ID], subnets: subnets(), securityGroups: groups() }),
    reset: () => {},
  };
}
