// provision-platform's plan, from a spec and a snapshot of what exists: which resources are created,
// changed or kept, and for each change the fields old → new. No AWS, no emulator.
import { describe, expect, test } from '@jest/globals';
import { type Identity, ownershipTags } from '../../src/environment.ts';
import { ActionError } from '../../src/errors.ts';
import { type ContainerState, type Snapshot, toContainer } from '../../src/provision/observe.ts';
import { type ProvisionPlan, plan } from '../../src/provision/plan.ts';
import { planLines } from '../../src/provision/report.ts';
import { type Desired, desiredEnvironment, type ProvisionSpec } from '../../src/provision/spec.ts';
import { ecrReference, trusts } from '../../src/provision/verify.ts';

const identity: Identity = { repository: 'acme/web', cluster: 'previews', environment: 'pr-7' };
const LISTENER = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/previews/50dc6c495c0c9188/f2f7dc8efc522ab2';
const SECRET = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db-AbCdEf';

function spec(changes: Partial<ProvisionSpec> = {}): ProvisionSpec {
  return {
    identity,
    listenerArn: LISTENER,
    loadBalancerPool: undefined,
    growPool: false,
    certificateArn: undefined,
    loadBalancerSubnets: undefined,
    loadBalancerSecurityGroups: undefined,
    hostedZoneId: undefined,
    hostPattern: '{env}.preview.example.com',
    pathPattern: undefined,
    image: 'web:v1',
    taskDefinitionFile: undefined,
    executionRoleArn: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
    taskRoleArn: undefined,
    containerName: 'app',
    containerPort: 8080,
    network: { subnets: ['subnet-0a1b2c3d4e5f60001'], securityGroups: ['sg-0a1b2c3d4e5f60001'], assignPublicIp: false },
    healthCheck: { path: '/', matcher: '200-399', intervalSeconds: 10, gracePeriodSeconds: 60 },
    deregistrationDelaySeconds: 30,
    desiredCount: 2,
    cpu: 256,
    memory: 512,
    capacityProviderStrategy: [{ capacityProvider: 'FARGATE', weight: 1 }],
    environmentVariables: [['GREETING', 'hello']],
    secrets: [['DB_PASSWORD', SECRET]],
    logRetentionDays: 14,
    containerInsights: false,
    ttlSeconds: undefined,
    pullRequest: undefined,
    timeoutSeconds: 900,
    strategy: 'rolling',
    infrastructureRoleArn: undefined,
    enableExecuteCommand: false,
    ...changes,
  };
}

const desired = (changes: Partial<ProvisionSpec> = {}) => desiredEnvironment(spec(changes), 'us-east-1');
const TARGET_GROUP_ARN = 'arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/previews-pr-7/0123456789abcdef';

const nothing = (): Snapshot => ({
  clusterExists: false,
  service: undefined,
  taskDefinition: undefined,
  targetGroups: new Map(),
  routing: {
    kind: 'listener',
    listenerArn: LISTENER,
    loadBalancer: {
      arn: 'arn:alb',
      name: 'previews',
      dnsName: 'previews-1.us-east-1.elb.amazonaws.com',
      canonicalHostedZoneId: 'Z35SXDOTRQ7X7K',
      vpcId: 'vpc-1',
      subnets: ['subnet-0a1b2c3d4e5f60001'],
      securityGroups: ['sg-0a1b2c3d4e5f60001'],
    },
  },
  rules: [],
  logGroup: undefined,
  dns: undefined,
});

