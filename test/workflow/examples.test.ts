// The example workflows users copy, run end to end for each of their events: the real bundles against the
// emulator (ECS, ELB, ECR with its registry, GitHub), asserting the AWS and GitHub state they leave.
import { spawnSync } from 'node:child_process';
import { cpSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { root } from '../helpers/run-bundle.ts';
import { describe as describeService, SECURITY_GROUP, SUBNETS, sharedListener, startWorld, taggedResources, type World } from '../helpers/world.ts';
import { dispatchEvent, pullRequestEvent, pushEvent, runWorkflow, scheduleEvent, type WorkflowEvent, type WorkflowRun } from './harness.ts';
import { STS_AUDIENCE, type TrustPolicy, trusts } from './oidc.ts';

const canBuild = ['buildah', 'docker-registry'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);
if (!canBuild) console.warn('examples.test: skipped: buildah or docker-registry is not installed (apt-get install -y buildah docker-registry)');
const suite = canBuild ? describe : describe.skip;

const token = 'ghs_workflowTokenForTheEmulator0000';
let world: World;
let workspace: string;
let vars: Record<string, string>;
let environments: Record<string, { vars: Record<string, string> }>;

/** The trust policies README tells users to write, for the repository the harness runs as (acme/web). */
function readmeTrustPolicies(): Record<string, TrustPolicy> {
  const readme = readFileSync(join(root, 'README.md'), 'utf8');
  const policies: Record<string, TrustPolicy> = {};
  for (const [, name = '', json = ''] of readme.matchAll(/<!-- trust-policy: ([\w-]+) -->\s*```json\n([\s\S]*?)```/g)) {
    policies[name] = JSON.parse(json.replaceAll('my-org/my-app', 'acme/web')) as TrustPolicy;
  }
  return policies;
}
const trust = readmeTrustPolicies();
const ROLES = {
  previews: 'arn:aws:iam::123456789012:role/web-previews',
  staging: 'arn:aws:iam::123456789012:role/web-staging',
  production: 'arn:aws:iam::123456789012:role/web-production',
};

beforeAll(async () => {
  world = await startWorld({ registry: canBuild });
  const { listenerArn } = await sharedListener(world, 'previews', { https: true });
  // Repository variables, and each environment's own, as README's setup steps set them.
  vars = {
    AWS_PREVIEW_ROLE_ARN: ROLES.previews,
    AWS_REGION: 'us-east-1',
    PREVIEW_LISTENER_ARN: listenerArn,
    ECS_EXECUTION_ROLE_ARN: 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
    PREVIEW_SUBNETS: SUBNETS.join(','),
    PREVIEW_SECURITY_GROUPS: SECURITY_GROUP,
  };
  environments = {
    previews: { vars: {} },
    staging: { vars: { AWS_DEPLOY_ROLE_ARN: ROLES.staging } },
    production: { vars: { AWS_DEPLOY_ROLE_ARN: ROLES.production, PRODUCTION_ALARMS: 'web-production-5xx' } },
  };
  // The user's repository: the example app at its root, as a git checkout.
  workspace = mkdtempSync(join(tmpdir(), 'examples-checkout-'));
  cpSync(join(root, 'workflows-examples', 'app'), workspace, { recursive: true });
});
afterAll(async () => {
  await world?.stop();
  rmSync(workspace, { recursive: true, force: true });
});

function run(file: string, event: WorkflowEvent, override: { vars?: Record<string, string> } = {}): Promise<WorkflowRun> {
  return runWorkflow({
    file: join(root, 'workflows-examples', file),
    event,
    workspace,
    vars: { ...vars, ...override.vars },
    environments,
    // Each role exists with README's trust policy: a job assumes it only if the policy accepts its token.
    roles: { [ROLES.previews]: policy('previews'), [ROLES.staging]: policy('staging'), [ROLES.production]: policy('production') },
    secrets: { GITHUB_TOKEN: token },
    env: { AWS_ENDPOINT_URL: world.emulator.endpoint, GITHUB_API_URL: world.emulator.githubApiUrl, ECS_DEPLOY_ACTIONS_TIME_SCALE: String(world.timeScale) },
  });
}

async function github<T>(path: string): Promise<T> {
  return (await (await fetch(`${world.emulator.githubApiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } })).json()) as T;
}
const comments = (number: number) => github<{ id: number; body: string }[]>(`/repos/acme/web/issues/${number}/comments`);
const latestStatus = async (environment: string) => {
  const [deployment] = await github<{ id: number }[]>(`/repos/acme/web/deployments?environment=${environment}`);
  return (await github<{ state: string; environment_url?: string }[]>(`/repos/acme/web/deployments/${deployment?.id}/statuses`))[0];
};

function policy(name: string): TrustPolicy {
  const found = trust[name];
  if (!found) throw new Error(`README has no trust policy marked <!-- trust-policy: ${name} -->`);
  return found;
}

function ecr(): ECRClient {
  return new ECRClient({ endpoint: world.emulator.endpoint, region: 'us-east-1', credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' } });
}

function stepLog(result: WorkflowRun, job: string): string {
  return (result.jobs[job]?.steps ?? []).map((step) => `${step.name}: ${step.outcome}\n${step.log}`).join('\n');
}

suite('preview.yml', () => {
  test('opened: built, deployed, URL on the pull request and its deployment; the teardown job is skipped', async () => {
    const result = await run('preview.yml', pullRequestEvent('opened', 7, { headSha: 'a'.repeat(40) }));
    expect(result.triggered).toBe(true);
    expect(result.jobs.deploy?.result).toBe('success');
    expect(result.jobs.teardown?.result).toBe('skipped');
    expect(result.concurrency).toEqual({ group: 'ecs-deploy-previews-pr-7', cancelInProgress: false });
    expect(result.jobs.deploy?.steps.find((step) => step.id === 'image')?.outputs.skipped).toBe('false');
    // A pull request pushes to the previews repository (and its layer cache) only; the release repository does not even exist yet.
    const repositories = (await ecr().send(new DescribeRepositoriesCommand({}))).repositories?.map((repository) => repository.repositoryName);
    expect(repositories?.sort()).toEqual(['web-previews', 'web-previews-cache']);
    const thread = await comments(7);
    expect(thread).toHaveLength(1);
    expect(thread[0]?.body).toContain('| URL | https://pr-7.preview.example.com |');
    expect(thread[0]?.body).toContain('| Status | deployed |');
    expect(await latestStatus('pr-7')).toMatchObject({ state: 'success', environment_url: 'https://pr-7.preview.example.com' });
    expect(await taggedResources(world, 'pr-7')).not.toEqual([]);
  }, 300_000);

  test('synchronize: a new image rolls out and the same comment is updated; nothing in progress is cancelled', async () => {
    const before = (await comments(7))[0];
    writeFileSync(join(workspace, 'index.html'), '<p>Hello again.</p>\n');
    const result = await run('preview.yml', pullRequestEvent('synchronize', 7, { headSha: 'b'.repeat(40) }));
    expect(result.jobs.deploy?.result).toBe('success');
    expect(result.concurrency).toEqual({ group: 'ecs-deploy-previews-pr-7', cancelInProgress: false });
    const thread = await comments(7);
    expect(thread.map((comment) => comment.id)).toEqual([before?.id]);
    expect(thread[0]?.body).toContain('| Revision | previews_pr-7:2 |');
    expect(thread[0]?.body).not.toEqual(before?.body);
  }, 300_000);

  test('a pull request cannot assume the production or staging role, even if a variable names it', async () => {
    for (const role of [ROLES.production, ROLES.staging]) {
      const result = await run('preview.yml', pullRequestEvent('opened', 9), { vars: { AWS_PREVIEW_ROLE_ARN: role } });
      expect(result.jobs.deploy?.result).toBe('failure');
      const configure = result.jobs.deploy?.steps.find((step) => step.uses?.startsWith('aws-actions/configure-aws-credentials@'));
      expect(configure?.log).toContain('Not authorized to perform sts:AssumeRoleWithWebIdentity');
      expect(configure?.log).toContain('sub repo:acme/web:pull_request');
    }
    expect(await taggedResources(world, 'pr-9')).toEqual([]);
  }, 60_000);

  test('a pull request from a fork is not deployed (no credentials for it)', async () => {
    const result = await run('preview.yml', pullRequestEvent('opened', 8, { headRepository: 'someone/web' }));
    expect(result.jobs.deploy?.result).toBe('skipped');
    expect(await taggedResources(world, 'pr-8')).toEqual([]);
  }, 60_000);

  test('closed: everything pr-7 owned is gone, the comment says destroyed, its deployments are inactive', async () => {
    const result = await run('preview.yml', pullRequestEvent('closed', 7, { headSha: 'b'.repeat(40) }));
    expect(result.jobs.deploy?.result).toBe('skipped');
    expect(result.jobs.teardown?.result).toBe('success');
    expect(result.concurrency).toEqual({ group: 'ecs-deploy-previews-pr-7', cancelInProgress: false });
    expect(await taggedResources(world, 'pr-7')).toEqual([]);
    const thread = await comments(7);
    expect(thread).toHaveLength(1);
    expect(thread[0]?.body).toContain('`pr-7`: destroyed');
    expect((await latestStatus('pr-7'))?.state).toBe('inactive');
  }, 300_000);
  test('reopened after close: the environment comes back and the same comment shows it live again', async () => {
    const result = await run('preview.yml', pullRequestEvent('reopened', 7, { headSha: 'b'.repeat(40) }));
    expect(result.jobs.deploy?.result).toBe('success');
    const thread = await comments(7);
    expect(thread).toHaveLength(1);
    expect(thread[0]?.body).not.toContain('`pr-7`: destroyed');
    expect(thread[0]?.body).toContain('| Status | deployed |');
    expect(thread[0]?.body).toContain('| URL | https://pr-7.preview.example.com |');
    expect((await run('preview.yml', pullRequestEvent('closed', 7, { headSha: 'b'.repeat(40) }))).jobs.teardown?.result).toBe('success');
    expect(await taggedResources(world, 'pr-7')).toEqual([]);
  }, 300_000);
});

suite('release.yml, rollback.yml', () => {
  const provision = (environment: string) =>
    world.run('provision-platform', {
      inputs: {
        environment,
        cluster: 'apps',
        'listener-arn': vars.PREVIEW_LISTENER_ARN ?? '',
        'host-pattern': '{env}.example.com',
        image: 'web:v0',
        'execution-role-arn': vars.ECS_EXECUTION_ROLE_ARN ?? '',
        subnets: SUBNETS.join(','),
        'security-groups': SECURITY_GROUP,
        'health-check-interval': '10s',
      },
    });

  beforeAll(async () => {
    for (const environment of ['staging', 'production']) expect((await provision(environment)).exitCode).toBe(0);
  }, 300_000);

  const sha = 'c'.repeat(40);

  test('push to main: built once into the immutable release repository, staging, then the same digest in production', async () => {
    writeFileSync(join(workspace, 'index.html'), '<p>Release 1.</p>\n');
    const result = await run('release.yml', pushEvent('refs/heads/main', sha));
    expect(result.jobs.staging?.result).toBe('success');
    expect(result.jobs.production?.result).toBe('success');
    const image = result.jobs.staging?.outputs.image ?? '';
    expect(image).toMatch(/\/web@sha256:[0-9a-f]{64}$/);
    const staging = result.jobs.staging?.steps.find((step) => step.id === 'rollout');
    const production = result.jobs.production?.steps.find((step) => step.id === 'rollout');
    expect(staging?.outputs.status).toBe('successful');
    expect(production?.outputs.status).toBe('successful');
    // Production deploys the digest staging ran, and builds or pushes nothing.
    expect(production?.inputs.image).toBe(image);
    expect(result.jobs.production?.steps.some((step) => step.uses?.includes('build-push-ecr'))).toBe(false);
    const [repository] = (await ecr().send(new DescribeRepositoriesCommand({ repositoryNames: ['web'] }))).repositories ?? [];
    expect(repository?.imageTagMutability).toBe('IMMUTABLE');
    // Each job in its environment's group, assuming that environment's role.
    expect(result.jobs.staging?.concurrency).toEqual({ group: 'ecs-deploy-apps-staging', cancelInProgress: false });
    expect(result.jobs.production?.concurrency).toEqual({ group: 'ecs-deploy-apps-production', cancelInProgress: false });
    expect(stepLog(result, 'production')).toContain(`assumed ${ROLES.production}`);
    expect(stepLog(result, 'staging')).toContain(`assumed ${ROLES.staging}`);
    expect(result.jobs.production?.environment).toEqual({ name: 'production', url: 'https://www.example.com', approved: true });
    // Production deployed watching its alarm; staging, which names none, did not.
    const alarms = async (environment: string) => (await describeService(world, 'apps', environment))?.deploymentConfiguration?.alarms;
    expect(await alarms('production')).toEqual({ alarmNames: ['web-production-5xx'], enable: true, rollback: true });
    expect((await alarms('staging'))?.enable).not.toBe(true);
  }, 300_000);

  test('a release whose image crashes: staging rolls back, the summary explains it, production never starts', async () => {
    writeFileSync(join(workspace, 'index.html'), '<p>Release 2, broken.</p>\n');
    const brokenSha = 'd'.repeat(40);
    // The digest the release will build, to make exactly that image crash in the emulator.
    const prebuilt = await world.run('build-push-ecr', {
      inputs: { repository: 'web' },
      env: { GITHUB_WORKSPACE: workspace, GITHUB_SHA: brokenSha, GITHUB_EVENT_NAME: 'push' },
    });
    expect(prebuilt.exitCode).toBe(0);
    await world.control('/_emulator/behaviours', { image: prebuilt.outputs.digest, kind: 'crash', exitCode: 1, logLines: ['Error: missing DATABASE_URL'] });
    const result = await run('release.yml', pushEvent('refs/heads/main', brokenSha));
    expect(result.jobs.staging?.steps.find((step) => step.id === 'image')?.outputs.skipped).toBe('true');
    expect(result.jobs.staging?.result).toBe('failure');
    expect(result.jobs.production?.result).toBe('skipped');
    const explain = result.jobs.staging?.steps.find((step) => step.name === 'Explain the failure');
    expect(explain?.outcome).toBe('success');
    expect(explain?.summary).toMatch(/Staging rollout failed: crash-on-start/);
    expect(explain?.summary).toMatch(/ECS put the service back on arn:aws:ecs:.*task-definition\/apps_staging:2/);
  }, 300_000);

  test('tag v1.2.3 on the released commit: no build, the same digest gets v1.2.3, staging and production roll', async () => {
    const result = await run('release.yml', pushEvent('refs/tags/v1.2.3', sha));
    expect(result.triggered).toBe(true);
    const build = result.jobs.staging?.steps.find((step) => step.id === 'image');
    expect(build?.outputs.skipped).toBe('true');
    expect(build?.outputs.tags?.split(',')).toEqual(expect.arrayContaining(['v1.2.3', sha]));
    expect(result.jobs.production?.result).toBe('success');
    const images = (await ecr().send(new DescribeImagesCommand({ repositoryName: 'web', imageIds: [{ imageTag: 'v1.2.3' }] }))).imageDetails ?? [];
    expect(`web@${images[0]?.imageDigest}`).toBe(/[^/]+$/.exec(result.jobs.production?.steps.find((step) => step.id === 'rollout')?.inputs.image ?? '')?.[0]);
  }, 300_000);

  test('rollback.yml: production goes back to the previous revision', async () => {
    const revision = async () => Number(/:(\d+)$/.exec((await describeService(world, 'apps', 'production'))?.taskDefinition ?? '')?.[1]);
    const before = await revision();
    const result = await run('rollback.yml', dispatchEvent({ environment: 'production', revision: 'previous' }));
    expect(result.jobs.rollback?.result).toBe('success');
    expect(result.jobs.rollback?.environment?.name).toBe('production');
    expect(result.jobs.rollback?.concurrency).toEqual({ group: 'ecs-deploy-apps-production', cancelInProgress: false });
    expect(stepLog(result, 'rollback')).toContain(`assumed ${ROLES.production}`);
    expect(await revision()).toBe(before - 1);
  }, 300_000);
});

suite('nightly-sleep.yml, sweep.yml', () => {
  test('the evening cron sleeps the previews and staging; the morning cron wakes them as they were', async () => {
    expect((await run('preview.yml', pullRequestEvent('opened', 12, { headSha: 'f'.repeat(40) }))).jobs.deploy?.result).toBe('success');
    const staging = async () => (await describeService(world, 'apps', 'staging'))?.desiredCount;
    const stagingAwake = await staging();
    expect(stagingAwake).toBeGreaterThan(0);
    const night = await run('nightly-sleep.yml', scheduleEvent('0 20 * * 1-5'));
    expect(night.jobs.previews?.result).toBe('success');
    expect(night.jobs.staging?.result).toBe('success');
    const sleep = night.jobs.previews?.steps.find((step) => step.uses?.includes('scale-schedule'));
    expect(sleep?.outputs.changed).toBe('1');
    expect((await describeService(world, 'previews', 'pr-12'))?.desiredCount).toBe(0);
    // Staging lives in the apps cluster, and sleeps under the staging role in staging's group.
    expect(await staging()).toBe(0);
    expect(stepLog(night, 'staging')).toContain(`assumed ${ROLES.staging}`);
    expect(night.jobs.staging?.concurrency).toEqual({ group: 'ecs-deploy-apps-staging', cancelInProgress: false });
    expect(stepLog(night, 'previews')).toContain(`assumed ${ROLES.previews}`);
    const morning = await run('nightly-sleep.yml', scheduleEvent('0 6 * * 1-5'));
    const wake = morning.jobs.previews?.steps.find((step) => step.uses?.includes('scale-schedule'));
    expect(morning.jobs.previews?.result).toBe('success');
    expect(morning.jobs.staging?.result).toBe('success');
    expect(wake?.outputs.changed).toBe('1');
    expect((await describeService(world, 'previews', 'pr-12'))?.desiredCount).toBe(1);
    expect(await staging()).toBe(stagingAwake);
    // By hand: the dispatched mode wins over the schedule.
    const manual = await run('nightly-sleep.yml', dispatchEvent({ mode: 'sleep' }));
    expect(manual.jobs.previews?.steps.find((step) => step.uses?.includes('scale-schedule'))?.inputs.mode).toBe('sleep');
    expect((await describeService(world, 'previews', 'pr-12'))?.desiredCount).toBe(0);
    expect((await run('nightly-sleep.yml', dispatchEvent({ mode: 'wake' }))).jobs.previews?.result).toBe('success');
  }, 300_000);

  test('sweep: a dispatched dry run lists, the daily run removes the environment of a closed pull request', async () => {
    await world.control('/_emulator/github/pulls', { owner: 'acme', repo: 'web', number: 11, state: 'open' });
    const opened = await run('preview.yml', pullRequestEvent('opened', 11, { headSha: 'e'.repeat(40) }));
    expect(opened.jobs.deploy?.result).toBe('success');
    // The pull request closes, but its teardown never runs (a cancelled workflow, say).
    await world.control('/_emulator/github/pulls', { owner: 'acme', repo: 'web', number: 11, state: 'closed' });
    const dry = await run('sweep.yml', dispatchEvent({ 'dry-run': 'true' }));
    expect(dry.jobs.sweep?.result).toBe('success');
    expect(await taggedResources(world, 'pr-11')).not.toEqual([]);
    const daily = await run('sweep.yml', scheduleEvent('30 3 * * *'));
    expect(daily.jobs.sweep?.steps.at(-1)?.outputs.swept).toBe('pr-11');
    expect(await taggedResources(world, 'pr-11')).toEqual([]);
    expect((await comments(11))[0]?.body).toContain('`pr-11`: destroyed');
  }, 300_000);
});

describe("README's trust policies", () => {
  const subjects = {
    pullRequest: 'repo:acme/web:pull_request',
    previews: 'repo:acme/web:environment:previews',
    staging: 'repo:acme/web:environment:staging',
    production: 'repo:acme/web:environment:production',
    main: 'repo:acme/web:ref:refs/heads/main',
    branch: 'repo:acme/web:ref:refs/heads/feature',
    tag: 'repo:acme/web:ref:refs/tags/v9.9.9',
    otherRepository: 'repo:acme/web-fork:environment:production',
  };
  const accepted = (role: string) =>
    Object.entries(subjects)
      .filter(([, sub]) => trusts(policy(role), { sub, aud: STS_AUDIENCE }))
      .map(([name]) => name);

  test('each role accepts only its own subjects: no branch, tag or pull request reaches staging or production', () => {
    expect(accepted('previews')).toEqual(['pullRequest', 'previews']);
    expect(accepted('staging')).toEqual(['staging']);
    expect(accepted('production')).toEqual(['production']);
  });

  test('a token for another audience is refused', () => {
    expect(trusts(policy('production'), { sub: subjects.production, aud: 'https://github.com/acme' })).toBe(false);
  });
});
