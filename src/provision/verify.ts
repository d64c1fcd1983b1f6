// Preflight (verify: true): before anything changes, what AWS would otherwise reject minutes later, in the
// middle of a deployment: an image ECR does not have, a role that is missing or does not trust ECS tasks,
// a secret reference that leads nowhere, a log group nobody creates, a network spread over two VPCs.
// Read calls only; only what the plan is about to use is checked, and each client is loaded when needed.
import { type CloudWatchLogsClient, DescribeLogGroupsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { type AwsSettings, awsCall, type ClientConfig, createClient, sdkErrorName, wrapAwsError } from '../aws.ts';
import { ActionError } from '../errors.ts';
import { splitArn } from '../inputs.ts';
import type { Progress } from '../report.ts';
import { toContainer } from './observe.ts';
import { type ProvisionPlan, step } from './plan.ts';

interface Problem {
  resource: string;
  problem: string;
  fix: string;
}

const ecrImage = /^(\d{12})\.dkr\.ecr\.([a-z0-9-]+)\.amazonaws\.com(?:\.cn)?\/([^:@]+)(?::([\w][\w.-]{0,127}))?(?:@(sha256:[0-9a-f]{64}))?$/;

/** The ECR image a container runs, when it is one this region's ECR can be asked about. */
export function ecrReference(image: string, region: string): { registryId: string; repositoryName: string; tag?: string; digest?: string } | undefined {
  const match = ecrImage.exec(image);
  if (!match || match[2] !== region) return undefined;
  const [, registryId = '', , repositoryName = '', tag, digest] = match;
  return { registryId, repositoryName, ...(digest ? { digest } : { tag: tag ?? 'latest' }) };
}

async function checkImage(settings: AwsSettings, image: string): Promise<Problem[]> {
  const reference = ecrReference(image, settings.region);
  if (!reference) return [];
  const { ECRClient, DescribeImagesCommand } = await import('@aws-sdk/client-ecr');
  const ecr = createClient(ECRClient, settings);
  const imageId = reference.digest ? { imageDigest: reference.digest } : { imageTag: reference.tag };
  try {
    await ecr.send(new DescribeImagesCommand({ registryId: reference.registryId, repositoryName: reference.repositoryName, imageIds: [imageId] }));
    return [];
  } catch (error) {
    const name = sdkErrorName(error);
    if (name === 'ImageNotFoundException')
      return [
        {
          resource: `image ${image}`,
          problem: `ECR repository ${reference.repositoryName} has no image ${reference.digest ?? `tagged ${reference.tag}`}.`,
          fix: 'push the image first (build-push-ecr), or correct the image tag.',
        },
      ];
    if (name === 'RepositoryNotFoundException')
      return [
        {
          resource: `image ${image}`,
          problem: `ECR has no repository ${reference.repositoryName}.`,
          fix: 'create the repository and push the image, or correct the image.',
        },
      ];
    throw wrapAwsError('DescribeImages', image, error);
  }
}

/** Whether a trust policy lets `service` assume the role. */
export function trusts(document: string, service: string): boolean {
  const policy = JSON.parse(decodeURIComponent(document)) as { Statement?: unknown };
  const statements = (Array.isArray(policy.Statement) ? policy.Statement : [policy.Statement]) as {
    Effect?: string;
    Action?: string | string[];
    Principal?: { Service?: string | string[] };
  }[];
  const list = (value: string | string[] | undefined) => (Array.isArray(value) ? value : value ? [value] : []);
  return statements.some(
    (statement) =>
      statement?.Effect === 'Allow' &&
      list(statement.Principal?.Service).includes(service) &&
      list(statement.Action).some((action) => action === 'sts:AssumeRole' || action === 'sts:*' || action === '*'),
  );
}

async function checkRoles(settings: AwsSettings, roles: { input: string; arn: string; service: string }[]): Promise<Problem[]> {
  if (roles.length === 0) return [];
  const { IAMClient, GetRoleCommand } = await import('@aws-sdk/client-iam');
  const iam = createClient(IAMClient, settings);
  const checked = await Promise.all(
    roles.map(async ({ input, arn, service }): Promise<Problem[]> => {
      const name = arn.split('/').pop() ?? arn;
      try {
        const found = await iam.send(new GetRoleCommand({ RoleName: name }));
        const document = found.Role?.AssumeRolePolicyDocument;
        if (!document) throw new ActionError(`GetRole returned no trust policy for role ${name}.`, 'retry the step; if it persists, report it.');
        if (trusts(document, service)) return [];
        return [
          {
            resource: `role ${arn} (${input})`,
            problem: `its trust policy does not let ${service} assume it.`,
            fix: `add a trust policy statement allowing the service principal ${service} the action sts:AssumeRole.`,
          },
        ];
      } catch (error) {
        // The wire code is NoSuchEntity; the SDK names the error after its model's shape.
        if (!['NoSuchEntity', 'NoSuchEntityException'].includes(sdkErrorName(error) ?? ''))
          throw error instanceof ActionError ? error : wrapAwsError('GetRole', name, error);
        return [{ resource: `role ${arn} (${input})`, problem: 'does not exist.', fix: `create the role (trusted by ${service}) or correct ${input}.` }];
      }
    }),
  );
  return checked.flat();
}

// A secret may live in another region: ECS reads it by full ARN, and so does the check.
const clientIn = <C>(Client: new (config: ClientConfig) => C, settings: AwsSettings, region: string) => createClient(Client, { ...settings, region });

/** Secrets by name only; a reference is Secrets Manager (by ARN, maybe with a JSON key) or SSM (ARN or name). */
async function checkSecrets(settings: AwsSettings, secrets: { name: string; valueFrom: string }[]): Promise<Problem[]> {
  const problems: Problem[] = [];
  const missing = (name: string, where: string): Problem => ({
    resource: `secret ${name}`,
    problem: `its reference leads to no ${where}.`,
    fix: `create it, or correct the reference given for ${name}.`,
  });
  const managers = secrets.filter((secret) => splitArn(secret.valueFrom)?.service === 'secretsmanager');
  const parameters = secrets.filter((secret) => !managers.includes(secret));
  if (managers.length > 0) {
    const { SecretsManagerClient, DescribeSecretCommand } = await import('@aws-sdk/client-secrets-manager');
    const found = await Promise.all(
      managers.map(async (secret) => {
        // arn:aws:secretsmanager:region:account:secret:name-AbCdEf[:json-key:version-stage:version-id]
        const arn = secret.valueFrom.split(':').slice(0, 7).join(':');
        const client = clientIn(SecretsManagerClient, settings, splitArn(arn)?.region || settings.region);
        try {
          await client.send(new DescribeSecretCommand({ SecretId: arn }));
          return undefined;
        } catch (error) {
          if (sdkErrorName(error) === 'ResourceNotFoundException') return missing(secret.name, 'Secrets Manager secret');
          throw wrapAwsError('DescribeSecret', `secret ${secret.name}`, error);
        }
      }),
    );
    problems.push(...found.filter((problem) => problem !== undefined));
  }
  if (parameters.length > 0) {
    const { SSMClient, GetParametersCommand } = await import('@aws-sdk/client-ssm');
    const byRegion = Map.groupBy(parameters, (secret) => splitArn(secret.valueFrom)?.region || settings.region);
    for (const [region, inRegion] of byRegion) {
      const client = clientIn(SSMClient, settings, region);
      for (let i = 0; i < inRegion.length; i += 10) {
        const batch = inRegion.slice(i, i + 10);
        const names = batch.map((secret) => secret.valueFrom);
        const answer = await awsCall('GetParameters', `${batch.length} SSM parameter(s)`, () => client.send(new GetParametersCommand({ Names: names })));
        const invalid = new Set(answer.InvalidParameters ?? []);
        problems.push(...batch.filter((secret) => invalid.has(secret.valueFrom)).map((secret) => missing(secret.name, 'SSM parameter')));
      }
    }
  }
  return problems;
}

async function checkLogGroups(logs: CloudWatchLogsClient, groups: string[]): Promise<Problem[]> {
  const checked = await Promise.all(
    groups.map(async (group): Promise<Problem[]> => {
      const listed = await awsCall('DescribeLogGroups', group, () => logs.send(new DescribeLogGroupsCommand({ logGroupNamePrefix: group })));
      if (listed.logGroups?.some((found) => found.logGroupName === group)) return [];
      return [
        {
          resource: `log group ${group}`,
          problem: 'does not exist, and the task definition does not ask awslogs to create it: every task would fail to start.',
          fix: 'create the log group, set awslogs-create-group to "true", or log to the environment\'s own group.',
        },
      ];
    }),
  );
  return checked.flat();
}

async function checkNetwork(settings: AwsSettings, subnets: string[], securityGroups: string[]): Promise<Problem[]> {
  const { EC2Client, DescribeSubnetsCommand, DescribeSecurityGroupsCommand } = await import('@aws-sdk/client-ec2');
  const ec2 = createClient(EC2Client, settings);
  const read = async <T>(operation: string, ids: string[], notFound: string, call: () => Promise<T>): Promise<T | Problem> => {
    try {
      return await call();
    } catch (error) {
      if (sdkErrorName(error) === notFound)
        return {
          resource: ids.join(', '),
          problem: error instanceof Error ? `${error.message}.` : 'not found.',
          fix: 'give subnets and security-groups that exist in this account and region.',
        };
      throw wrapAwsError(operation, ids.join(', '), error);
    }
  };
  const [foundSubnets, foundGroups] = await Promise.all([
    read('DescribeSubnets', subnets, 'InvalidSubnetID.NotFound', () => ec2.send(new DescribeSubnetsCommand({ SubnetIds: subnets }))),
    read('DescribeSecurityGroups', securityGroups, 'InvalidGroup.NotFound', () => ec2.send(new DescribeSecurityGroupsCommand({ GroupIds: securityGroups }))),
  ]);
  const problems = [foundSubnets, foundGroups].filter((found): found is Problem => 'problem' in found);
  if (problems.length > 0) return problems;
  const vpcOf = new Map<string, string>();
  if ('Subnets' in foundSubnets) for (const subnet of foundSubnets.Subnets ?? []) vpcOf.set(subnet.SubnetId ?? '?', subnet.VpcId ?? '?');
  if ('SecurityGroups' in foundGroups) for (const group of foundGroups.SecurityGroups ?? []) vpcOf.set(group.GroupId ?? '?', group.VpcId ?? '?');
  const vpcs = new Set(vpcOf.values());
  if (vpcs.size <= 1) return [];
  return [
    {
      resource: 'subnets and security-groups',
      problem: `are in ${vpcs.size} VPCs (${[...vpcOf].map(([id, vpc]) => `${id} in ${vpc}`).join(', ')}); a task's network interface lives in one.`,
      fix: 'give subnets and security groups of one VPC.',
    },
  ];
}

/** The network of the ALB that routes the environment, as far as it is known: its subnets and security groups exist, in one VPC. */
function routingNetwork(plan: ProvisionPlan): { subnets: string[]; securityGroups: string[] } | undefined {
  const routing = plan.snapshot.routing;
  if (routing.kind === 'listener') return routing.loadBalancer;
  if (routing.kind === 'shared') return routing.found?.loadBalancer;
  const balancer = routing.placed?.loadBalancer;
  return (
    balancer && {
      subnets: (balancer.AvailabilityZones ?? []).flatMap((zone) => (zone.SubnetId ? [zone.SubnetId] : [])),
      securityGroups: balancer.SecurityGroups ?? [],
    }
  );
}

/** Refuses the plan, naming each resource and its fix, when AWS would reject what it is about to use. */
export async function verify(settings: AwsSettings, plan: ProvisionPlan, progress: Progress, logs: CloudWatchLogsClient): Promise<void> {
  const { desired } = plan;
  const { spec, registration } = desired;
  const revision = step(plan, 'task definition')?.action !== 'keep';
  const service = step(plan, 'service');
  // Subnets and security groups the ALB already uses need no EC2 call (and no EC2 client loaded).
  const alb = routingNetwork(plan);
  const onAlb =
    alb !== undefined &&
    spec.network.subnets.every((id) => alb.subnets.includes(id)) &&
    spec.network.securityGroups.every((id) => alb.securityGroups.includes(id));
  const network = !onAlb && (service?.action === 'create' || (service?.diff.some((change) => ['subnets', 'security groups'].includes(change.field)) ?? false));
  const containers = revision ? registration.containerDefinitions.map((container) => toContainer(container, 'the task definition')) : [];
  const roles = [
    ...(registration.executionRoleArn ? [{ input: 'execution-role-arn', arn: registration.executionRoleArn, service: 'ecs-tasks.amazonaws.com' }] : []),
    ...(registration.taskRoleArn ? [{ input: 'task-role-arn', arn: registration.taskRoleArn, service: 'ecs-tasks.amazonaws.com' }] : []),
  ];
  // The environment's own log group is in the plan; another named in a task-definition file must exist already.
  const otherGroups = [...new Set(containers.flatMap((container) => (container.logGroup && !container.createsLogGroup ? [container.logGroup] : [])))].filter(
    (group) => group !== desired.names.logGroup,
  );
  const secrets = containers.flatMap((container) => Object.entries(container.secrets).map(([name, valueFrom]) => ({ name, valueFrom })));
  if (!revision && !network) return;
  progress.phase('Preflight: what AWS would reject later');
  const found = await Promise.all([
    ...containers.map((container) => checkImage(settings, container.image)),
    revision ? checkRoles(settings, roles) : [],
    checkSecrets(settings, secrets),
    checkLogGroups(logs, otherGroups),
    network ? checkNetwork(settings, spec.network.subnets, spec.network.securityGroups) : [],
  ]);
  const problems = found.flat();
  if (problems.length === 0) {
    progress.line('images, roles, secrets, log groups and network: as AWS needs them');
    return;
  }
  throw new ActionError(
    `Preflight found ${problems.length} problem(s); nothing was changed:\n${problems.map((problem) => `- ${problem.resource}: ${problem.problem} Fix: ${problem.fix}`).join('\n')}`,
    problems.length === 1 ? (problems[0]?.fix ?? '') : 'fix each problem listed above, then run the step again.',
  );
}
