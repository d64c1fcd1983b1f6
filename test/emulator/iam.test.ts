// IAM in the emulator: the permissions each call needs, policy evaluation, and refusals as each protocol sends them.
import { DescribeSubnetsCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  CreateClusterCommand,
  CreateServiceCommand,
  DescribeClustersCommand,
  ECSClient,
  RegisterTaskDefinitionCommand,
  TagResourceCommand,
  UpdateServiceCommand,
} from '@aws-sdk/client-ecs';
import { CreateLoadBalancerCommand, DescribeLoadBalancersCommand, ElasticLoadBalancingV2Client } from '@aws-sdk/client-elastic-load-balancing-v2';
import { ListHostedZonesCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { allows, callerAction, createIam, type PolicyDocument, registryPermissions, requiredPermissions, type Scope } from '../../emulator/iam.ts';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';

const scope: Scope = {
  region: 'eu-west-1',
  account: '123456789012',
  taskDefinitionRoles: (ref) =>
    ref.endsWith('web:3')
      ? [
          { arn: 'arn:aws:iam::123456789012:role/exec', as: 'ExecutionRole' },
          { arn: 'arn:aws:iam::123456789012:role/app', as: 'TaskRole' },
        ]
      : [],
  resourceTags: () => undefined,
  hasServiceLinkedRole: () => true,
};
const need = (service: string, operation: string, input: Record<string, unknown>) => requiredPermissions(service, operation, input, scope);
const LISTENER = 'arn:aws:elasticloadbalancing:eu-west-1:123456789012:listener/app/shared/0123456789abcdef/fedcba9876543210';

describe('what a call needs', () => {
  it('names the resource the call acts on, from a name or an ARN', () => {
    expect(need('ecs', 'UpdateService', { cluster: 'previews', service: 'web' })).toEqual([
      {
        action: 'ecs:UpdateService',
        resource: 'arn:aws:ecs:eu-west-1:123456789012:service/previews/web',
        context: { 'ecs:cluster': 'arn:aws:ecs:eu-west-1:123456789012:cluster/previews' },
      },
    ]);
    expect(need('ecs', 'UpdateService', { cluster: 'arn:aws:ecs:eu-west-1:123456789012:cluster/previews', service: 'web' })[0]?.resource).toBe(
      'arn:aws:ecs:eu-west-1:123456789012:service/previews/web',
    );
    expect(need('ecs', 'DescribeServices', { services: ['a', 'b'] }).map((p) => p.resource)).toEqual([
      'arn:aws:ecs:eu-west-1:123456789012:service/default/a',
      'arn:aws:ecs:eu-west-1:123456789012:service/default/b',
    ]);
    expect(need('logs', 'GetLogEvents', { logGroupName: '/ecs/previews/web', logStreamName: 'app/app/abc' })).toEqual([
      { action: 'logs:GetLogEvents', resource: 'arn:aws:logs:eu-west-1:123456789012:log-group:/ecs/previews/web:log-stream:app/app/abc' },
    ]);
    expect(need('route53', 'ChangeResourceRecordSets', { HostedZoneId: '/hostedzone/Z123' })[0]?.resource).toBe('arn:aws:route53:::hostedzone/Z123');
  });

  it('adds what AWS authorizes besides the call: tags on create, roles passed to ECS, the service auto scaling changes', () => {
    const requestTags = { 'aws:RequestTag/k': 'v', 'aws:TagKeys': ['k'] };
    expect(need('ecs', 'CreateService', { cluster: 'previews', serviceName: 'web', tags: [{ key: 'k', value: 'v' }] })).toEqual([
      {
        action: 'ecs:CreateService',
        resource: 'arn:aws:ecs:eu-west-1:123456789012:service/previews/web',
        context: { 'ecs:cluster': 'arn:aws:ecs:eu-west-1:123456789012:cluster/previews', ...requestTags },
      },
      {
        action: 'ecs:TagResource',
        resource: 'arn:aws:ecs:eu-west-1:123456789012:service/previews/web',
        context: { 'ecs:CreateAction': 'CreateService', ...requestTags },
      },
    ]);
    expect(need('ecs', 'CreateService', { cluster: 'previews', serviceName: 'web' })).toHaveLength(1);
    expect(
      need('ecs', 'RegisterTaskDefinition', { family: 'web', executionRoleArn: 'arn:aws:iam::123456789012:role/exec', tags: [{ key: 'k', value: 'v' }] }),
    ).toEqual([
      { action: 'ecs:RegisterTaskDefinition', resource: '*', context: requestTags },
      {
        action: 'iam:PassRole',
        resource: 'arn:aws:iam::123456789012:role/exec',
        context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' },
        role: 'ExecutionRole',
      },
      {
        action: 'ecs:TagResource',
        resource: 'arn:aws:ecs:eu-west-1:123456789012:task-definition/web:*',
        context: { 'ecs:CreateAction': 'RegisterTaskDefinition', ...requestTags },
      },
    ]);
    expect(need('ecs', 'RunTask', { cluster: 'previews', taskDefinition: 'web:3' }).map((p) => `${p.action} ${p.resource}`)).toEqual([
      'ecs:RunTask arn:aws:ecs:eu-west-1:123456789012:task-definition/web:3',
      'iam:PassRole arn:aws:iam::123456789012:role/exec',
      'iam:PassRole arn:aws:iam::123456789012:role/app',
    ]);
    expect(need('elbv2', 'CreateRule', { ListenerArn: LISTENER, Tags: [{ Key: 'k', Value: 'v' }] })).toEqual([
      { action: 'elasticloadbalancing:CreateRule', resource: LISTENER, context: requestTags },
      {
        action: 'elasticloadbalancing:AddTags',
        resource: `${LISTENER.replace(':listener/', ':listener-rule/')}/*`,
        context: { 'elasticloadbalancing:CreateAction': 'CreateRule', ...requestTags },
      },
    ]);
    expect(
      need('application-autoscaling', 'RegisterScalableTarget', { ServiceNamespace: 'ecs', ResourceId: 'service/previews/web' }).map(
        (p) => `${p.action} ${p.resource}`,
      ),
    ).toEqual([
      'application-autoscaling:RegisterScalableTarget *',
      'ecs:DescribeServices arn:aws:ecs:eu-west-1:123456789012:service/previews/web',
      'ecs:UpdateService arn:aws:ecs:eu-west-1:123456789012:service/previews/web',
    ]);
  });

  it('sets the context AWS sets: the tags of the resource named as it is now, the names Route 53 changes, the service-linked role', () => {
    const tagged: Scope = {
      ...scope,
      resourceTags: (arn) => (arn.endsWith('service/previews/web') ? { 'ecs-deploy-actions:environment': 'pr-7' } : undefined),
      hasServiceLinkedRole: () => false,
    };
    expect(requiredPermissions('ecs', 'DeleteService', { cluster: 'previews', service: 'web' }, tagged)[0]?.context).toEqual({
      'ecs:cluster': 'arn:aws:ecs:eu-west-1:123456789012:cluster/previews',
      'aws:ResourceTag/ecs-deploy-actions:environment': 'pr-7',
    });
    expect(requiredPermissions('ecs', 'DeleteService', { cluster: 'previews', service: 'api' }, tagged)[0]?.context).not.toHaveProperty(
      'aws:ResourceTag/ecs-deploy-actions:environment',
    );
    const change = need('route53', 'ChangeResourceRecordSets', {
      HostedZoneId: 'Z123',
      ChangeBatch: {
        Changes: [
          { Action: 'UPSERT', ResourceRecordSet: { Name: 'PR-7.Preview.example.com.', Type: 'A' } },
          { Action: 'UPSERT', ResourceRecordSet: { Name: '*.preview.example.com', Type: 'TXT' } },
        ],
      },
    });
    expect(change[0]?.context).toEqual({
      'route53:ChangeResourceRecordSetsNormalizedRecordNames': ['pr-7.preview.example.com', '\\052.preview.example.com'],
      'route53:ChangeResourceRecordSetsRecordTypes': ['A', 'TXT'],
      'route53:ChangeResourceRecordSetsActions': ['UPSERT'],
    });
    expect(
      requiredPermissions('elbv2', 'CreateLoadBalancer', { Name: 'shared' }, tagged).map((p) => `${p.action} ${p.resource} ${JSON.stringify(p.context)}`),
    ).toEqual([
      'elasticloadbalancing:CreateLoadBalancer arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/shared/* undefined',
      'iam:CreateServiceLinkedRole arn:aws:iam::123456789012:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing {"iam:AWSServiceName":"elasticloadbalancing.amazonaws.com"}',
    ]);
    expect(need('elbv2', 'CreateLoadBalancer', { Name: 'shared' })).toHaveLength(1);
  });

  it('asks anything not in the table for <prefix>:<Operation> on every resource, and nothing of GetCallerIdentity', () => {
    expect(need('elbv2', 'DescribeRules', { ListenerArn: LISTENER })).toEqual([{ action: 'elasticloadbalancing:DescribeRules', resource: '*' }]);
    expect(need('ecr', 'DescribeImages', { repositoryName: 'shop/web' })).toEqual([
      { action: 'ecr:DescribeImages', resource: 'arn:aws:ecr:eu-west-1:123456789012:repository/shop/web' },
    ]);
    expect(need('sts', 'GetCallerIdentity', {})).toEqual([]);
  });

  it('maps the registry protocol of a push and a pull to the ECR actions', () => {
    const actions = (method: string, kind: string | undefined, upload = false) =>
      registryPermissions({ method, repository: 'web', kind, upload }, scope).map((p) => p.action);
    expect(actions('HEAD', 'blobs')).toEqual(['ecr:BatchCheckLayerAvailability']);
    expect(actions('POST', 'blobs', true)).toEqual(['ecr:InitiateLayerUpload']);
    expect(actions('PATCH', 'blobs', true)).toEqual(['ecr:UploadLayerPart']);
    expect(actions('PUT', 'blobs', true)).toEqual(['ecr:CompleteLayerUpload']);
    expect(actions('PUT', 'manifests')).toEqual(['ecr:PutImage']);
    expect(actions('GET', 'manifests')).toEqual(['ecr:BatchGetImage']);
    expect(actions('GET', 'blobs')).toEqual(['ecr:GetDownloadUrlForLayer']);
    expect(registryPermissions({ method: 'GET', upload: false }, scope)).toEqual([]);
  });

  it('attributes a call to the action in its user agent', () => {
    expect(callerAction({ 'x-amz-user-agent': 'aws-sdk-js/3.1 ecs-deploy-actions/0.1.0 action/teardown-env#0.1.0' })).toBe('teardown-env');
    expect(callerAction({ 'user-agent': 'aws-sdk-js/3.1 api/ecs#3.1' })).toBeUndefined();
  });
});

describe('policy evaluation', () => {
  const policy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      { Effect: 'Allow', Action: ['ecs:Describe*'], Resource: '*' },
      { Effect: 'Allow', Action: 'ECS:UpdateService', Resource: 'arn:aws:ecs:*:*:service/previews/*' },
      {
        Effect: 'Allow',
        Action: ['iam:PassRole'],
        Resource: 'arn:aws:iam::*:role/*',
        Condition: { StringEquals: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } },
      },
    ],
  };
  it('matches actions case-insensitively and resources with * across separators, conditions on the request context', () => {
    expect(allows(policy, { action: 'ecs:DescribeServices', resource: 'arn:aws:ecs:us-east-1:1:service/a/b' })).toBe(true);
    expect(allows(policy, { action: 'ecs:updateservice', resource: 'arn:aws:ecs:us-east-1:1:service/previews/web' })).toBe(true);
    expect(allows(policy, { action: 'ecs:UpdateService', resource: 'arn:aws:ecs:us-east-1:1:service/prod/web' })).toBe(false);
    expect(allows(policy, { action: 'ecs:DeleteService', resource: '*' })).toBe(false);
    const role = 'arn:aws:iam::1:role/exec';
    expect(allows(policy, { action: 'iam:PassRole', resource: role, context: { 'iam:PassedToService': 'ecs-tasks.amazonaws.com' } })).toBe(true);
    expect(allows(policy, { action: 'iam:PassRole', resource: role, context: { 'iam:PassedToService': 'lambda.amazonaws.com' } })).toBe(false);
    expect(allows(policy, { action: 'iam:PassRole', resource: role })).toBe(false);
  });

  it('refuses every call of an action without a policy, and policies it would misread', () => {
    const iam = createIam({ known: policy });
    expect(iam.authorize('unknown', [{ action: 'ecs:DescribeServices', resource: '*' }])).toEqual({ action: 'ecs:DescribeServices', resource: '*' });
    expect(iam.authorize('known', [{ action: 'ecs:DescribeServices', resource: '*' }])).toBeUndefined();
    expect(() => createIam({ bad: { Version: '2012-10-17', Statement: [{ Effect: 'Deny' as 'Allow', Action: '*', Resource: '*' }] } })).toThrow(/only Allow/);
  });
});

