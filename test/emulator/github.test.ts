// The GitHub REST subset with plain fetch, as Octokit would call it.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';

let emu: RunningEmulator;
let api: string;

beforeAll(async () => {
  emu = await startEmulator({ registry: false });
  api = emu.githubApiUrl;
});
afterAll(async () => {
  await emu.stop();
});
beforeEach(async () => {
  await fetch(`${emu.endpoint}/_emulator/reset`, { method: 'POST' });
});

// A loose view of GitHub's JSON for assertions: one object or a list of them.
type Item = { id: number; url: string; sha: string; body: string; state: string };
interface Reply {
  status: number;
  body: Item & Item[];
  headers: Headers;
}

async function call(method: string, path: string, body?: unknown): Promise<Reply> {
  const res = await fetch(path.startsWith('http') ? path : `${api}${path}`, {
    method,
    headers: { accept: 'application/vnd.github+json', authorization: 'Bearer ghs_x', 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined, headers: res.headers };
}

describe('issue comments', () => {
  it('creates, lists with pagination, updates and deletes', async () => {
    const created = await call('POST', '/repos/acme/shop/issues/7/comments', { body: 'first' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      id: expect.any(Number),
      node_id: expect.any(String),
      body: 'first',
      user: { login: 'github-actions[bot]', type: 'Bot' },
      html_url: expect.stringMatching(/^https:\/\/github\.com\/acme\/shop\/issues\/7#issuecomment-\d+$/),
      created_at: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
    expect(created.headers.get('location')).toBe(created.body.url);
    for (let i = 2; i <= 5; i++) await call('POST', '/repos/acme/shop/issues/7/comments', { body: `c${i}` });
    await call('POST', '/repos/acme/shop/issues/8/comments', { body: 'other issue' });

    const page1 = await call('GET', '/repos/acme/shop/issues/7/comments?per_page=2');
    expect(page1.body.map((c: { body: string }) => c.body)).toEqual(['first', 'c2']);
    const link = page1.headers.get('link') ?? '';
    expect(link).toContain('rel="next"');
    expect(link).toContain('rel="last"');
    const next = /<([^>]+)>; rel="next"/.exec(link)?.[1] as string;
    const page2 = await call('GET', next);
    expect(page2.body.map((c: { body: string }) => c.body)).toEqual(['c3', 'c4']);
    const last = await call('GET', /<([^>]+)>; rel="last"/.exec(link)?.[1] as string);
    expect(last.body.map((c: { body: string }) => c.body)).toEqual(['c5']);
    expect(last.headers.get('link')).not.toContain('rel="next"');

    const updated = await call('PATCH', `/repos/acme/shop/issues/comments/${created.body.id}`, { body: 'edited' });
    expect(updated.status).toBe(200);
    expect(updated.body).toMatchObject({ id: created.body.id, body: 'edited' });
    expect((await call('DELETE', `/repos/acme/shop/issues/comments/${created.body.id}`)).status).toBe(204);
    expect(await call('PATCH', `/repos/acme/shop/issues/comments/${created.body.id}`, { body: 'x' })).toMatchObject({
      status: 404,
      body: { message: 'Not Found' },
    });
    expect((await call('POST', '/repos/acme/shop/issues/7/comments', {})).status).toBe(422);
    const anonymous = await fetch(`${api}/repos/acme/shop/issues/7/comments`, { method: 'POST', body: JSON.stringify({ body: 'x' }) });
    expect(anonymous.status).toBe(401);
    expect((await call('GET', '/repos/acme/shop/unknown')).body).toMatchObject({ message: 'Not Found' });
  });
});

describe('deployments', () => {
  it('creates a deployment, posts statuses, lists by environment; success inactivates the previous one', async () => {
    const first = await call('POST', '/repos/acme/shop/deployments', {
      ref: 'feature',
      environment: 'pr-7',
      transient_environment: true,
      production_environment: false,
      auto_merge: false,
      required_contexts: [],
      payload: { cluster: 'previews' },
      description: 'preview',
    });
    expect(first.status).toBe(201);
    expect(first.body).toMatchObject({
      id: expect.any(Number),
      ref: 'feature',
      sha: expect.stringMatching(/^[0-9a-f]{40}$/),
      environment: 'pr-7',
      transient_environment: true,
      production_environment: false,
      payload: { cluster: 'previews' },
      creator: { login: 'github-actions[bot]' },
    });
    const st = await call('POST', `/repos/acme/shop/deployments/${first.body.id}/statuses`, {
      state: 'success',
      environment_url: 'http://pr-7.example',
      log_url: 'https://github.com/acme/shop/actions/runs/1',
      description: 'live',
    });
    expect(st.status).toBe(201);
    expect(st.body).toMatchObject({
      state: 'success',
      environment: 'pr-7',
      environment_url: 'http://pr-7.example',
      log_url: 'https://github.com/acme/shop/actions/runs/1',
    });
    expect((await call('POST', `/repos/acme/shop/deployments/${first.body.id}/statuses`, { state: 'done' })).status).toBe(422);

    const staging = await call('POST', '/repos/acme/shop/deployments', {
      ref: 'main',
      environment: 'staging',
      production_environment: false,
      required_contexts: [],
    });
    await call('POST', `/repos/acme/shop/deployments/${staging.body.id}/statuses`, { state: 'success' });
    const again = await call('POST', '/repos/acme/shop/deployments', {
      ref: 'main',
      environment: 'staging',
      production_environment: false,
      required_contexts: [],
    });
    await call('POST', `/repos/acme/shop/deployments/${again.body.id}/statuses`, { state: 'in_progress' });
    await call('POST', `/repos/acme/shop/deployments/${again.body.id}/statuses`, { state: 'success' });
    const oldStatuses = await call('GET', `/repos/acme/shop/deployments/${staging.body.id}/statuses`);
    expect(oldStatuses.body.map((s: { state: string }) => s.state)).toEqual(['inactive', 'success']);
    const newStatuses = await call('GET', `/repos/acme/shop/deployments/${again.body.id}/statuses`);
    expect(newStatuses.body.map((s: { state: string }) => s.state)).toEqual(['success', 'in_progress']);

    const listed = await call('GET', '/repos/acme/shop/deployments?environment=staging');
    expect(listed.body.map((d: { id: number }) => d.id)).toEqual([again.body.id, staging.body.id]);
    expect((await call('GET', '/repos/acme/shop/deployments?ref=feature')).body).toHaveLength(1);
    expect((await call('POST', '/repos/acme/shop/deployments', { environment: 'x' })).status).toBe(422);
    expect((await call('GET', '/repos/acme/shop/deployments/999/statuses')).status).toBe(404);
  });
});

describe('pull requests', () => {
  it('serves the state a test sets through the control endpoint', async () => {
    expect((await call('GET', '/repos/acme/shop/pulls/7')).status).toBe(404);
    const sha = 'a'.repeat(40);
    const made = await fetch(`${emu.endpoint}/_emulator/github/pulls`, {
      method: 'POST',
      body: JSON.stringify({ owner: 'acme', repo: 'shop', number: 7, state: 'open', headSha: sha, headRef: 'feature' }),
    });
    expect(made.status).toBe(201);
    expect(await call('GET', '/repos/acme/shop/pulls/7')).toMatchObject({
      status: 200,
      body: { number: 7, state: 'open', head: { sha, ref: 'feature' }, html_url: 'https://github.com/acme/shop/pull/7' },
    });
    // A deployment of the PR's branch resolves to its head commit.
    expect((await call('POST', '/repos/acme/shop/deployments', { ref: 'feature', environment: 'pr-7' })).body.sha).toBe(sha);
    await fetch(`${emu.endpoint}/_emulator/github/pulls`, {
      method: 'POST',
      body: JSON.stringify({ owner: 'acme', repo: 'shop', number: 7, state: 'closed' }),
    });
    expect((await call('GET', '/repos/acme/shop/pulls/7')).body).toMatchObject({ state: 'closed', closed_at: expect.any(String) });

    const calls = (await (await fetch(`${emu.endpoint}/_emulator/calls`)).json()) as { calls: { service: string; operation: string }[] };
    expect(calls.calls.filter((c) => c.service === 'github').map((c) => c.operation)).toEqual([
      'pulls/get',
      'pulls/get',
      'repos/create-deployment',
      'pulls/get',
    ]);
  });
});

describe('who a token is', () => {
  const as = async (token: string, method: string, path: string, body?: unknown) => {
    const res = await fetch(`${api}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const name = (body: unknown) => fetch(`${emu.endpoint}/_emulator/github/tokens`, { method: 'POST', body: JSON.stringify(body) });

  it('GET /user: a person, 403 for installation tokens, 401 without one; GraphQL viewer names every kind', async () => {
    expect((await name({ token: 'ghp_mallory', user: 'mallory' })).status).toBe(201);
    expect((await name({ token: 'ghs_deployer', app: 'acme-deployer' })).status).toBe(201);
    expect((await name({ token: 'x', user: 'a', app: 'b' })).status).toBe(400);

    expect(await as('ghp_mallory', 'GET', '/user')).toMatchObject({ status: 200, body: { login: 'mallory', type: 'User', id: expect.any(Number) } });
    for (const token of ['ghs_deployer', 'ghs_workflow']) {
      expect(await as(token, 'GET', '/user')).toEqual({
        status: 403,
        body: {
          message: 'Resource not accessible by integration',
          documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user',
          status: '403',
        },
      });
    }
    expect((await fetch(`${api}/user`)).status).toBe(401);

    const viewer = (token: string) => as(token, 'POST', '/graphql', { query: 'query { viewer { login } }' });
    expect(await viewer('ghp_mallory')).toEqual({ status: 200, body: { data: { viewer: { login: 'mallory' } } } });
    expect(await viewer('ghs_deployer')).toEqual({ status: 200, body: { data: { viewer: { login: 'acme-deployer[bot]' } } } });
    expect(await viewer('ghs_workflow')).toEqual({ status: 200, body: { data: { viewer: { login: 'github-actions[bot]' } } } });
    expect((await as('ghs_workflow', 'POST', '/graphql', { query: '{ repository(owner: "a", name: "b") { id } }' })).body).toMatchObject({
      errors: [expect.objectContaining({ message: expect.any(String) })],
    });
  });

  it('a comment carries the identity that wrote it', async () => {
    await name({ token: 'ghp_mallory', user: 'mallory' });
    const theirs = await as('ghp_mallory', 'POST', '/repos/acme/shop/issues/7/comments', { body: 'hi' });
    const ours = await as('ghs_workflow', 'POST', '/repos/acme/shop/issues/7/comments', { body: 'hello' });
    expect(theirs.body.user).toMatchObject({ login: 'mallory', type: 'User', html_url: 'https://github.com/mallory' });
    expect(ours.body.user).toEqual({
      login: 'github-actions[bot]',
      id: 41898282,
      node_id: 'MDM6Qm90NDE4OTgyODI=',
      avatar_url: 'https://avatars.githubusercontent.com/in/15368?v=4',
      html_url: 'https://github.com/apps/github-actions',
      type: 'Bot',
      site_admin: false,
    });
    const listed = await fetch(`${api}/repos/acme/shop/issues/7/comments`);
    expect(((await listed.json()) as { user: { login: string } }[]).map((comment) => comment.user.login)).toEqual(['mallory', 'github-actions[bot]']);
  });
});
