// The policies in action-catalog.md, enforced: each bundle runs under exactly its documented policy, and a
// call that policy does not allow is refused as AWS refuses it (JSON, Query, REST-XML and the image registry).
// A preview role's policy, with concrete names, keeps it to its cluster, roles and host names.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ECSClient, RegisterTaskDefinitionCommand, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { DescribeTagsCommand } from '@aws-sdk/client-elastic-load-balancing-v2';
import { CreateRoleCommand, IAMClient } from '@aws-sdk/client-iam';
import { ChangeResourceRecordSetsCommand, CreateHostedZoneCommand, ListResourceRecordSetsCommand, Route53Client } from '@aws-sdk/client-route-53';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, test } from '@jest/globals';
import type { Observation, PolicyDocument } from '../../emulator/iam.ts';
import { catalogPolicies, instantiate, observedLine, policyFor, WILDCARDS } from '../../scripts/iam-policy.ts';
import { provisionInputs } from '../helpers/provisioned.ts';
import { describe as describeService, SECURITY_GROUP, SUBNETS, seedService, sharedListener, startWorld, type World } from '../helpers/world.ts';

const canBuild = ['buildah', 'docker-registry'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);
const ROLE = 'arn:aws:sts::123456789012:assumed-role/github-actions-deploy/GitHubActions';

