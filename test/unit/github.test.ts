// The GitHub client's requests through Octokit (nock at GITHUB_API_URL) and the pull request of a run's event.
import { writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, test } from '@jest/globals';
import nock from 'nock';
import { GithubClient, GithubError, pullRequestOfEvent } from '../../src/github.ts';
import { useNock } from '../helpers/nock.ts';

const api = 'https://ghe.example.com/api/v3';
// Octokit's retry, without its seconds of waiting.
const fast = { retryAfterBaseMs: 1 };

useNock();

describe('GithubClient', () => {
  test('GET a pull request at the runner’s API URL, with the token and API version', async () => {
    nock(api, { reqheaders: { authorization: 'token ghs_abc', accept: 'application/vnd.github+json', 'x-github-api-version': '2022-11-28' } })
      .get('/repos/acme/web/pulls/7')
      .reply(200, { number: 7, state: 'closed', merged: true, closed_at: '2026-11-20T10:00:00Z' });
    const pull = await new GithubClient('ghs_abc', `${api}/`, undefined, fast).getPullRequest({ owner: 'acme', repo: 'web', number: 7 });
    expect(pull).toEqual({ number: 7, state: 'closed', merged: true, closedAt: '2026-11-20T10:00:00Z' });
  });
  test('an error status becomes a GithubError with GitHub’s message', async () => {
    nock(api).get('/repos/acme/web/pulls/8').reply(404, { message: 'Not Found' });
    const failure = await new GithubClient('t', api, undefined, fast)
      .getPullRequest({ owner: 'acme', repo: 'web', number: 8 })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(GithubError);
    expect(failure).toMatchObject({ status: 404, message: 'GET /repos/acme/web/pulls/8: 404 Not Found' });
  });
  test('a 5xx is retried, as Octokit retries it', async () => {
    nock(api).get('/repos/acme/web/pulls/10').reply(502, 'Bad gateway').get('/repos/acme/web/pulls/10').reply(200, { number: 10, state: 'open' });
    const pull = await new GithubClient('t', api, undefined, fast).getPullRequest({ owner: 'acme', repo: 'web', number: 10 });
    expect(pull).toMatchObject({ number: 10, state: 'open', merged: false });
  });
  test('GitHub out of reach is status 0, never a crash', async () => {
    // Every attempt Octokit's retry makes fails the same way.
    nock(api).get('/repos/acme/web/pulls/9').times(4).replyWithError('connect ECONNREFUSED');
    await expect(new GithubClient('t', api, undefined, fast).getPullRequest({ owner: 'acme', repo: 'web', number: 9 })).rejects.toMatchObject({ status: 0 });
  });
});

describe('who the token writes as', () => {
  const graphql = 'https://ghe.example.com/api/graphql';
  const client = () => new GithubClient('t', api, graphql, fast);
  const integration = {
    message: 'Resource not accessible by integration',
    documentation_url: 'https://docs.github.com/rest/users/users#get-the-authenticated-user',
  };

  test('a person’s token: the login GET /user answers, and nothing more asked', async () => {
    nock(api).get('/user').reply(200, { login: 'deploy-bot', id: 7, type: 'User' });
    expect(await client().login()).toBe('deploy-bot');
  });
  test('an installation token gets 403 from /user: GraphQL’s viewer (at GITHUB_GRAPHQL_URL) names its bot', async () => {
    nock(api).get('/user').reply(403, integration);
    nock('https://ghe.example.com')
      .post('/api/graphql', { query: 'query { viewer { login } }' })
      .reply(200, { data: { viewer: { login: 'acme-deployer[bot]' } } });
    expect(await client().login()).toBe('acme-deployer[bot]');
  });
  test('without a GraphQL answer, an installation token is taken for GITHUB_TOKEN: github-actions[bot]', async () => {
    nock(api).get('/user').twice().reply(403, integration);
    nock('https://ghe.example.com').post('/api/graphql').reply(502, '<html>Bad gateway</html>');
    nock('https://ghe.example.com')
      .post('/api/graphql')
      .reply(200, { errors: [{ message: 'Something went wrong' }] });
    expect(await client().login()).toBe('github-actions[bot]');
    expect(await client().login()).toBe('github-actions[bot]');
  });
  test('a token GitHub does not know is an error, not a guess', async () => {
    nock(api).get('/user').reply(401, { message: 'Bad credentials' });
    await expect(client().login()).rejects.toMatchObject({ status: 401, message: 'GET /user: 401 Bad credentials' });
  });
});

describe('pullRequestOfEvent', () => {
  const event = (payload: unknown) => {
    const path = join(tmpdir(), `event-${process.pid}-${Math.random()}.json`);
    writeFileSync(path, JSON.stringify(payload));
    return path;
  };
  test('pull_request events name the pull request and the repository', () => {
    const path = event({ pull_request: { number: 12 }, repository: { full_name: 'acme/web' } });
    expect(pullRequestOfEvent({ GITHUB_EVENT_PATH: path })).toEqual({ owner: 'acme', repo: 'web', number: 12 });
  });
  test('other events, and no event file, name none', () => {
    expect(pullRequestOfEvent({ GITHUB_EVENT_PATH: event({ ref: 'refs/heads/main' }), GITHUB_REPOSITORY: 'acme/web' })).toBeUndefined();
    expect(pullRequestOfEvent({ GITHUB_EVENT_PATH: join(tmpdir(), 'no-such-event.json') })).toBeUndefined();
    expect(pullRequestOfEvent({})).toBeUndefined();
  });
});
