// provision-platform: the inputs, validated and typed into a ProvisionSpec (nothing else).
import { currentRepository } from '../environment.ts';
import { InputError, type InputProblem } from '../errors.ts';
import { type PullRequestRef, pullRequestOfEvent } from '../github.ts';
import {
  arn,
  arnResource,
  boolean,
  choice,
  duration,
  ecsName,
  ecsResource,
  environmentName,
  imageReference,
  integer,
  keyValue,
  list,
  optional,
  type Parser,
  partitionOf,
  pullRequestReference,
  readInputs,
  required,
  runnerFile,
  secret,
  securityGroupId,
  splitArn,
  subnetId,
  text,
  withDefault,
} from '../inputs.ts';
import type { CapacityProvider, ProvisionSpec } from '../provision/spec.ts';

/** Fargate's valid memory (MiB) for each CPU size (units), from the ECS task-size table. */
const fargateMemory: Record<number, (memory: number) => boolean> = {
  256: (m) => [512, 1024, 2048].includes(m),
  512: (m) => m >= 1024 && m <= 4096 && m % 1024 === 0,
  1024: (m) => m >= 2048 && m <= 8192 && m % 1024 === 0,
  2048: (m) => m >= 4096 && m <= 16384 && m % 1024 === 0,
  4096: (m) => m >= 8192 && m <= 30720 && m % 1024 === 0,
  8192: (m) => m >= 16384 && m <= 61440 && m % 4096 === 0,
  16384: (m) => m >= 32768 && m <= 122880 && m % 8192 === 0,
};

const logRetentionDays = [
  '1',
  '3',
  '5',
  '7',
  '14',
  '30',
  '60',
  '90',
  '120',
  '150',
  '180',
  '365',
  '400',
  '545',
  '731',
  '1096',
  '1827',
  '2192',
  '2557',
  '2922',
  '3288',
  '3653',
] as const;

const listenerArn = arn('elasticloadbalancing', 'listener/app/', 'an ALB listener');

/** A pool name (the value of the ALBs' pool tag; ALB names `<pool>-<n>` must fit 32 characters), or listener ARNs. */
function loadBalancerPool(): Parser<string | string[]> {
  const name = text({
    maxLength: 28,
    pattern: /^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/,
    expected: 'a pool name (letters, digits, hyphens) or listener ARNs',
  });
  return (raw, context) => (raw.includes('arn:') ? list(listenerArn, { maxItems: 50 })(raw, context) : name(raw, context));
}