describe('the policy generated from what an action needed, with a call taken away', () => {
  let world: World;
  let workspace: string;

  beforeAll(async () => {
    world = await startWorld({ registry: canBuild });
    workspace = mkdtempSync(join(tmpdir(), 'iam-policy-workspace-'));
    mkdirSync(join(workspace, 'app'));
    writeFileSync(join(workspace, 'app', 'Dockerfile'), 'FROM scratch\nCOPY Dockerfile /Dockerfile\n');
  });
  // Each test starts unchecked: a first run records what the action needs (so the tests hold while the
  // committed policies are being re-recorded), then runs are checked against the policy generated from that.
  const unchecked = () => world.control('/_emulator/iam', { policies: null });
  beforeEach(unchecked);
  afterEach(unchecked);
  afterAll(async () => {
    await world.stop();
    rmSync(workspace, { recursive: true, force: true });
  });

  /** Only `action` may call anything: the policy generated from what it needed so far, without the IAM actions named. */
  async function enforce(action: string, ...taken: string[]): Promise<void> {
    const { observed } = await world.control<{ observed: Observation[] }>('/_emulator/iam');
    const lines = observed.filter((o) => o.caller === action && !taken.includes(o.permission.action)).map((o) => observedLine(o.permission));
    const policies: Record<string, PolicyDocument> = { [action]: instantiate(policyFor(lines), WILDCARDS) };
    await world.control('/_emulator/iam', { policies });
  }

  async function refusals(action: string): Promise<string[]> {
    return (await world.calls())
      .filter((call) => call.action === action && call.error?.startsWith('AccessDenied'))
      .map((call) => `${call.operation} ${call.error}`);
  }

  const rollout = (image: string) => world.run('rollout-with-circuit-breaker', { inputs: { cluster: 'previews', service: 'web', image } });

  test('the generated policy lets the rollout through; calls without an action user agent are not checked', async () => {
    await seedService(world, { service: 'web', image: 'web:v1' });
    expect((await rollout('web:v2')).exitCode).toBe(0);
    await enforce('rollout-with-circuit-breaker');
    const run = await rollout('web:v3');
    expect(run.exitCode).toBe(0);
    expect(await refusals('rollout-with-circuit-breaker')).toEqual([]);
    expect(await world.control('/_emulator/iam')).toMatchObject({ enforcing: true });
    // The test's own SDK client has no policy at all, and is answered.
    expect((await describeService(world, 'previews', 'web'))?.taskDefinition).toMatch(/previews-web:3$/);
  });

  test('JSON protocol: without ecs:UpdateService the rollout fails with AccessDeniedException naming it, and the service stays', async () => {
    expect((await rollout('web:v4')).exitCode).toBe(0);
    await enforce('rollout-with-circuit-breaker', 'ecs:UpdateService');
    const run = await rollout('web:v5');
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(
      `AccessDeniedException: User: ${ROLE} is not authorized to perform: ecs:UpdateService on resource: arn:aws:ecs:us-east-1:123456789012:service/previews/web because no identity-based policy allows the ecs:UpdateService action`,
    );
    expect(await refusals('rollout-with-circuit-breaker')).toEqual(['UpdateService AccessDeniedException']);
    expect((await describeService(world, 'previews', 'web'))?.taskDefinition).toMatch(/previews-web:4$/);
  });

  test('without logs:GetLogEvents a failed rollout is still diagnosed, with a warning instead of the log lines', async () => {
    await world.control('/_emulator/behaviours', { image: 'web:crash', kind: 'crash', exitCode: 1, logLines: ['Error: missing DATABASE_URL'] });
    expect((await rollout('web:crash')).stdout).toContain('Error: missing DATABASE_URL');
    await enforce('rollout-with-circuit-breaker', 'logs:GetLogEvents');
    const run = await rollout('web:crash');
    expect(run.exitCode).toBe(1);
    expect(run.outputs['failure-reason']).toBe('crash-on-start');
    const warnings = run.stdout.split('\n').filter((line) => line.startsWith('::warning title=Task log not readable::'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(
      /could not be read, so the diagnosis goes on without them\. GetLogEvents for .* failed: AccessDeniedException: .*logs:GetLogEvents/,
    );
    expect(run.stdout).not.toContain('Error: missing DATABASE_URL');
    expect(run.stdout).toContain('Classification: crash on start');
  });

  test('Query protocol: without elasticloadbalancing:CreateRule provision fails with AccessDenied on the listener', async () => {
    const { listenerArn } = await sharedListener(world, 'previews', { https: true });
    const provision = (environment: string) =>
      world.run('provision-platform', {
        // Not the rollout's cluster: seeded without the capacity providers provision asks for. The action's own
        // port, count and health-check interval, where provisionInputs sets the tests' usual ones.
        inputs: provisionInputs({ cluster: 'platform', listenerArn }, environment, {
          'container-port': '80',
          'desired-count': '1',
          'health-check-interval': '15s',
        }),
      });
    // The first environment on a listener takes a shorter path than the next ones (no rules of others to read).
    for (const environment of ['pr-9', 'pr-10']) {
      expect((await provision(environment)).exitCode).toBe(0);
    }
    await enforce('provision-platform', 'elasticloadbalancing:CreateRule');
    const run = await provision('pr-11');
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(`AccessDenied: User: ${ROLE} is not authorized to perform: elasticloadbalancing:CreateRule on resource: ${listenerArn}`);
    expect(await refusals('provision-platform')).toEqual(['CreateRule AccessDenied']);
  });

  (canBuild ? test : test.skip)('registry: without ecr:PutImage the manifest push is DENIED naming the permission, after the layers went up', async () => {
    const build = (repository: string) =>
      world.run('build-push-ecr', {
        inputs: { repository, context: 'app', cache: 'false' },
        env: { GITHUB_WORKSPACE: workspace, RUNNER_TEMP: workspace },
        timeoutMs: 60_000,
      });
    expect((await build('iam-a')).exitCode).toBe(0);
    await enforce('build-push-ecr', 'ecr:PutImage');
    const run = await build('iam-b');
    expect(run.exitCode).toBe(1);
    expect(run.stdout + run.stderr).toMatch(
      /denied: User: \S+ is not authorized to perform: ecr:PutImage on resource: arn:aws:ecr:us-east-1:123456789012:repository\/iam-b/,
    );
    const { observed } = await world.control<{ observed: Observation[] }>('/_emulator/iam');
    const needed = observed.filter((o) => o.caller === 'build-push-ecr' && o.permission.resource.endsWith('/iam-b')).map((o) => o.permission.action);
    expect(needed).toEqual(expect.arrayContaining(['ecr:CreateRepository', 'ecr:InitiateLayerUpload', 'ecr:CompleteLayerUpload', 'ecr:PutImage']));
  });
});

const config = (world: World, action?: string) => ({
  endpoint: world.emulator.endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
  maxAttempts: 1,
  ...(action ? { customUserAgent: [[`action/${action}`, '0.1.0']] as [string, string][] } : {}),
});
const failure = (promise: Promise<unknown>) =>
  promise.then(
    () => 'allowed',
    (e: { name: string; message: string }) => `${e.name}: ${e.message}`,
  );
const denied = (action: string, resource: string) =>
  `User: ${ROLE} is not authorized to perform: ${action} on resource: ${resource} because no identity-based policy allows the ${action} action`;
const zoneOf = async (world: World, name: string) => {
  const route53 = new Route53Client(config(world));
  const zone = await route53.send(new CreateHostedZoneCommand({ Name: name, CallerReference: name }));
  route53.destroy();
  return (zone.HostedZone?.Id ?? '').replace('/hostedzone/', '');
};
const ownTags = (environment: string, repository = 'acme/web') => [
  { key: 'ecs-deploy-actions:managed-by', value: 'ecs-deploy-actions' },
  { key: 'ecs-deploy-actions:cluster', value: 'previews' },
  { key: 'ecs-deploy-actions:repository', value: repository },
  { key: 'ecs-deploy-actions:environment', value: environment },
];

// While `npm run iam` records, the catalog's policies are the stale ones it is about to replace.
const catalog = process.env.ECS_DEPLOY_ACTIONS_IAM_RECORD ? describe.skip : describe;

catalog("a preview role: the catalog's policies for cluster previews, the preview zone and hosts, named roles", () => {
  let world: World;
  let listenerArn: string;
  let previewZone: string;
  let otherZone: string;

  beforeAll(async () => {
    world = await startWorld();
    ({ listenerArn } = await sharedListener(world, 'previews-alb', { https: true }));
    previewZone = await zoneOf(world, 'preview.example.com');
    otherZone = await zoneOf(world, 'example.com');
    await seedService(world, { cluster: 'production', service: 'web', image: 'web:v1' });
    const values = {
      Cluster: 'previews',
      Environment: 'pr-*',
      GitHubRepository: 'acme/web',
      LoadBalancer: 'previews-alb',
      Repository: 'web',
      ExecutionRole: 'ecsTaskExecutionRole',
      TaskRole: 'web-task',
      InfrastructureRole: 'ecsInfrastructureRole',
      HostedZone: previewZone,
      HostPattern: '*.preview.example.com',
    };
    const policies = Object.fromEntries(Object.entries(catalogPolicies()).map(([action, policy]) => [action, instantiate(policy, values)]));
    await world.control('/_emulator/iam', { policies });
  });
  afterAll(() => world.stop());

  const provision = (environment: string, extra: Record<string, string> = {}) =>
    world.run('provision-platform', {
      inputs: { ...provisionInputs({ cluster: 'previews', listenerArn }, environment), 'hosted-zone-id': previewZone, ...extra },
    });

  test('lets provision-platform create a preview environment, its first cluster and DNS record included', async () => {
    const run = await provision('pr-1');
    expect(run.stdout).not.toContain('AccessDenied');
    expect(run.exitCode).toBe(0);
    expect(await refusals('provision-platform')).toEqual([]);
  });

  test('refuses UpdateService on a service in cluster production, and on a preview service another repository owns', async () => {
    const rollout = new ECSClient(config(world, 'rollout-with-circuit-breaker'));
    expect(await failure(rollout.send(new UpdateServiceCommand({ cluster: 'production', service: 'web', desiredCount: 0 })))).toBe(
      `AccessDeniedException: ${denied('ecs:UpdateService', 'arn:aws:ecs:us-east-1:123456789012:service/production/web')}`,
    );
    rollout.destroy();
    const run = await world.run('rollout-with-circuit-breaker', { inputs: { cluster: 'production', service: 'web', image: 'web:v2' } });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toMatch(
      /AccessDeniedException: User: \S+ is not authorized to perform: ecs:\w+ on resource: arn:aws:ecs:us-east-1:123456789012:\S*production/,
    );
    expect((await describeService(world, 'production', 'web'))?.taskDefinition).toMatch(/production-web:1$/);

    await seedService(world, {
      cluster: 'previews',
      service: 'pr-9',
      image: 'web:v1',
      tags: Object.fromEntries(ownTags('pr-9', 'acme/other').map((t) => [t.key, t.value])),
    });
    const provisioner = new ECSClient(config(world, 'provision-platform'));
    expect(await failure(provisioner.send(new UpdateServiceCommand({ cluster: 'previews', service: 'pr-9', desiredCount: 0 })))).toBe(
      `AccessDeniedException: ${denied('ecs:UpdateService', 'arn:aws:ecs:us-east-1:123456789012:service/previews/pr-9')}`,
    );
    // Its own environment, tagged by provision-platform above, it may change.
    expect(await failure(provisioner.send(new UpdateServiceCommand({ cluster: 'previews', service: 'pr-1', desiredCount: 1 })))).toBe('allowed');
    provisioner.destroy();
  });

  test('refuses iam:PassRole of a role it does not name, before any task definition is registered', async () => {
    const provisioner = new ECSClient(config(world, 'provision-platform'));
    const admin = 'arn:aws:iam::123456789012:role/admin';
    const register = (executionRoleArn: string) =>
      provisioner.send(
        new RegisterTaskDefinitionCommand({
          family: 'previews-pr-5',
          executionRoleArn,
          requiresCompatibilities: ['FARGATE'],
          networkMode: 'awsvpc',
          cpu: '256',
          memory: '512',
          containerDefinitions: [{ name: 'app', image: 'web:v1' }],
          tags: ownTags('pr-5'),
        }),
      );
    expect(await failure(register(admin))).toBe(`AccessDeniedException: ${denied('iam:PassRole', admin)}`);
    expect(await failure(register('arn:aws:iam::123456789012:role/ecsTaskExecutionRole'))).toBe('allowed');
    provisioner.destroy();
    // The role exists and trusts ECS tasks, so provision-platform's preflight lets it by and IAM refuses passing it.
    const iam = new IAMClient({ endpoint: world.emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });
    const trust = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Principal: { Service: 'ecs-tasks.amazonaws.com' }, Action: 'sts:AssumeRole' }] };
    await iam.send(new CreateRoleCommand({ RoleName: 'admin', AssumeRolePolicyDocument: JSON.stringify(trust) }));
    const run = await provision('pr-2', { 'execution-role-arn': admin });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain(`AccessDeniedException: ${denied('iam:PassRole', admin)}`);
  });

  test('refuses Route 53 changes to names outside the preview hosts, and in any other zone', async () => {
    const route53 = new Route53Client(config(world, 'provision-platform'));
    // As provision-platform changes records: CREATE, alias A and ownership TXT.
    const create = (zone: string, name: string) =>
      failure(
        route53.send(
          new ChangeResourceRecordSetsCommand({
            HostedZoneId: zone,
            ChangeBatch: {
              Changes: [{ Action: 'CREATE', ResourceRecordSet: { Name: name, Type: 'TXT', TTL: 300, ResourceRecords: [{ Value: '"marker"' }] } }],
            },
          }),
        ),
      );
    expect(await create(previewZone, 'pr-3.preview.example.com')).toBe('allowed');
    expect(await create(previewZone, 'preview.example.com')).toBe(
      `AccessDenied: ${denied('route53:ChangeResourceRecordSets', `arn:aws:route53:::hostedzone/${previewZone}`)}`,
    );
    expect(await create(otherZone, 'www.example.com')).toBe(
      `AccessDenied: ${denied('route53:ChangeResourceRecordSets', `arn:aws:route53:::hostedzone/${otherZone}`)}`,
    );
    route53.destroy();
  });

  async function refusals(action: string): Promise<string[]> {
    return (await world.calls()).filter((call) => call.action === action && call.error?.startsWith('AccessDenied')).map((call) => call.operation);
  }
});

