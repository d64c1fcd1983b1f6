// Every bundle, run as a runner runs it, refuses bad input before any AWS request, naming the input.
import { afterAll, beforeAll, describe, expect, test } from '@jest/globals';
import { type RequestRecorder, startRequestRecorder } from '../helpers/request-recorder.ts';
import { runBundle } from '../helpers/run-bundle.ts';
import { exampleListenerArn, validInputs } from '../helpers/valid-inputs.ts';

const listener = exampleListenerArn;
const valid = validInputs;

/** Malformed values, each with the input the message must name. */
const malformed: [string, Record<string, string>, string][] = [
  ['rollout-with-circuit-breaker', { timeout: '10 minutes' }, 'timeout'],
  ['rollout-with-circuit-breaker', { wait: 'yes' }, 'wait'],
  ['rollout-with-circuit-breaker', { hardening: 'strict' }, 'hardening'],
  ['rollout-with-circuit-breaker', { 'on-failure': 'rollback-all', wait: 'false' }, 'on-failure'],
  ['provision-platform', { environment: 'PR_7' }, 'environment'],
  ['provision-platform', { 'listener-arn': 'arn:aws:ecs:us-east-1:123456789012:cluster/previews' }, 'listener-arn'],
  ['provision-platform', { 'listener-arn': listener.replace('us-east-1', 'eu-west-1') }, 'listener-arn'],
  ['provision-platform', { memory: '3000' }, 'memory'],
  ['provision-platform', { secrets: 'DATABASE_URL=postgres://user:pw@db/app' }, 'secrets'],
  ['build-push-ecr', { repository: 'Team/Web' }, 'repository'],
  ['build-push-ecr', { context: '../elsewhere' }, 'context'],
  ['rollback-to-revision', { to: 'yesterday' }, 'to'],
  ['scale-schedule', { concurrency: '0' }, 'concurrency'],
  ['teardown-env', { environment: 'prod' }, 'environment'],
  ['teardown-env', { environment: '' }, 'environment'],
];

let recorder: RequestRecorder;
beforeAll(async () => {
  recorder = await startRequestRecorder();
});
afterAll(() => recorder.close());

function expectRefused(run: Awaited<ReturnType<typeof runBundle>>, input: string): void {
  expect(run.exitCode).toBe(1);
  expect(run.stdout).toMatch(new RegExp(`::error title=[^:]+::.*Input "${input}"`));
  expect(run.summary).toContain('failed');
  expect(run.summary).toContain(`Input "${input}"`);
}

describe.each(Object.entries(valid))('%s', (action, { inputs, required }) => {
  test.each(required)('without %s: exits 1 naming it, before any AWS request', async (missing) => {
    const given = { ...inputs };
    delete given[missing];
    const run = await runBundle(action, { inputs: given, env: { AWS_ENDPOINT_URL: recorder.url } });
    expectRefused(run, missing);
    expect(run.stdout).toContain('is required but was not given');
    expect(recorder.requests).toEqual([]);
  });
});

test.each(malformed)('%s with %j: exits 1 naming %s, before any AWS request', async (action, change, input) => {
  const run = await runBundle(action, { inputs: { ...valid[action]?.inputs, ...change }, env: { AWS_ENDPOINT_URL: recorder.url } });
  expectRefused(run, input);
  expect(recorder.requests).toEqual([]);
});

test('a secret given as a plain value is not echoed in the log or summary', async () => {
  const run = await runBundle('provision-platform', {
    inputs: { ...valid['provision-platform']?.inputs, secrets: 'DATABASE_URL=postgres://user:hunter2@db/app' },
    env: { AWS_ENDPOINT_URL: recorder.url },
  });
  expect(run.exitCode).toBe(1);
  expect(`${run.stdout}${run.stderr}${run.summary}`).not.toContain('hunter2');
});

test('no AWS region: a clear message before any request', async () => {
  const run = await runBundle('scale-schedule', { inputs: valid['scale-schedule']?.inputs, env: { AWS_REGION: '', AWS_ENDPOINT_URL: recorder.url } });
  expect(run.exitCode).toBe(1);
  expect(run.stdout).toContain('No AWS region is set');
  expect(run.stdout).toContain('configure-aws-credentials');
  expect(recorder.requests).toEqual([]);
});