describe('refusals on the wire', () => {
  let emu: RunningEmulator;
  const config = (endpoint: string, action?: string) => ({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
    ...(action ? { customUserAgent: [[`action/${action}`, '0.1.0']] as [string, string][] } : {}),
  });
  beforeAll(async () => {
    emu = await startEmulator({
      registry: false,
      iamPolicies: { tester: { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: ['ecs:CreateCluster'], Resource: '*' }] } },
    });
  });
  afterAll(() => emu.stop());

  const refusal = async (send: () => Promise<unknown>) => {
    const error = (await send().then(
      () => undefined,
      (e: unknown) => e,
    )) as { name: string; message: string; $metadata: { httpStatusCode: number } };
    return { name: error?.name, status: error?.$metadata.httpStatusCode, message: error?.message };
  };

  it('answers as each protocol answers, and records the refused call with its action', async () => {
    const ecs = new ECSClient(config(emu.endpoint, 'tester'));
    const elb = new ElasticLoadBalancingV2Client(config(emu.endpoint, 'tester'));
    const route53 = new Route53Client(config(emu.endpoint, 'tester'));
    const ec2 = new EC2Client(config(emu.endpoint, 'tester'));
    await ecs.send(new CreateClusterCommand({ clusterName: 'previews' }));
    expect(await refusal(() => ecs.send(new DescribeClustersCommand({ clusters: ['previews'] })))).toEqual({
      name: 'AccessDeniedException',
      status: 400,
      message:
        'User: arn:aws:sts::123456789012:assumed-role/github-actions-deploy/GitHubActions is not authorized to perform: ecs:DescribeClusters on resource: arn:aws:ecs:us-east-1:123456789012:cluster/previews because no identity-based policy allows the ecs:DescribeClusters action',
    });
    expect(await refusal(() => elb.send(new DescribeLoadBalancersCommand({})))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await refusal(() => route53.send(new ListHostedZonesCommand({})))).toMatchObject({ name: 'AccessDenied', status: 403 });
    expect(await refusal(() => ec2.send(new DescribeSubnetsCommand({})))).toMatchObject({ name: 'UnauthorizedOperation', status: 403 });
    for (const client of [ecs, elb, route53, ec2]) client.destroy();
    const { calls } = (await (await fetch(`${emu.endpoint}/_emulator/calls`)).json()) as { calls: { operation: string; action?: string; error?: string }[] };
    expect(calls.map((call) => [call.operation, call.action, call.error])).toEqual([
      ['CreateCluster', 'tester', undefined],
      ['DescribeClusters', 'tester', 'AccessDeniedException'],
      ['DescribeLoadBalancers', 'tester', 'AccessDenied'],
      ['ListHostedZones', 'tester', 'AccessDenied'],
      ['DescribeSubnets', 'tester', 'UnauthorizedOperation'],
    ]);
  });

  it('does not check clients without an action user agent; GET and POST /_emulator/iam show and replace the policies', async () => {
    const ecs = new ECSClient(config(emu.endpoint));
    expect((await ecs.send(new DescribeClustersCommand({ clusters: ['previews'] }))).clusters?.[0]?.clusterName).toBe('previews');
    const control = async (body?: unknown) =>
      fetch(`${emu.endpoint}/_emulator/iam`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) }).then(async (r) => ({
        status: r.status,
        body: (await r.json()) as { enforcing: boolean; observed: { caller: string; permission: { action: string } }[]; error?: string },
      }));
    const before = await control();
    expect(before.body.enforcing).toBe(true);
    expect(before.body.observed.map((o) => `${o.caller} ${o.permission.action}`)).toContain('tester ecs:DescribeClusters');
    expect((await control({ policies: [] })).status).toBe(400);
    expect((await control({ policies: null })).body.enforcing).toBe(false);
    const tester = new ECSClient(config(emu.endpoint, 'tester'));
    expect((await tester.send(new DescribeClustersCommand({ clusters: ['previews'] }))).clusters).toHaveLength(1);
    tester.destroy();
    ecs.destroy();
  });
});

