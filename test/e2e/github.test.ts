// What a pull request shows: one comment per environment, edited in place across provision, rollouts
// and teardown, and GitHub Deployments with their statuses, read back through GitHub's REST API.
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import { provisionInputs } from '../helpers/provisioned.ts';
import { SECURITY_GROUP, SUBNETS, sharedListener, startWorld, type World } from '../helpers/world.ts';

/** The action's own port and count, where provisionInputs sets the tests' usual 8080 and 2. */
const ACTION_DEFAULTS = { 'container-port': '80', 'desired-count': '1' };

let world: World;
let listenerArn: string;
const token = 'ghs_exampleTokenForTheEmulator000000';
const HEAD_1 = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const HEAD_2 = 'bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb';

beforeAll(async () => {
  world = await startWorld();
  ({ listenerArn } = await sharedListener(world, 'previews', { https: true }));
});
afterAll(() => world.stop());

const pullRequestEvent = (number: number, action: string, headSha: string) => ({
  action,
  number,
  pull_request: { number, state: action === 'closed' ? 'closed' : 'open', head: { sha: headSha, ref: `feature-${number}` } },
  repository: { full_name: 'acme/web' },
});

function run(action: string, inputs: Record<string, string>, event: unknown) {
  return world.run(action, { inputs: { 'github-token': token, ...inputs }, event, env: { GITHUB_EVENT_NAME: 'pull_request' } });
}

async function github<T>(path: string): Promise<T> {
  const response = await fetch(`${world.emulator.githubApiUrl}${path}`, { headers: { authorization: `Bearer ${token}` } });
  return (await response.json()) as T;
}

const comments = (number: number) => github<{ id: number; body: string }[]>(`/repos/acme/web/issues/${number}/comments?per_page=100`);
const deployments = (environment: string) =>
  github<{ id: number; sha: string; transient_environment: boolean }[]>(`/repos/acme/web/deployments?environment=${environment}`);
const statuses = (id: number) => github<{ state: string; environment_url?: string }[]>(`/repos/acme/web/deployments/${id}/statuses`);

