// Secrets through every path, successes and failures: the GitHub token, AWS credentials, the Actions
// runtime token, the ECR registry password and secret-looking environment variables never show up in
// a step's log, summary or outputs (only in the runner's ::add-mask:: line), nor in what it writes to
// the pull request; even when a crashing container logs them and the step prints its last log lines.
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import type { BundleRun } from '../helpers/run-bundle.ts';
import { maskedValues, outputLines } from '../helpers/workflow-commands.ts';
import { SECURITY_GROUP, SUBNETS, sharedListener, startWorld, type World } from '../helpers/world.ts';

const value = (name: string) => `${name}-${randomBytes(12).toString('hex')}`;
const secrets = {
  githubToken: `ghs_${randomBytes(18).toString('hex')}`,
  awsSecretAccessKey: value('aws-secret'),
  awsSessionToken: value('aws-session'),
  actionsRuntimeToken: value('runtime'),
  apiToken: value('api-token'),
  dbPassword: value('db-password'),
  appSecret: value('app-secret'),
};

/** What the runner gives every step; configure-aws-credentials puts the AWS credentials there. */
const runnerEnv = {
  AWS_SECRET_ACCESS_KEY: secrets.awsSecretAccessKey,
  AWS_SESSION_TOKEN: secrets.awsSessionToken,
  ACTIONS_RUNTIME_TOKEN: secrets.actionsRuntimeToken,
  GITHUB_EVENT_NAME: 'pull_request',
};

const environmentVariables = `API_TOKEN=${secrets.apiToken}\nDB_PASSWORD=${secrets.dbPassword}\nAPP_SECRET=${secrets.appSecret}\nLOG_LEVEL=debug`;

/** A container that prints its configuration before it crashes, as failing apps do. */
const leakyLogLines = [
  `starting with API_TOKEN=${secrets.apiToken}`,
  `DB_PASSWORD=${secrets.dbPassword} APP_SECRET=${secrets.appSecret}`,
  'fatal: cannot connect',
];

const pullRequest = (number: number, state = 'open') => ({
  action: state === 'open' ? 'synchronize' : 'closed',
  number,
  pull_request: { number, state, head: { sha: 'a'.repeat(40), ref: `feature-${number}` } },
  repository: { full_name: 'acme/web' },
});

/** The names of the secrets that show up anywhere but in their own ::add-mask:: line. */
function leaked(run: BundleRun, values: Record<string, string> = secrets): string[] {
  const log = outputLines(run.stdout)
    .filter((line) => !line.startsWith('::add-mask::'))
    .join('\n');
  const places = [log, run.stderr, run.summary, ...Object.values(run.outputs)];
  return Object.entries(values)
    .filter(([, secret]) => places.some((text) => text.includes(secret)))
    .map(([name]) => name);
}