describe('conditions and service-linked roles, against the emulator state', () => {
  let emu: RunningEmulator;
  const as = (action?: string) => ({
    endpoint: emu.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
    maxAttempts: 1,
    ...(action ? { customUserAgent: [[`action/${action}`, '0.1.0']] as [string, string][] } : {}),
  });
  const failure = (promise: Promise<unknown>) =>
    promise.then(
      () => 'ok',
      (e: { name: string; message: string }) => `${e.name}: ${e.message}`,
    );
  const ours = { key: 'ecs-deploy-actions:environment', value: 'pr-7' };
  const policy: PolicyDocument = {
    Version: '2012-10-17',
    Statement: [
      {
        Effect: 'Allow',
        Action: ['ecs:CreateCluster', 'ecs:RegisterTaskDefinition', 'ecs:CreateService', 'elasticloadbalancing:CreateLoadBalancer'],
        Resource: '*',
      },
      {
        Effect: 'Allow',
        Action: 'ecs:UpdateService',
        Resource: '*',
        Condition: { StringLike: { 'aws:ResourceTag/ecs-deploy-actions:environment': 'pr-*' }, ArnLike: { 'ecs:cluster': 'arn:aws:ecs:*:*:cluster/previews' } },
      },
    ],
  };
  beforeAll(async () => {
    emu = await startEmulator({ registry: false, iamPolicies: { deployer: policy } });
  });
  afterAll(() => emu.stop());

  const slrs = async () => ((await (await fetch(`${emu.endpoint}/_emulator/state`)).json()) as { serviceLinkedRoles: string[] }).serviceLinkedRoles;

  it('a first cluster without iam:CreateServiceLinkedRole: created, but no service starts until the role exists', async () => {
    const ecs = new ECSClient(as('deployer'));
    expect(await slrs()).toEqual([]);
    await ecs.send(new CreateClusterCommand({ clusterName: 'previews' }));
    expect(await slrs()).toEqual([]);
    await ecs.send(
      new RegisterTaskDefinitionCommand({
        family: 'web',
        requiresCompatibilities: ['FARGATE'],
        networkMode: 'awsvpc',
        cpu: '256',
        memory: '512',
        containerDefinitions: [{ name: 'app', image: 'web:v1' }],
      }),
    );
    const service = (name: string, tags: { key: string; value: string }[]) =>
      new CreateServiceCommand({
        cluster: 'previews',
        serviceName: name,
        taskDefinition: 'web',
        launchType: 'FARGATE',
        networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-0a1b2c3d4e5f60001'] } },
        tags,
      });
    expect(await failure(ecs.send(service('pr-7', [])))).toBe(
      'InvalidParameterException: Unable to assume the service linked role. Please verify that the ECS service linked role exists.',
    );
    // A caller that may create it (here: the test's own client, which is not checked) creates it with a cluster.
    const admin = new ECSClient(as());
    await admin.send(new CreateClusterCommand({ clusterName: 'production' }));
    expect(await slrs()).toEqual(['ecs.amazonaws.com']);
    await admin.send(service('pr-7', [ours]));
    await admin.send(service('web', []));
    for (const client of [ecs, admin]) client.destroy();
  });

  it('tests aws:ResourceTag against the tags the resource has at the time of the call, and ecs:cluster against the cluster named', async () => {
    const ecs = new ECSClient(as('deployer'));
    const admin = new ECSClient(as());
    const update = (name: string, cluster = 'previews') => failure(ecs.send(new UpdateServiceCommand({ cluster, service: name, desiredCount: 0 })));
    expect(await update('pr-7')).toBe('ok');
    expect(await update('web')).toBe(
      'AccessDeniedException: User: arn:aws:sts::123456789012:assumed-role/github-actions-deploy/GitHubActions is not authorized to perform: ecs:UpdateService on resource: arn:aws:ecs:us-east-1:123456789012:service/previews/web because no identity-based policy allows the ecs:UpdateService action',
    );
    const web = 'arn:aws:ecs:us-east-1:123456789012:service/previews/web';
    await admin.send(new TagResourceCommand({ resourceArn: web, tags: [{ key: 'ecs-deploy-actions:environment', value: 'pr-8' }] }));
    expect(await update('web')).toBe('ok');
    await admin.send(new TagResourceCommand({ resourceArn: web, tags: [{ key: 'ecs-deploy-actions:environment', value: 'production' }] }));
    expect(await update('web')).toMatch(/^AccessDeniedException: .* ecs:UpdateService on resource: .*service\/previews\/web /);
    // Tagged as ours, but in another cluster than the one the policy names.
    await admin.send(
      new CreateServiceCommand({
        cluster: 'production',
        serviceName: 'pr-7',
        taskDefinition: 'web',
        launchType: 'FARGATE',
        networkConfiguration: { awsvpcConfiguration: { subnets: ['subnet-0a1b2c3d4e5f60001'] } },
        tags: [ours],
      }),
    );
    expect(await update('pr-7', 'production')).toMatch(/^AccessDeniedException: .* ecs:UpdateService on resource: .*service\/production\/pr-7 /);
    for (const client of [ecs, admin]) client.destroy();
  });

  it('a first load balancer without iam:CreateServiceLinkedRole is refused, naming the role', async () => {
    const elb = new ElasticLoadBalancingV2Client(as('deployer'));
    expect(await failure(elb.send(new CreateLoadBalancerCommand({ Name: 'shared', Subnets: ['subnet-0a1b2c3d4e5f60001', 'subnet-0a1b2c3d4e5f60002'] })))).toBe(
      'AccessDenied: User: arn:aws:sts::123456789012:assumed-role/github-actions-deploy/GitHubActions is not authorized to perform: iam:CreateServiceLinkedRole on resource: arn:aws:iam::123456789012:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing because no identity-based policy allows the iam:CreateServiceLinkedRole action',
    );
    expect(await slrs()).toEqual(['ecs.amazonaws.com']);
    elb.destroy();
  });
});