export const provisionPlatformInputs = {
  environment: required(environmentName()),
  cluster: required(ecsResource('cluster')),
  'listener-arn': optional(listenerArn),
  'load-balancer-pool': optional(loadBalancerPool()),
  'grow-pool': withDefault('false', boolean()),
  'hosted-zone-id': optional(text({ pattern: /^(?:\/hostedzone\/)?Z[A-Z0-9]{1,31}$/, expected: 'a Route 53 hosted zone ID such as Z0123456789ABCDEFGHIJ' })),
  'certificate-arn': optional(arn('acm', 'certificate/', 'an ACM certificate')),
  'load-balancer-subnets': optional(list(subnetId())),
  'load-balancer-security-groups': optional(list(securityGroupId())),
  'host-pattern': required(
    text({
      maxLength: 253,
      // Every environment needs a host of its own: a pattern without {env} would give them all one.
      pattern: /^[a-z0-9-]*\{env\}[a-z0-9-]*(?:\.[a-z0-9-]+)+$/,
      expected: 'a host name containing {env}, which stands for the environment, such as {env}.preview.example.com',
    }),
  ),
  'path-pattern': optional(text({ maxLength: 128, pattern: /^\/[A-Za-z0-9_\-.$/~"'@:+*?&]*$/, expected: 'a path pattern starting with /, such as /api/*' })),
  image: optional(imageReference()),
  'task-definition': optional(runnerFile()),
  'execution-role-arn': optional(arn('iam', 'role/', 'an IAM role')),
  'task-role-arn': optional(arn('iam', 'role/', 'an IAM role')),
  'container-name': withDefault('app', ecsName('container')),
  'container-port': withDefault('80', integer({ min: 1, max: 65535 })),
  subnets: required(list(subnetId(), { maxItems: 16 })),
  'security-groups': required(list(securityGroupId(), { maxItems: 5 })),
  'assign-public-ip': withDefault('false', boolean()),
  'health-check-path': withDefault(
    '/',
    text({ maxLength: 1024, pattern: /^\/[\x21-\x7e]*$/, expected: 'a path starting with /, in visible ASCII (percent-encode anything else)' }),
  ),
  'health-check-matcher': withDefault(
    '200-399',
    text({ pattern: /^\d{3}(?:-\d{3})?(?:,\d{3}(?:-\d{3})?)*$/, expected: 'HTTP codes such as 200, 200-399 or 200,302' }),
  ),
  'health-check-interval': withDefault('15s', duration({ min: 5, max: 300 })),
  'health-check-grace-period': withDefault('60s', duration({ min: 0, max: 2147483647 })),
  'deregistration-delay': withDefault('30s', duration({ min: 0, max: 3600 })),
  'desired-count': withDefault('1', integer({ min: 0, max: 5000 })),
  cpu: withDefault('256', integer({ min: 256, max: 16384 })),
  memory: withDefault('512', integer({ min: 512, max: 122880 })),
  'capacity-provider-strategy': withDefault(
    'FARGATE',
    list(text({ pattern: /^FARGATE(?:_SPOT)?(?::\d{1,4})?$/, expected: 'FARGATE or FARGATE_SPOT, each with an optional :weight' })),
  ),
  'environment-variables': optional(list(keyValue())),
  secrets: optional(list(keyValue())),
  'log-retention-days': withDefault('14', choice(logRetentionDays)),
  'container-insights': withDefault('false', boolean()),
  ttl: optional(duration({ min: 600, max: 90 * 86400 })),
  'pull-request': optional(pullRequestReference()),
  'github-token': optional(secret()),
  timeout: withDefault('15m', duration({ min: 30, max: 6 * 3600 })),
  'dry-run': withDefault('false', boolean()),
  strategy: withDefault('rolling', choice(['rolling', 'blue-green'] as const)),
  'infrastructure-role-arn': optional(arn('iam', 'role/', 'an IAM role')),
  verify: withDefault('true', boolean()),
  'enable-execute-command': withDefault('false', boolean()),
};

/** A Secrets Manager secret or SSM parameter ARN; another region or account is allowed (ECS reads them by full ARN). */
function isSecretReference(reference: string, region: string | undefined): boolean {
  const parsed = splitArn(reference);
  if (!parsed?.region || !parsed.account || !arnResource.test(parsed.resource)) return false;
  if (region && parsed.partition !== partitionOf(region)) return false;
  return (
    (parsed.service === 'secretsmanager' && parsed.resource.startsWith('secret:')) || (parsed.service === 'ssm' && parsed.resource.startsWith('parameter/'))
  );
}

export interface ProvisionPlatformInputs {
  spec: ProvisionSpec;
  dryRun: boolean;
  verify: boolean;
  githubToken: string | undefined;
}

export function readProvisionPlatformInputs(env: NodeJS.ProcessEnv = process.env): ProvisionPlatformInputs {
  const config = readInputs(provisionPlatformInputs);
  const problems: InputProblem[] = [];
  // Recorded on the environment so a sweep can tell when the pull request is closed.
  let pullRequest: PullRequestRef | undefined = pullRequestOfEvent(env);
  if (config.pullRequest) {
    const [owner, repo] = config.pullRequest.owner ? [config.pullRequest.owner, config.pullRequest.repo] : (env.GITHUB_REPOSITORY ?? '').split('/');
    if (owner && repo) pullRequest = { owner, repo, number: config.pullRequest.number };
    else
      problems.push({
        input: 'pull-request',
        problem: `#${config.pullRequest.number} names no repository, and GITHUB_REPOSITORY is not set.`,
        fix: 'write it as owner/repo#number.',
      });
  }
  if (!config.image === !config.taskDefinition) {
    problems.push({
      input: 'image',
      problem: 'give exactly one of image and task-definition.',
      fix: 'set image to the image to run, or task-definition to a task-definition JSON file.',
    });
  }
  if (config.image && !config.executionRoleArn) {
    problems.push({
      input: 'execution-role-arn',
      problem: 'is required with image: Fargate needs a task execution role to pull the image and send logs to CloudWatch.',
      fix: 'give the ARN of a role with the AmazonECSTaskExecutionRolePolicy (and read access to your secrets).',
    });
  }
  if (config.strategy === 'blue-green' && !config.infrastructureRoleArn) {
    problems.push({
      input: 'infrastructure-role-arn',
      problem: 'is required with strategy: blue-green: ECS shifts traffic on the listener rule with this role.',
      fix: 'give the ARN of a role ECS can assume (ecs.amazonaws.com) with the AmazonECSInfrastructureRolePolicyForLoadBalancers policy.',
    });
  }
  if (config.strategy === 'rolling' && config.infrastructureRoleArn) {
    problems.push({
      input: 'infrastructure-role-arn',
      problem: 'is used only with strategy: blue-green.',
      fix: 'set strategy: blue-green, or leave infrastructure-role-arn out.',
    });
  }
  if (config.listenerArn && config.loadBalancerPool) {
    problems.push({
      input: 'load-balancer-pool',
      problem: 'cannot be combined with listener-arn.',
      fix: 'give listener-arn for one listener, or load-balancer-pool for a pool of ALBs.',
    });
  }
  if (config.growPool && typeof config.loadBalancerPool !== 'string') {
    problems.push({
      input: 'grow-pool',
      problem: 'needs load-balancer-pool to be a pool name: an ALB it adds joins the pool by its tag.',
      fix: "set load-balancer-pool to a name such as previews, and tag the pool's ALBs ecs-deploy-actions:pool=<name>.",
    });
  }
  if (!config.listenerArn && !config.loadBalancerPool) {
    if (!config.certificateArn)
      problems.push({
        input: 'certificate-arn',
        problem: 'is required when no listener-arn is given (a shared HTTPS load balancer is created).',
        fix: 'give an ACM certificate ARN, or the listener-arn of an existing load balancer.',
      });
    if (!config.loadBalancerSubnets)
      problems.push({
        input: 'load-balancer-subnets',
        problem: 'is required when no listener-arn is given.',
        fix: 'list the public subnets for the shared load balancer, in at least two availability zones.',
      });
  }
  if (!fargateMemory[config.cpu]?.(config.memory)) {
    problems.push({
      input: 'memory',
      problem: `${config.memory} MiB is not a valid Fargate size for cpu ${config.cpu}.`,
      fix: 'pick a cpu/memory pair from the Fargate task-size table, for example cpu 256 with memory 512, 1024 or 2048.',
    });
  }
  // The one place the strategy string is read: FARGATE_SPOT:3 -> { FARGATE_SPOT, 3 }; a bare name weighs 1.
  const capacityProviderStrategy = config.capacityProviderStrategy.map((item) => {
    const [provider, weight = '1'] = item.split(':');
    return { capacityProvider: provider as CapacityProvider, weight: Number(weight) };
  });
  if (
    new Set(capacityProviderStrategy.map((share) => share.capacityProvider)).size < capacityProviderStrategy.length ||
    capacityProviderStrategy.every((share) => share.weight === 0)
  ) {
    problems.push({
      input: 'capacity-provider-strategy',
      problem: 'names a capacity provider twice, or gives every one weight 0.',
      fix: 'name each of FARGATE and FARGATE_SPOT at most once, at least one with a weight above 0, such as FARGATE_SPOT:3,FARGATE:1.',
    });
  }
  const environmentSize = (config.environmentVariables ?? []).reduce((total, [name, value]) => total + name.length + value.length, 0);
  if (environmentSize > 64 * 1024) {
    problems.push({
      input: 'environment-variables',
      problem: `holds ${environmentSize} characters; a task definition has at most 64 KiB in all.`,
      fix: 'pass large values another way, such as a file in the image or a parameter in SSM.',
    });
  }
  for (const [name, reference] of config.secrets ?? []) {
    // Shown by name only: a value pasted here by mistake is a secret.
    if (!isSecretReference(reference, env.AWS_REGION || env.AWS_DEFAULT_REGION)) {
      problems.push({
        input: 'secrets',
        problem: `${name} must be a Secrets Manager or SSM parameter ARN (in this step's partition), not a value.`,
        fix: 'write NAME=arn:aws:secretsmanager:... or NAME=arn:aws:ssm:...; secret values never go into inputs.',
      });
    }
  }
  if (problems.length > 0) throw new InputError(problems);
  const spec: ProvisionSpec = {
    identity: { repository: currentRepository(env), cluster: config.cluster, environment: config.environment },
    listenerArn: config.listenerArn,
    loadBalancerPool: config.loadBalancerPool,
    growPool: config.growPool,
    certificateArn: config.certificateArn,
    loadBalancerSubnets: config.loadBalancerSubnets,
    loadBalancerSecurityGroups: config.loadBalancerSecurityGroups,
    hostedZoneId: config.hostedZoneId?.replace('/hostedzone/', ''),
    hostPattern: config.hostPattern,
    pathPattern: config.pathPattern,
    image: config.image,
    taskDefinitionFile: config.taskDefinition,
    executionRoleArn: config.executionRoleArn,
    taskRoleArn: config.taskRoleArn,
    containerName: config.containerName,
    containerPort: config.containerPort,
    network: { subnets: config.subnets, securityGroups: config.securityGroups, assignPublicIp: config.assignPublicIp },
    healthCheck: {
      path: config.healthCheckPath,
      matcher: config.healthCheckMatcher,
      intervalSeconds: config.healthCheckInterval,
      gracePeriodSeconds: config.healthCheckGracePeriod,
    },
    deregistrationDelaySeconds: config.deregistrationDelay,
    desiredCount: config.desiredCount,
    cpu: config.cpu,
    memory: config.memory,
    capacityProviderStrategy,
    environmentVariables: config.environmentVariables ?? [],
    secrets: config.secrets ?? [],
    logRetentionDays: Number(config.logRetentionDays),
    containerInsights: config.containerInsights,
    ttlSeconds: config.ttl,
    pullRequest,
    timeoutSeconds: config.timeout,
    strategy: config.strategy,
    infrastructureRoleArn: config.infrastructureRoleArn,
    enableExecuteCommand: config.enableExecuteCommand,
  };
  return { spec, dryRun: config.dryRun, verify: config.verify, githubToken: config.githubToken };
}