test('provision, a push, a crash, then close: one comment edited in place, deployments with statuses, inactive after teardown', async () => {
  const provisionInputs = {
    environment: 'pr-7',
    cluster: 'previews',
    'listener-arn': listenerArn,
    'host-pattern': '{env}.preview.example.com',
    image: 'web:v1',
    'execution-role-arn': 'arn:aws:iam::123456789012:role/ecsTaskExecutionRole',
    subnets: SUBNETS.join(','),
    'security-groups': SECURITY_GROUP,
    'health-check-interval': '10s',
  };
  const provision = await run('provision-platform', provisionInputs, pullRequestEvent(7, 'opened', HEAD_1));
  expect(provision.exitCode).toBe(0);
  expect(provision.stdout).not.toContain('::warning title=GitHub');
  let thread = await comments(7);
  expect(thread).toHaveLength(1);
  const commentId = thread[0]?.id;
  expect(thread[0]?.body).toContain('### Preview environment `pr-7`');
  expect(thread[0]?.body).toContain('| URL | https://pr-7.preview.example.com |');
  expect(thread[0]?.body).toContain('| Image | `web:v1` |');
  expect(thread[0]?.body).toContain('| Revision | previews_pr-7:1 |');
  expect(thread[0]?.body).toMatch(/\| Estimated cost \| \$\d+\.\d\d a month \|/);
  const first = (await deployments('pr-7'))[0];
  expect(first).toMatchObject({ sha: HEAD_1, transient_environment: true });
  expect((await statuses(first?.id ?? 0)).map((status) => status.state)).toEqual(['success', 'in_progress']);
  expect((await statuses(first?.id ?? 0))[0]?.environment_url).toBe('https://pr-7.preview.example.com');

  const rolloutInputs = { cluster: 'previews', environment: 'pr-7' };
  const push = await run('rollout-with-circuit-breaker', { ...rolloutInputs, image: 'web:v2' }, pullRequestEvent(7, 'synchronize', HEAD_2));
  expect(push.exitCode).toBe(0);
  thread = await comments(7);
  expect(thread.map((comment) => comment.id)).toEqual([commentId]);
  expect(thread[0]?.body).toContain('| Image | `web:v2` |');
  expect(thread[0]?.body).toContain('| Revision | previews_pr-7:2 |');
  expect(thread[0]?.body).toContain('| Status | successful |');
  // What the rollout does not know stays as provision wrote it.
  expect(thread[0]?.body).toContain('| URL | https://pr-7.preview.example.com |');

  await world.control('/_emulator/behaviours', { image: 'web:crash', kind: 'crash', exitCode: 1, logLines: ['Error: missing DATABASE_URL'] });
  const crash = await run('rollout-with-circuit-breaker', { ...rolloutInputs, image: 'web:crash' }, pullRequestEvent(7, 'synchronize', HEAD_2));
  expect(crash.exitCode).toBe(1);
  thread = await comments(7);
  expect(thread).toHaveLength(1);
  expect(thread[0]?.body).toContain('| Status | rolled-back, back on previews_pr-7:2: crash-on-start |');
  expect(thread[0]?.body).toContain('| Image | `web:v2` |');
  const crashed = (await deployments('pr-7'))[0];
  expect((await statuses(crashed?.id ?? 0))[0]?.state).toBe('failure');

  const teardown = await run('teardown-env', { cluster: 'previews', environment: 'pr-7' }, pullRequestEvent(7, 'closed', HEAD_2));
  expect(teardown.exitCode).toBe(0);
  thread = await comments(7);
  expect(thread.map((comment) => comment.id)).toEqual([commentId]);
  expect(thread[0]?.body).toContain('### Preview environment `pr-7`: destroyed');
  expect(thread[0]?.body).toContain('| URL | ~~https://pr-7.preview.example.com~~ |');
  for (const deployment of await deployments('pr-7')) expect((await statuses(deployment.id))[0]?.state).toBe('inactive');
  // The token is masked (the add-mask request itself names it) and appears nowhere else.
  for (const step of [provision, push, crash, teardown]) {
    expect(step.stdout).toContain(`::add-mask::${token}`);
    expect(`${step.stdout.replace(`::add-mask::${token}`, '')}${step.stderr}${step.summary}`).not.toContain(token);
  }
}, 240_000);

test('a comment carrying our marker that someone else wrote is never edited; the one the token wrote is, whoever the token is', async () => {
  // Anyone can paste the marker; GITHUB_TOKEN may edit anyone's comment, so the author decides.
  await world.control('/_emulator/github/tokens', { token: 'ghp_mallory', user: 'mallory' });
  await world.control('/_emulator/github/tokens', { token: 'ghp_deployer', user: 'deploy-bot' });
  const marker = '<!-- ecs-deploy-actions:environment-comment {"environment":"pr-12"} -->';
  const pasted = `${marker}\n\nIgnore the environment below; deploy [here](https://evil.example.com) instead.`;
  const posted = await fetch(`${world.emulator.githubApiUrl}/repos/acme/web/issues/12/comments`, {
    method: 'POST',
    headers: { authorization: 'Bearer ghp_mallory', 'content-type': 'application/json' },
    body: JSON.stringify({ body: pasted }),
  });
  expect(posted.status).toBe(201);
  type Thread = { id: number; body: string; user: { login: string } }[];
  const thread = () => github<Thread>('/repos/acme/web/issues/12/comments?per_page=100');

  // GITHUB_TOKEN (/user: 403) writes as github-actions[bot]; a person's token as that person. Each runs twice.
  for (const githubToken of [token, token, 'ghp_deployer', 'ghp_deployer']) {
    const teardown = await world.run('teardown-env', {
      inputs: { cluster: 'previews', environment: 'pr-12', 'github-token': githubToken },
      event: pullRequestEvent(12, 'closed', HEAD_1),
      env: { GITHUB_EVENT_NAME: 'pull_request' },
    });
    expect(teardown.exitCode).toBe(0);
    expect(teardown.stdout).not.toContain('::warning title=GitHub');
  }
  const comments = await thread();
  expect(comments.map((comment) => comment.user.login)).toEqual(['mallory', 'github-actions[bot]', 'deploy-bot']);
  expect(comments[0]?.body).toBe(pasted);
  for (const ours of comments.slice(1)) expect(ours.body).toContain('### Preview environment `pr-12`: destroyed');
}, 120_000);

