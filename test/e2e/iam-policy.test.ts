// The policies in action-catalog.md, enforced: each bundle runs under exactly its documented policy, and a
// call that policy does not allow is refused as AWS refuses it (JSON, Query and the image registry).
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, expect, test } from '@jest/globals';
import type { Observation, PolicyDocument } from '../../emulator/iam.ts';
import { observedLine, policyFor } from '../../scripts/iam-policy.ts';
import { describe as describeService, SECURITY_GROUP, SUBNETS, seedService, sharedListener, startWorld, type World } from '../helpers/world.ts';

const canBuild = ['buildah', 'docker-registry'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);
const ROLE = 'arn:aws:sts::123456789012:assumed-role/github-actions-deploy/GitHubActions';

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
  const policies: Record<string, PolicyDocument> = { [action]: policyFor(lines) };
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
      inputs: {
        environment,
        // Not the rollout's cluster: seeded without the capacity providers provision asks for.
        cluster: 'platform',
        'listener-arn': listenerArn,
        'host-pattern': '{env}.preview.example.com',
        image: 'web:v1',
        'execution-role-arn': 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
        subnets: SUBNETS.join(','),
        'security-groups': SECURITY_GROUP,
      },
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
