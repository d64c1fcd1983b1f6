// The git refs and releases part of the emulator's GitHub REST subset, with plain fetch, as the
// release workflow's curl calls it: shapes and status codes as GitHub documents them.
import { afterAll, beforeAll, beforeEach, describe, expect, it } from '@jest/globals';
import { type RunningEmulator, startEmulator } from '../../emulator/index.ts';

let emu: RunningEmulator;
const A = 'a'.repeat(40);
const B = 'b'.repeat(40);

beforeAll(async () => {
  emu = await startEmulator({ registry: false });
});
afterAll(async () => {
  await emu.stop();
});
beforeEach(async () => {
  await fetch(`${emu.endpoint}/_emulator/reset`, { method: 'POST' });
});

// biome-ignore lint/suspicious/noExplicitAny: GitHub's JSON, read loosely in assertions
async function call(method: string, path: string, body?: unknown, token = true): Promise<{ status: number; body: any }> {
  const res = await fetch(`${emu.githubApiUrl}/repos/acme/tools${path}`, {
    method,
    headers: { accept: 'application/vnd.github+json', 'content-type': 'application/json', ...(token ? { authorization: 'Bearer ghs_x' } : {}) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

describe('git refs', () => {
  it('creates, reads, force-moves and deletes a tag ref', async () => {
    const created = await call('POST', '/git/refs', { ref: 'refs/tags/v1', sha: A });
    expect(created.status).toBe(201);
    expect(created.body).toEqual({
      ref: 'refs/tags/v1',
      node_id: expect.any(String),
      url: `${emu.githubApiUrl}/repos/acme/tools/git/refs/tags/v1`,
      object: { sha: A, type: 'commit', url: `${emu.githubApiUrl}/repos/acme/tools/git/commits/${A}` },
    });
    expect((await call('POST', '/git/refs', { ref: 'refs/tags/v1', sha: B })).body.message).toBe('Reference already exists');
    expect((await call('GET', '/git/ref/tags/v1')).body.object.sha).toBe(A);
    // A tag moves only with force (the emulator has no history to call it a fast forward).
    expect((await call('PATCH', '/git/refs/tags/v1', { sha: B })).body.message).toBe('Update is not a fast forward');
    expect((await call('PATCH', '/git/refs/tags/v1', { sha: B, force: true })).body.object.sha).toBe(B);
    expect((await call('GET', '/git/matching-refs/tags/v')).body.map((ref: { ref: string }) => ref.ref)).toEqual(['refs/tags/v1']);
    expect((await call('DELETE', '/git/refs/tags/v1')).status).toBe(204);
    expect((await call('GET', '/git/ref/tags/v1')).status).toBe(404);
  });

  it('refuses what GitHub refuses', async () => {
    expect((await call('PATCH', '/git/refs/tags/none', { sha: A, force: true })).body.message).toBe('Reference does not exist');
    expect((await call('POST', '/git/refs', { ref: 'v1', sha: A })).status).toBe(422);
    expect((await call('POST', '/git/refs', { ref: 'refs/tags/v1', sha: 'abc' })).status).toBe(422);
    expect((await call('POST', '/git/refs', { ref: 'refs/tags/v1', sha: A }, false)).status).toBe(401);
  });
});

describe('releases', () => {
  it('creates a release that tags its commit, finds it by tag, lists and updates it', async () => {
    const created = await call('POST', '/releases', { tag_name: 'v1.0.0', target_commitish: A, name: 'v1.0.0', body: 'notes' });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({
      tag_name: 'v1.0.0',
      target_commitish: A,
      name: 'v1.0.0',
      body: 'notes',
      draft: false,
      prerelease: false,
      html_url: 'https://github.com/acme/tools/releases/tag/v1.0.0',
      author: { login: 'github-actions[bot]' },
      assets: [],
    });
    expect((await call('GET', '/git/ref/tags/v1.0.0')).body.object.sha).toBe(A);
    const id = created.body.id;
    expect((await call('GET', '/releases/tags/v1.0.0')).body.id).toBe(id);
    expect((await call('GET', '/releases/latest')).body.id).toBe(id);
    const again = await call('POST', '/releases', { tag_name: 'v1.0.0' });
    expect(again.status).toBe(422);
    expect(again.body.errors).toEqual([{ resource: 'Release', code: 'already_exists', field: 'tag_name' }]);
    expect((await call('PATCH', `/releases/${id}`, { body: 'better notes' })).body.body).toBe('better notes');
    expect((await call('GET', '/releases')).body).toHaveLength(1);
    expect((await call('GET', '/releases/tags/v9.9.9')).status).toBe(404);
    expect((await call('POST', '/releases', {})).status).toBe(422);
  });
});