/** What provisioning `from` left: every resource as it made it. */
function provisioned(from: Desired, owner = identity): Snapshot {
  const tags = ownershipTags(owner, undefined);
  const taskDefinitionArn = `arn:aws:ecs:us-east-1:123456789012:task-definition/${from.names.family}:1`;
  const containers: ContainerState[] = from.registration.containerDefinitions.map((container) => toContainer(container, 'test'));
  return {
    ...nothing(),
    clusterExists: true,
    service: {
      arn: 'arn:aws:ecs:us-east-1:123456789012:service/previews/pr-7',
      name: 'pr-7',
      tags,
      taskDefinitionArn,
      desiredCount: from.spec.desiredCount,
      network: from.spec.network,
      capacityProviderStrategy: from.spec.capacityProviderStrategy,
      enableExecuteCommand: false,
      blueGreen: false,
      containerPort: from.spec.containerPort,
      described: {},
    },
    taskDefinition: {
      arn: taskDefinitionArn,
      specHash: from.specHash,
      cpu: '256',
      memory: '512',
      executionRoleArn: from.spec.executionRoleArn,
      taskRoleArn: undefined,
      containers,
    },
    targetGroups: new Map([
      [
        from.names.targetGroup,
        {
          name: from.names.targetGroup,
          arn: TARGET_GROUP_ARN,
          tags,
          port: 8080,
          healthCheck: { path: from.spec.healthCheck.path, intervalSeconds: 10, timeoutSeconds: 5, matcher: '200-399' },
          deregistrationDelaySeconds: '30',
          loadBalancerArns: ['arn:alb'],
        },
      ],
    ]),
    rules: [
      {
        listenerArn: LISTENER,
        tags,
        rule: {
          RuleArn: 'arn:rule/7',
          Priority: '17',
          Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [from.host] } }],
          Actions: [{ Type: 'forward', TargetGroupArn: TARGET_GROUP_ARN }],
        },
      },
    ],
    logGroup: { name: from.names.logGroup, retentionDays: 14, tags },
  };
}

const actions = (planned: ProvisionPlan) => planned.steps.map((step) => [step.resource, step.action]);
const diffs = (planned: ProvisionPlan) => planned.steps.flatMap((step) => step.diff.map((change) => [step.resource, change.field, change.from, change.to]));

describe('provision plan', () => {
  test('nothing there: every resource is created, the rule priority left to apply', () => {
    const planned = plan(desired(), nothing());
    expect(actions(planned)).toEqual([
      ['cluster', 'create'],
      ['target group', 'create'],
      ['listener rule', 'create'],
      ['log group', 'create'],
      ['task definition', 'create'],
      ['service', 'create'],
    ]);
    expect(planned.steps.find((step) => step.resource === 'listener rule')?.note).toBe('priority chosen when created');
  });

  test('an environment that matches its inputs: everything kept, no diff', () => {
    const planned = plan(desired(), provisioned(desired()));
    expect(planned.steps.every((step) => step.action === 'keep')).toBe(true);
    expect(planLines(planned)[0]).toBe('Plan: no changes; the environment already matches the inputs.');
  });

  test('container port, health-check path, one variable and the desired count: exactly those four changes, old → new', () => {
    const changed = desired({
      containerPort: 9090,
      healthCheck: { ...spec().healthCheck, path: '/healthz' },
      environmentVariables: [['GREETING', 'bonjour']],
      desiredCount: 3,
    });
    const planned = plan(changed, provisioned(desired()));
    expect(diffs(planned)).toEqual([
      ['target group', 'health check path', '/', '/healthz'],
      ['task definition', 'container app port', '8080', '9090'],
      ['task definition', 'container app env GREETING', 'hello', 'bonjour'],
      ['service', 'desired count', '2', '3'],
    ]);
    expect(actions(planned).filter(([, action]) => action !== 'keep')).toEqual([
      ['target group', 'update'],
      ['task definition', 'update'],
      ['service', 'update'],
    ]);
    expect(planLines(planned)).toContain('  container app env GREETING: hello → bonjour');
  });

  test('secrets are shown by name, never by where they are read from', () => {
    const moved = 'arn:aws:secretsmanager:us-east-1:123456789012:secret:db2-XyZxYz';
    const planned = plan(
      desired({
        secrets: [
          ['DB_PASSWORD', moved],
          ['API_KEY', SECRET],
        ],
      }),
      provisioned(desired()),
    );
    expect(diffs(planned).filter(([resource]) => resource === 'task definition')).toEqual([
      ['task definition', 'container app secret API_KEY', 'none', 'set'],
      ['task definition', 'container app secret DB_PASSWORD', 'set', 'another reference'],
    ]);
    expect(planLines(planned).join('\n')).not.toContain('secretsmanager');
  });

  test('network, capacity strategy and execute command are service changes', () => {
    const planned = plan(
      desired({
        capacityProviderStrategy: [
          { capacityProvider: 'FARGATE_SPOT', weight: 3 },
          { capacityProvider: 'FARGATE', weight: 1 },
        ],
        enableExecuteCommand: true,
        network: { ...spec().network, subnets: ['subnet-0a1b2c3d4e5f60002'] },
      }),
      provisioned(desired()),
    );
    expect(diffs(planned)).toEqual([
      ['service', 'subnets', 'subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'],
      ['service', 'capacity provider strategy', 'FARGATE:1', 'FARGATE_SPOT:3, FARGATE:1'],
      ['service', 'execute command', 'disabled', 'enabled'],
    ]);
  });

  test('a new host changes the rule in place', () => {
    const planned = plan(desired({ hostPattern: '{env}.previews.example.org' }), provisioned(desired()));
    expect(diffs(planned)).toEqual([['listener rule', 'hosts', 'pr-7.preview.example.com', 'pr-7.previews.example.org']]);
  });

  test("another repository's service of the same name is refused, naming it", () => {
    const theirs = provisioned(desired(), { ...identity, repository: 'acme/other' });
    expect(() => plan(desired(), theirs)).toThrow(ActionError);
    expect(() => plan(desired(), theirs)).toThrow(/acme\/other/);
  });

  test('a rule someone else owns answering the host is refused before anything changes; a wildcard is a note', () => {
    const snapshot = nothing();
    const rule = (host: string) => ({
      listenerArn: LISTENER,
      tags: {},
      rule: { RuleArn: `arn:rule/${host}`, Priority: '5', Conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: [host] } }] },
    });
    expect(() => plan(desired(), { ...snapshot, rules: [rule('pr-7.preview.example.com')] })).toThrow(/already answers host pr-7.preview.example.com/);
    expect(plan(desired(), { ...snapshot, rules: [rule('*.preview.example.com')] }).notes).toEqual([
      'listener rule priority 5 (*.preview.example.com) also answers pr-7.preview.example.com; the rule with the lower priority number wins',
    ]);
  });
});