describe('deploying: provision, rollout, run-before, rollback, teardown', () => {
  let world: World;
  let listenerArn: string;
  let databaseUrlArn: string;

  beforeAll(async () => {
    world = await startWorld();
    ({ listenerArn } = await sharedListener(world, 'previews', { https: true }));
    // The secret must exist: provision-platform's preflight checks every reference.
    const secretsManager = new SecretsManagerClient({
      endpoint: world.emulator.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'x' },
    });
    databaseUrlArn = (await secretsManager.send(new CreateSecretCommand({ Name: 'db', SecretString: secrets.dbPassword }))).ARN ?? '';
    await world.control('/_emulator/behaviours', { image: 'web:leaky', kind: 'crash', exitCode: 1, logLines: leakyLogLines });
    await world.control('/_emulator/behaviours', { image: 'web:v1', kind: 'exit', exitCode: 3, command: ['migrate'], logLines: leakyLogLines });
  });
  afterAll(() => world.stop());

  const provision = (environment: string, image: string, number: number) =>
    world.run('provision-platform', {
      inputs: {
        environment,
        cluster: 'previews',
        'listener-arn': listenerArn,
        'host-pattern': '{env}.preview.example.com',
        image,
        'execution-role-arn': 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
        subnets: SUBNETS.join(','),
        'security-groups': SECURITY_GROUP,
        'health-check-interval': '10s',
        'environment-variables': environmentVariables,
        secrets: `DATABASE_URL=${databaseUrlArn}`,
        'github-token': secrets.githubToken,
      },
      env: runnerEnv,
      event: pullRequest(number),
    });

  /** Nothing the steps wrote to the pull request (comments, deployments, statuses) holds a secret. */
  async function leakedToGithub(): Promise<string[]> {
    const state = JSON.stringify((await world.control<{ github: unknown }>('/_emulator/state')).github);
    return Object.entries(secrets)
      .filter(([name, secret]) => name !== 'githubToken' && state.includes(secret))
      .map(([name]) => name);
  }

  test('provision succeeds: the token and the secret-looking variables stay out of the log, summary and outputs', async () => {
    const run = await provision('pr-8', 'web:v1', 8);
    expect(run.exitCode).toBe(0);
    expect(maskedValues(run.stdout)).toEqual(expect.arrayContaining([secrets.githubToken, secrets.apiToken, secrets.dbPassword, secrets.appSecret]));
    expect(leaked(run)).toEqual([]);
    expect(await leakedToGithub()).toEqual([]);
  }, 60_000);

  test('provision fails on a container that logs its secrets: its last log lines are shown, with the values masked', async () => {
    const run = await provision('pr-9', 'web:leaky', 9);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('fatal: cannot connect');
    expect(run.stdout).toContain('starting with API_TOKEN=***');
    expect(maskedValues(run.stdout)).toEqual(expect.arrayContaining([secrets.apiToken, secrets.dbPassword, secrets.appSecret]));
    expect(leaked(run)).toEqual([]);
    expect(await leakedToGithub()).toEqual([]);
  }, 60_000);

  test('a rollout that crashes, with the variables copied from the running revision: no value in the log or summary', async () => {
    const run = await world.run('rollout-with-circuit-breaker', {
      inputs: { cluster: 'previews', environment: 'pr-8', image: 'web:leaky', 'github-token': secrets.githubToken },
      env: runnerEnv,
      event: pullRequest(8),
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('DB_PASSWORD=*** APP_SECRET=***');
    expect(run.stdout).toMatch(/::warning title=Task definition hardening::app: environment\.API_TOKEN looks like a secret/);
    expect(leaked(run)).toEqual([]);
    expect(await leakedToGithub()).toEqual([]);
  }, 60_000);

  test('a run-before command that fails after logging the secrets: its log lines are masked', async () => {
    const run = await world.run('rollout-with-circuit-breaker', {
      inputs: { cluster: 'previews', environment: 'pr-8', image: 'web:v1', 'run-before': 'migrate', 'github-token': secrets.githubToken },
      env: runnerEnv,
      event: pullRequest(8),
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('The run-before command failed (exit code 3)');
    expect(run.stdout).toContain('run-before | starting with API_TOKEN=***');
    expect(leaked(run)).toEqual([]);
  }, 60_000);

  test('a rollback to the crashing revision fails with the same care', async () => {
    const run = await world.run('rollback-to-revision', { inputs: { cluster: 'previews', environment: 'pr-8', to: '2' }, env: runnerEnv });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('starting with API_TOKEN=***');
    expect(leaked(run)).toEqual([]);
  }, 60_000);

  test('scale-schedule and teardown (environment and sweep): nothing leaks', async () => {
    const sleep = await world.run('scale-schedule', { inputs: { mode: 'sleep', cluster: 'previews', environments: 'pr-*' }, env: runnerEnv });
    expect(sleep.exitCode).toBe(0);
    expect(leaked(sleep)).toEqual([]);
    const teardown = await world.run('teardown-env', {
      inputs: { cluster: 'previews', environment: 'pr-9', 'github-token': secrets.githubToken },
      env: runnerEnv,
      event: pullRequest(9, 'closed'),
    });
    expect(teardown.exitCode).toBe(0);
    expect(leaked(teardown)).toEqual([]);
    await world.control('/_emulator/github/pulls', { owner: 'acme', repo: 'web', number: 8, state: 'closed' });
    const sweep = await world.run('teardown-env', { inputs: { cluster: 'previews', mode: 'sweep', 'github-token': secrets.githubToken }, env: runnerEnv });
    expect(sweep.exitCode).toBe(0);
    expect(leaked(sweep)).toEqual([]);
    expect(await leakedToGithub()).toEqual([]);
  }, 120_000);

  test('a GitHub that refuses the token: the warnings do not show it', async () => {
    const run = await world.run('rollout-with-circuit-breaker', {
      inputs: { cluster: 'previews', service: 'nope', image: 'web:v1', 'github-token': secrets.githubToken },
      env: { ...runnerEnv, GITHUB_API_URL: `${world.emulator.endpoint}/github-missing` },
      event: pullRequest(8),
    });
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('::warning title=GitHub::');
    expect(leaked(run)).toEqual([]);
  }, 60_000);
});

const canBuild = ['buildah', 'docker-registry'].every((bin) => spawnSync(bin, ['--version'], { stdio: 'ignore' }).status === 0);
if (!canBuild) console.warn('secrets.test: build-push-ecr skipped: buildah or docker-registry is not installed');

(canBuild ? describe : describe.skip)('build-push-ecr: the registry password', () => {
  let world: World;
  let workspace: string;
  let runnerTemp: string;

  beforeAll(async () => {
    world = await startWorld({ registry: true });
    workspace = mkdtempSync(join(tmpdir(), 'secrets-workspace-'));
    runnerTemp = mkdtempSync(join(tmpdir(), 'secrets-runner-'));
    mkdirSync(join(workspace, 'app'));
    writeFileSync(join(workspace, 'app', 'hello.txt'), 'hello\n');
    writeFileSync(join(workspace, 'app', 'Dockerfile'), 'FROM scratch\nCOPY hello.txt /hello.txt\n');
    writeFileSync(join(workspace, 'app', 'Broken.Dockerfile'), 'FROM scratch\nCOPY missing.txt /missing.txt\n');
  });
  afterAll(async () => {
    await world.stop();
    rmSync(workspace, { recursive: true, force: true });
    rmSync(runnerTemp, { recursive: true, force: true });
  });

  // A new RUNNER_TEMP each time, as a fresh runner has.
  const build = (inputs: Record<string, string>, sha: string) =>
    world.run('build-push-ecr', {
      inputs: { repository: 'web', context: 'app', cache: 'true', ...inputs },
      env: {
        ...runnerEnv,
        GITHUB_WORKSPACE: workspace,
        RUNNER_TEMP: mkdtempSync(join(runnerTemp, 'run-')),
        GITHUB_SHA: sha,
      },
    });

  /** The registry token and the password inside it, as the step masked them. */
  function registryCredentials(run: BundleRun): Record<string, string> {
    const token = maskedValues(run.stdout).find((masked) => Buffer.from(masked, 'base64').toString().startsWith('AWS:')) ?? '';
    expect(token).not.toBe('');
    return { registryToken: token, registryPassword: Buffer.from(token, 'base64').toString().slice(4) };
  }

  test('a build and push: masked, and nowhere else', async () => {
    const run = await build({ tags: 'v1' }, '1'.repeat(40));
    expect(run.exitCode).toBe(0);
    expect(leaked(run, { ...secrets, ...registryCredentials(run) })).toEqual([]);
  }, 180_000);

  test('a build that fails after the login: masked, and nowhere else', async () => {
    const run = await build({ dockerfile: 'app/Broken.Dockerfile', tags: 'v2' }, '2'.repeat(40));
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toContain('missing.txt');
    expect(leaked(run, { ...secrets, ...registryCredentials(run) })).toEqual([]);
  }, 180_000);
});