// Paths the catalog's policies must cover (recorded by `npm run iam`, then run under those policies).
describe('calls only some runs make', () => {
  test('hosted-zone-id added to an existing environment: its target group is tagged with the record, which is created', async () => {
    const world = await startWorld();
    try {
      const { listenerArn } = await sharedListener(world, 'previews-alb', { https: true });
      const zone = await zoneOf(world, 'preview.example.com');
      const inputs = provisionInputs({ cluster: 'previews', listenerArn }, 'pr-20');
      expect((await world.run('provision-platform', { inputs })).exitCode).toBe(0);
      const again = await world.run('provision-platform', { inputs: { ...inputs, 'hosted-zone-id': zone } });
      expect(again.stdout).not.toContain('AccessDenied');
      expect(again.exitCode).toBe(0);
      const groupArn = again.outputs['target-group-arn'] ?? '';
      const tags = (await world.elb.send(new DescribeTagsCommand({ ResourceArns: [groupArn] }))).TagDescriptions?.[0]?.Tags ?? [];
      expect(tags).toContainEqual({ Key: 'ecs-deploy-actions:dns-record', Value: `${zone}/pr-20.preview.example.com` });
      const route53 = new Route53Client(config(world));
      const records = await route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: zone }));
      route53.destroy();
      expect(records.ResourceRecordSets?.filter((r) => r.Type === 'A').map((r) => r.Name)).toEqual(['pr-20.preview.example.com.']);
    } finally {
      await world.stop();
    }
  });

  test('a first cluster and ALB in an account create ECS and ELB service-linked roles; without the permission the ALB is refused', async () => {
    const world = await startWorld();
    try {
      const { 'listener-arn': _, ...inputs } = provisionInputs({ cluster: 'fresh', listenerArn: '' }, 'pr-30', {
        'certificate-arn': 'arn:aws:acm:us-east-1:123456789012:certificate/0a1b2c3d-0000-4000-8000-000000000002',
        'load-balancer-subnets': SUBNETS.join(','),
        'load-balancer-security-groups': SECURITY_GROUP,
      });
      const serviceLinkedRoles = async () => (await world.control<{ serviceLinkedRoles: string[] }>('/_emulator/state')).serviceLinkedRoles;
      const first = await world.run('provision-platform', { inputs });
      expect(first.stdout).not.toContain('AccessDenied');
      expect(first.exitCode).toBe(0);
      expect(await serviceLinkedRoles()).toEqual(['ecs.amazonaws.com', 'elasticloadbalancing.amazonaws.com']);

      // A new account, and the policy that run needed without iam:CreateServiceLinkedRole.
      const { observed } = await world.control<{ observed: Observation[] }>('/_emulator/iam');
      const lines = observed
        .filter((o) => o.caller === 'provision-platform' && o.permission.action !== 'iam:CreateServiceLinkedRole')
        .map((o) => observedLine(o.permission));
      await world.control('/_emulator/reset', {});
      await world.control('/_emulator/iam', { policies: { 'provision-platform': instantiate(policyFor(lines), WILDCARDS) } });
      const refused = await world.run('provision-platform', { inputs });
      expect(refused.exitCode).toBe(1);
      expect(refused.stdout).toContain(
        `AccessDenied: ${denied('iam:CreateServiceLinkedRole', 'arn:aws:iam::123456789012:role/aws-service-role/elasticloadbalancing.amazonaws.com/AWSServiceRoleForElasticLoadBalancing')}`,
      );
      // ECS made the cluster all the same, without its role.
      expect(await serviceLinkedRoles()).toEqual([]);
    } finally {
      await world.stop();
    }
  });
});