describe('preflight, what it reads', () => {
  test('an image is asked of ECR only when it is in this region’s ECR, by tag (latest when none) or digest', () => {
    const digest = `sha256:${'a'.repeat(64)}`;
    expect(ecrReference('123456789012.dkr.ecr.us-east-1.amazonaws.com/team/web:v2', 'us-east-1')).toEqual({
      registryId: '123456789012',
      repositoryName: 'team/web',
      tag: 'v2',
    });
    expect(ecrReference('123456789012.dkr.ecr.us-east-1.amazonaws.com/web', 'us-east-1')?.tag).toBe('latest');
    expect(ecrReference(`123456789012.dkr.ecr.us-east-1.amazonaws.com/web@${digest}`, 'us-east-1')?.digest).toBe(digest);
    expect(ecrReference('123456789012.dkr.ecr.eu-west-1.amazonaws.com/web:v2', 'us-east-1')).toBeUndefined();
    expect(ecrReference('public.ecr.aws/nginx/nginx:1.27', 'us-east-1')).toBeUndefined();
    expect(ecrReference('ghcr.io/acme/web:v2', 'us-east-1')).toBeUndefined();
  });

  test('a trust policy lets ECS tasks in only with an Allow of sts:AssumeRole to their service principal', () => {
    const policy = (statement: unknown) => encodeURIComponent(JSON.stringify({ Version: '2012-10-17', Statement: statement }));
    const tasks = 'ecs-tasks.amazonaws.com';
    expect(trusts(policy([{ Effect: 'Allow', Principal: { Service: tasks }, Action: 'sts:AssumeRole' }]), tasks)).toBe(true);
    expect(trusts(policy({ Effect: 'Allow', Principal: { Service: ['ec2.amazonaws.com', tasks] }, Action: ['sts:TagSession', 'sts:AssumeRole'] }), tasks)).toBe(
      true,
    );
    expect(trusts(policy([{ Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' }]), tasks)).toBe(false);
    expect(trusts(policy([{ Effect: 'Deny', Principal: { Service: tasks }, Action: 'sts:AssumeRole' }]), tasks)).toBe(false);
    expect(trusts(policy([{ Effect: 'Allow', Principal: { Service: tasks }, Action: 'sts:TagSession' }]), tasks)).toBe(false);
  });
});
