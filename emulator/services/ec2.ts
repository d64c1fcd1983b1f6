// EC2: what the actions need to discover networking. A new account's default VPC with two subnets in
// two AZs and its default security group; IDs are fixed so tests and docs can name them.
import { randomBytes } from 'node:crypto';
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

/** A VPC made with CreateVpc (the default VPC is fixed). */
interface Vpc {
  id: string;
  cidr: string;
}

const hexId = (prefix: string) => `${prefix}-${randomBytes(9).toString('hex').slice(0, 17)}`;

export function createEc2Service(ctx: EmulatorContext): ServiceModule & Ec2Network {
  let createdVpcs: Vpc[] = [];
  let createdSubnets: Subnet[] = [];
  const subnets = (): Subnet[] => [
    { id: DEFAULT_SUBNET_IDS[0], vpcId: DEFAULT_VPC_ID, az: `${ctx.region}a`, azId: 'use1-az1', cidr: '172.31.0.0/20' },
    { id: DEFAULT_SUBNET_IDS[1], vpcId: DEFAULT_VPC_ID, az: `${ctx.region}b`, azId: 'use1-az2', cidr: '172.31.16.0/20' },
    ...createdSubnets,
  ];
  const vpcs = (): (Vpc & { isDefault: boolean })[] => [
    { id: DEFAULT_VPC_ID, cidr: '172.31.0.0/16', isDefault: true },
    ...createdVpcs.map((vpc) => ({ ...vpc, isDefault: false })),
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
            vpcs().map((vpc) => vpc.id),
            (id) => new AwsError('InvalidVpcID.NotFound', `The vpc ID '${id}' does not exist`),
          );
          const fs = filters(input);
          const found = vpcs().filter(
            (vpc) =>
              (!ids.length || ids.includes(vpc.id)) &&
              matchFilters(fs, {
                'vpc-id': vpc.id,
                'is-default': String(vpc.isDefault),
                state: 'available',
                'cidr-block': vpc.cidr,
                'owner-id': ctx.accountId,
              }),
          );
          return {
            vpcSet: found.map((vpc) => ({
              vpcId: vpc.id,
              ownerId: ctx.accountId,
              state: 'available',
              cidrBlock: vpc.cidr,
              cidrBlockAssociationSet: [{ associationId: `vpc-cidr-assoc-${vpc.id.slice(4)}`, cidrBlock: vpc.cidr, cidrBlockState: { state: 'associated' } }],
              dhcpOptionsId: 'dopt-0e1a2b3c4d5e6f701',
              instanceTenancy: 'default',
              isDefault: vpc.isDefault,
              tagSet: [],
            })),
          };
        },
      },
      CreateVpc: {
        mutating: true,
        handler: (input) => {
          const cidr = typeof input.CidrBlock === 'string' ? input.CidrBlock : '';
          if (!/^\d{1,3}(?:\.\d{1,3}){3}\/(?:1[6-9]|2[0-8])$/.test(cidr))
            throw new AwsError('InvalidParameterValue', `Value (${cidr}) for parameter cidrBlock is invalid. This is not a valid CIDR block.`);
          const vpc = { id: hexId('vpc'), cidr };
          createdVpcs.push(vpc);
          return {
            vpc: { vpcId: vpc.id, ownerId: ctx.accountId, state: 'pending', cidrBlock: cidr, instanceTenancy: 'default', isDefault: false, tagSet: [] },
          };
        },
      },
      CreateSubnet: {
        mutating: true,
        handler: (input) => {
          const vpcId = typeof input.VpcId === 'string' ? input.VpcId : '';
          const cidr = typeof input.CidrBlock === 'string' ? input.CidrBlock : '';
          if (!createdVpcs.some((vpc) => vpc.id === vpcId) && vpcId !== DEFAULT_VPC_ID)
            throw new AwsError('InvalidVpcID.NotFound', `The vpc ID '${vpcId}' does not exist`);
          const az = typeof input.AvailabilityZone === 'string' ? input.AvailabilityZone : `${ctx.region}a`;
          const subnet: Subnet = { id: hexId('subnet'), vpcId, az, azId: `use1-az${az.endsWith('b') ? 2 : 1}`, cidr };
          createdSubnets.push(subnet);
          return {
            subnet: {
              subnetId: subnet.id,
              vpcId,
              state: 'available',
              cidrBlock: cidr,
              availabilityZone: az,
              availabilityZoneId: subnet.azId,
              ownerId: ctx.accountId,
              defaultForAz: false,
            },
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
                'default-for-az': String(s.vpcId === DEFAULT_VPC_ID),
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
              defaultForAz: s.vpcId === DEFAULT_VPC_ID,
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
    state: () => ({ vpcs: vpcs().map((vpc) => vpc.id), subnets: subnets(), securityGroups: groups() }),
    reset: () => {
      createdVpcs = [];
      createdSubnets = [];
    },
  };
}
