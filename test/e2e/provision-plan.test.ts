// provision-platform's plan and preflight, run as a runner runs it: a dry run prints exactly what would
// change (old → new) and changes nothing; a real run heads its summary with the same diff; preflight
// refuses what AWS would reject later, naming the resource, before any change.
import { CreateSubnetCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateRepositoryCommand, ECRClient } from '@aws-sdk/client-ecr';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { provisionInputs } from '../helpers/provisioned.ts';
import { describe as describeService, SUBNETS, sharedListener, startWorld, type World } from '../helpers/world.ts';

let world: World;
let listenerArn: string;

beforeAll(async () => {
  // With the registry: ECR answers DescribeImages from it.
  world = await startWorld({ registry: true });
  ({ listenerArn } = await sharedListener(world, 'previews', { https: true }));
});
afterAll(() => world.stop());

const inputs = (environment: string, extra: Record<string, string> = {}) =>
  provisionInputs({ cluster: 'previews', listenerArn }, environment, { 'environment-variables': 'GREETING=hello\nLOG_LEVEL=info', ...extra });
const clientConfig = () => ({ endpoint: world.emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });

/** What the action changed since `before`: its mutating calls. */
async function writesSince(before: number): Promise<string[]> {
  return (await world.calls())
    .slice(before)
    .filter((call) => call.action === 'provision-platform' && call.mutating)
    .map((call) => call.operation);
}

/** The field changes the step printed under the plan's resources, old → new. */
const changeLines = (stdout: string) => stdout.split('\n').flatMap((line) => /^\[[^\]]*\] {3}(\S.* → .*)$/.exec(line)?.[1] ?? []);

/** The summary's plan table, the first thing under its title. */
const planTable = (summary: string) => summary.split('\n\n')[2]?.trim();

test('dry run on an existing environment: exactly the four changed inputs, old → new, and no change; the real run heads its summary with them', async () => {
  expect((await world.run('provision-platform', { inputs: inputs('pr-50') })).exitCode).toBe(0);
  const changed = inputs('pr-50', {
    'container-port': '9090',
    'health-check-path': '/healthz',
    'environment-variables': 'GREETING=bonjour\nLOG_LEVEL=info',
    'desired-count': '3',
  });
  const before = (await world.calls()).length;
  const dry = await world.run('provision-platform', { inputs: { ...changed, 'dry-run': 'true' } });
  expect(dry.exitCode).toBe(0);
  expect(changeLines(dry.stdout)).toEqual([
    'health check path: / → /healthz',
    'container app port: 8080 → 9090',
    'container app env GREETING: hello → bonjour',
    'desired count: 2 → 3',
  ]);
  expect(await writesSince(before)).toEqual([]);
  expect(dry.summary.split('\n')[2]).toBe('**Plan** (dry run: nothing was changed)');
  expect((await describeService(world, 'previews', 'pr-50'))?.desiredCount).toBe(2);

  const real = await world.run('provision-platform', { inputs: changed });
  expect(real.exitCode).toBe(0);
  expect(changeLines(real.stdout)).toEqual(changeLines(dry.stdout));
  expect(real.summary.split('\n')[2]).toBe('**Plan**');
  expect(planTable(real.summary)).toBe(planTable(dry.summary));
  expect(planTable(real.summary)).toContain('| target group | previews-pr-50-');
  expect(planTable(real.summary)).toContain('| change | health check path: / → /healthz |');
  const service = await describeService(world, 'previews', 'pr-50');
  expect(service?.desiredCount).toBe(3);
  expect(service?.loadBalancers?.[0]?.containerPort).toBe(9090);
});

test('enable-execute-command turns ECS Exec on for the service', async () => {
  const run = await world.run('provision-platform', { inputs: inputs('pr-51', { 'enable-execute-command': 'true' }) });
  expect(run.exitCode).toBe(0);
  expect((await describeService(world, 'previews', 'pr-51'))?.enableExecuteCommand).toBe(true);
  const off = await world.run('provision-platform', { inputs: inputs('pr-51', { 'dry-run': 'true' }) });
  expect(changeLines(off.stdout)).toEqual(['execute command: enabled → disabled']);
});

test('preflight: an image ECR lacks, a missing or untrusting role, a missing secret, subnets of two VPCs: each refused by name, nothing changed', async () => {
  await new ECRClient(clientConfig()).send(new CreateRepositoryCommand({ repositoryName: 'web' }));
  await new IAMClient(clientConfig()).send(
    new CreateRoleCommand({
      RoleName: 'lambdaRole',
      AssumeRolePolicyDocument: JSON.stringify({
        Version: '2012-10-17',
        Statement: [{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }],
      }),
    }),
  );
  const ec2 = new EC2Client(clientConfig());
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: '10.1.0.0/16' }));
  const other = await ec2.send(new CreateSubnetCommand({ VpcId: vpc.Vpc?.VpcId, CidrBlock: '10.1.0.0/20', AvailabilityZone: 'us-east-1a' }));
  const otherSubnet = other.Subnet?.SubnetId ?? '';

  const image = '123456789012.dkr.ecr.us-east-1.amazonaws.com/web:no-such-tag';
  const missingSecret = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:nowhere-AbCdEf';
  const cases: [Record<string, string>, RegExp][] = [
    [{ image }, /image 123456789012\.dkr\.ecr\.us-east-1\.amazonaws\.com\/web:no-such-tag: ECR repository web has no image tagged no-such-tag/],
    [
      { 'execution-role-arn': 'arn:aws:iam::123456789012:role/noSuchRole' },
      /role arn:aws:iam::123456789012:role\/noSuchRole \(execution-role-arn\): does not exist/,
    ],
    [
      { 'task-role-arn': 'arn:aws:iam::123456789012:role/lambdaRole' },
      /role arn:aws:iam::123456789012:role\/lambdaRole \(task-role-arn\): its trust policy does not let ecs-tasks\.amazonaws\.com assume it/,
    ],
    [{ secrets: `DB_PASSWORD=${missingSecret}` }, /secret DB_PASSWORD: its reference leads to no Secrets Manager secret/],
    [{ secrets: 'API_KEY=arn:aws:ssm:us-east-1:123456789012:parameter/app/none' }, /secret API_KEY: its reference leads to no SSM parameter/],
    [{ subnets: `${SUBNETS[0]},${otherSubnet}` }, new RegExp(`subnets and security-groups: are in 2 VPCs .*${otherSubnet} in ${vpc.Vpc?.VpcId}`)],
  ];
  for (const [index, [extra, refusal]] of cases.entries()) {
    const before = (await world.calls()).length;
    const run = await world.run('provision-platform', { inputs: inputs(`pr-6${index}`, extra) });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(refusal);
    expect(run.stdout).toContain('nothing was changed');
    // The secret's ARN is a reference, not shown: the refusal names the secret.
    expect(run.stdout).not.toContain(missingSecret.replace('arn:aws:', ''));
    expect(await writesSince(before)).toEqual([]);
  }
});
