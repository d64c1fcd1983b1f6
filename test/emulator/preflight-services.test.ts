// The read calls provision-platform's preflight makes, answered through the unmodified SDK clients with
// AWS's shapes and error codes: IAM GetRole, Secrets Manager DescribeSecret, SSM GetParameters, and a
// second VPC made with CreateVpc and CreateSubnet.
import { CreateSubnetCommand, CreateVpcCommand, DescribeSubnetsCommand, DescribeVpcsCommand } from '@aws-sdk/client-ec2';
import { CreateRoleCommand, GetRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { CreateSecretCommand, DescribeSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParametersCommand, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type Harness, harness, VPC } from './helpers.ts';

let h: Harness;
let config: { endpoint: string; region: string; credentials: { accessKeyId: string; secretAccessKey: string } };

beforeAll(async () => {
  h = await harness();
  config = { endpoint: h.emu.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } };
});
afterAll(() => h.stop());

const failure = async (call: Promise<unknown>) =>
  call.then(
    () => undefined,
    (error: Error & { $metadata?: { httpStatusCode?: number } }) => [error.name, error.message, error.$metadata?.httpStatusCode],
  );

describe('IAM', () => {
  test("a new account's ecsTaskExecutionRole, its trust policy URL-encoded as IAM sends it; an unknown role is NoSuchEntity", async () => {
    const iam = new IAMClient(config);
    const role = (await iam.send(new GetRoleCommand({ RoleName: 'ecsTaskExecutionRole' }))).Role;
    expect(role?.Arn).toBe('arn:aws:iam::123456789012:role/ecsTaskExecutionRole');
    expect(role?.RoleId).toMatch(/^AROA[A-Z0-9]{17}$/);
    expect(role?.CreateDate).toBeInstanceOf(Date);
    expect(role?.AssumeRolePolicyDocument).toContain('%22ecs-tasks.amazonaws.com%22');
    expect(JSON.parse(decodeURIComponent(role?.AssumeRolePolicyDocument ?? '')).Statement[0].Principal).toEqual({ Service: 'ecs-tasks.amazonaws.com' });
    expect(await failure(iam.send(new GetRoleCommand({ RoleName: 'nobody' })))).toEqual([
      'NoSuchEntityException',
      'The role with name nobody cannot be found.',
      404,
    ]);
  });
  test('CreateRole, then GetRole; the same name again is EntityAlreadyExists', async () => {
    const iam = new IAMClient(config);
    const trust = JSON.stringify({
      Version: '2012-10-17',
      Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
    });
    await iam.send(new CreateRoleCommand({ RoleName: 'fn', Path: '/service/', AssumeRolePolicyDocument: trust }));
    expect((await iam.send(new GetRoleCommand({ RoleName: 'fn' }))).Role?.Arn).toBe('arn:aws:iam::123456789012:role/service/fn');
    expect((await failure(iam.send(new CreateRoleCommand({ RoleName: 'fn', AssumeRolePolicyDocument: trust }))))?.[0]).toBe('EntityAlreadyExistsException');
  });
});

describe('Secrets Manager', () => {
  test('DescribeSecret by ARN (with or without its suffix) and by name; an unknown one is ResourceNotFoundException', async () => {
    const client = new SecretsManagerClient(config);
    const created = await client.send(new CreateSecretCommand({ Name: 'db', SecretString: 'hunter2' }));
    expect(created.ARN).toMatch(/^arn:aws:secretsmanager:us-east-1:123456789012:secret:db-[A-Za-z0-9]{6}$/);
    for (const id of [created.ARN, 'db', created.ARN?.slice(0, -7)]) expect((await client.send(new DescribeSecretCommand({ SecretId: id }))).Name).toBe('db');
    expect(JSON.stringify(await client.send(new DescribeSecretCommand({ SecretId: 'db' })))).not.toContain('hunter2');
    expect(await failure(client.send(new DescribeSecretCommand({ SecretId: 'arn:aws:secretsmanager:us-east-1:123456789012:secret:gone-AbCdEf' })))).toEqual([
      'ResourceNotFoundException',
      "Secrets Manager can't find the specified secret.",
      400,
    ]);
  });
});

describe('SSM', () => {
  test('GetParameters by name and ARN: missing ones in InvalidParameters, not an error', async () => {
    const ssm = new SSMClient(config);
    await ssm.send(new PutParameterCommand({ Name: '/app/db', Value: 's3cret', Type: 'SecureString' }));
    const arn = 'arn:aws:ssm:us-east-1:123456789012:parameter/app/db';
    const answer = await ssm.send(new GetParametersCommand({ Names: [arn, '/app/db', '/app/none'] }));
    expect(answer.Parameters?.map((parameter) => [parameter.Name, parameter.ARN, parameter.Type])).toEqual([
      [arn, arn, 'SecureString'],
      ['/app/db', arn, 'SecureString'],
    ]);
    expect(answer.Parameters?.[0]?.Value).not.toBe('s3cret');
    expect(answer.InvalidParameters).toEqual(['/app/none']);
  });
});

describe('EC2', () => {
  test('a second VPC and subnet: not default, found by ID, the default VPC unchanged', async () => {
    const vpc = (await h.ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }))).Vpc;
    expect(vpc?.VpcId).toMatch(/^vpc-[0-9a-f]{17}$/);
    const subnet = (await h.ec2.send(new CreateSubnetCommand({ VpcId: vpc?.VpcId, CidrBlock: '10.1.0.0/20', AvailabilityZone: 'us-east-1b' }))).Subnet;
    const found = await h.ec2.send(new DescribeSubnetsCommand({ SubnetIds: [subnet?.SubnetId ?? ''] }));
    expect(found.Subnets?.map((s) => [s.VpcId, s.DefaultForAz, s.AvailabilityZone])).toEqual([[vpc?.VpcId, false, 'us-east-1b']]);
    const defaults = await h.ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['true'] }] }));
    expect(defaults.Vpcs?.map((v) => v.VpcId)).toEqual([VPC]);
    expect((await failure(h.ec2.send(new CreateSubnetCommand({ VpcId: 'vpc-0123456789abcdef0', CidrBlock: '10.2.0.0/20' }))))?.[0]).toBe(
      'InvalidVpcID.NotFound',
    );
  });
});