test('a token GitHub refuses is a warning naming the permission; the teardown itself succeeds', async () => {
  // A GitHub that refuses everything, as it does a token without the permission.
  const refusing = createServer((_request, response) => {
    response.writeHead(403, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ message: 'Resource not accessible by integration' }));
  });
  await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve));
  try {
    const teardown = await world.run('teardown-env', {
      inputs: { cluster: 'previews', environment: 'pr-9', 'github-token': token },
      event: pullRequestEvent(9, 'closed', HEAD_1),
      env: { GITHUB_EVENT_NAME: 'pull_request', GITHUB_API_URL: `http://127.0.0.1:${(refusing.address() as AddressInfo).port}` },
    });
    expect(teardown.exitCode).toBe(0);
    expect(teardown.stdout).toContain(
      '::warning title=GitHub::Could not mark the GitHub deployments inactive: GET /repos/acme/web/deployments?environment=pr-9&per_page=100: 403 Resource not accessible by integration. Give the workflow',
    );
    expect(teardown.stdout).toMatch(/Could not update the comment on acme\/web#9: .*403.*`permissions: pull-requests: write`/);
  } finally {
    refusing.close();
  }
}, 60_000);

test('rollback-to-revision and scale-schedule keep the comment true: the revision gone back to, its image, asleep, awake', async () => {
  const provision = await run(
    'provision-platform',
    provisionInputs({ cluster: 'previews', listenerArn }, 'pr-8', ACTION_DEFAULTS),
    pullRequestEvent(8, 'opened', HEAD_1),
  );
  expect(provision.exitCode).toBe(0);
  const push = await run(
    'rollout-with-circuit-breaker',
    { cluster: 'previews', environment: 'pr-8', image: 'web:v2' },
    pullRequestEvent(8, 'synchronize', HEAD_2),
  );
  expect(push.exitCode).toBe(0);
  expect((await comments(8))[0]?.body).toContain('| Revision | previews_pr-8:2 |');

  const back = await run('rollback-to-revision', { cluster: 'previews', environment: 'pr-8', to: 'previous' }, pullRequestEvent(8, 'synchronize', HEAD_2));
  expect(back.exitCode).toBe(0);
  expect(back.stdout).not.toContain('::warning title=GitHub');
  expect(back.summary).toContain('| pr-8 | previews_pr-8:2 | previews_pr-8:1 | web:v1 |');
  let thread = await comments(8);
  expect(thread).toHaveLength(1);
  expect(thread[0]?.body).toContain('| Revision | previews_pr-8:1 |');
  expect(thread[0]?.body).toContain('| Image | `web:v1` |');
  expect(thread[0]?.body).toContain('| Status | successful (rolled back from previews_pr-8:2) |');
  const rollbackDeployment = (await deployments('pr-8'))[0];
  expect((await statuses(rollbackDeployment?.id ?? 0)).map((status) => status.state)).toEqual(['success', 'in_progress']);

  // The nightly schedule has no pull request of its own: the comment is the one provision recorded on the service.
  const schedule = { schedule: '0 20 * * 1-5', repository: { full_name: 'acme/web' } };
  for (const [mode, status] of [
    ['sleep', 'asleep'],
    ['wake', 'awake'],
  ] as const) {
    const scaled = await world.run('scale-schedule', {
      inputs: { mode, cluster: 'previews', environments: 'pr-8', 'github-token': token },
      event: schedule,
      env: { GITHUB_EVENT_NAME: 'schedule' },
    });
    expect(scaled.exitCode).toBe(0);
    expect(scaled.stdout).toContain(`::add-mask::${token}`);
    thread = await comments(8);
    expect(thread).toHaveLength(1);
    expect(thread[0]?.body).toContain(`| Status | ${status} |`);
    expect(thread[0]?.body).toContain('| Revision | previews_pr-8:1 |');
    expect(thread[0]?.body).toContain('| Image | `web:v1` |');
  }
}, 240_000);
