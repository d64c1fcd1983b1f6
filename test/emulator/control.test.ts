// The control endpoint (a public contract) and the CLI.
import { spawn } from 'node:child_process';
import { CreateClusterCommand, ListClustersCommand } from '@aws-sdk/client-ecs';
import { afterAll, beforeAll, expect, test } from '@jest/globals';
import type { CallRecord } from '../../emulator/core/types.ts';
import { type Harness, harness } from './helpers.ts';

let h: Harness;
beforeAll(async () => {
  h = await harness();
});
afterAll(async () => {
  await h.stop();
});

test('health, clock, calls, state and reset', async () => {
  expect(await h.control('/_emulator/health')).toMatchObject({ status: 'ok', services: expect.arrayContaining(['ecs', 'elbv2', 'ec2', 'ecr', 'logs', 'sts']) });
  const before = await h.now();
  const advanced = (await h.control('/_emulator/clock', { advanceSeconds: 3600 })) as { epochMs: number; timeScale: number };
  expect(advanced.epochMs - before).toBeGreaterThanOrEqual(3600_000);
  expect(advanced.timeScale).toBe(1);

  await h.ecs.send(new CreateClusterCommand({ clusterName: 'c1', tags: [{ key: 'owner', value: 'me' }] }));
  await h.ecs.send(new ListClustersCommand({}));
  await expect(h.ecs.send(new CreateClusterCommand({ clusterName: 'bad name' }))).rejects.toThrow();
  const { calls } = (await h.control('/_emulator/calls')) as { calls: CallRecord[] };
  expect(calls.map((c) => [c.service, c.operation, c.mutating, c.error])).toEqual([
    ['ecs', 'CreateCluster', true, undefined],
    ['ecs', 'ListClusters', false, undefined],
    ['ecs', 'CreateCluster', true, 'InvalidParameterException'],
  ]);
  expect(calls[0]?.parameters).toEqual({ clusterName: 'c1', tags: [{ key: 'owner', value: 'me' }] });

  const state = (await h.control('/_emulator/state')) as { services: { ecs: { clusters: { clusterName: string; tags: unknown }[] } } };
  expect(state.services.ecs.clusters).toEqual([expect.objectContaining({ clusterName: 'c1', tags: [{ key: 'owner', value: 'me' }] })]);

  await h.control('/_emulator/reset', {});
  expect((await h.ecs.send(new ListClustersCommand({}))).clusterArns).toEqual([]);
  expect(((await h.control('/_emulator/calls')) as { calls: CallRecord[] }).calls).toHaveLength(1);
});

test('bad control input is refused', async () => {
  const res = await fetch(`${h.emu.endpoint}/_emulator/faults`, { method: 'POST', body: JSON.stringify({ service: 'ecs', error: 'Nope' }) });
  expect(res.status).toBe(400);
  const unknown = await fetch(`${h.emu.endpoint}/_emulator/nothing`);
  expect(unknown.status).toBe(404);
});

test("unknown operations get the protocol's error", async () => {
  const json = await fetch(h.emu.endpoint, {
    method: 'POST',
    headers: { 'x-amz-target': 'AmazonEC2ContainerServiceV20141113.Frobnicate', 'content-type': 'application/x-amz-json-1.1' },
    body: '{}',
  });
  expect(json.status).toBe(400);
  expect(json.headers.get('x-amzn-errortype')).toBe('UnknownOperationException');
  const query = await fetch(h.emu.endpoint, {
    method: 'POST',
    body: 'Action=Frobnicate&Version=2015-12-01',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });
  expect(query.status).toBe(400);
  expect(await query.text()).toContain('<Code>InvalidAction</Code>');
});

test('the CLI prints one line with the endpoint and stops on SIGTERM', async () => {
  const child = spawn('scripts/node24', ['emulator/cli.ts', '--port', '0', '--time-scale', '100', '--no-registry'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const line = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('\n')) resolve(out);
    });
    child.once('exit', (code) => reject(new Error(`cli exited with ${code}`)));
  });
  expect(line).toMatch(/^emulator listening on http:\/\/127\.0\.0\.1:\d+ \(time-scale 100\)\n$/);
  const endpoint = /http:\/\/127\.0\.0\.1:\d+/.exec(line)?.[0];
  const health = await fetch(`${endpoint}/_emulator/health`);
  expect(health.status).toBe(200);
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  expect(await exited).toBe(0);
});
