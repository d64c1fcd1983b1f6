// Bundle size and cold start of every action beside the official deploy action's bundle, measured the
// same way in the same run: node start to its first AWS request, median of 7, the runs interleaved.
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { node24, root } from '../test/helpers/run-bundle.ts';
import { validInputs } from '../test/helpers/valid-inputs.ts';

/** aws-actions/amazon-ecs-deploy-task-definition v2.6.3's bundle, unchanged: the budget for ours. */
export const OFFICIAL_BUNDLE = join(root, '../shared/third-party/amazon-ecs-deploy-task-definition-2.6.3/dist/index.js');
export const OFFICIAL_NAME = 'amazon-ecs-deploy-task-definition 2.6.3';
const RUNS = 7;

/** JavaScript the action loads: index.js and any chunks; licenses.txt is never loaded. */
export function bundleBytes(action: string): number {
  const dir = join(root, 'dist', action);
  return readdirSync(dir)
    .filter((file) => file.endsWith('.js'))
    .reduce((total, file) => total + statSync(join(dir, file)).size, 0);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

/** Milliseconds from spawning `args` on Node 24 to the first HTTP request it makes to AWS_ENDPOINT_URL. */
async function timeToFirstRequest(args: string[], env: Record<string, string>): Promise<number> {
  let started = 0n;
  let resolveFirst: (ms: number) => void = () => {};
  const first = new Promise<number>((resolve) => {
    resolveFirst = resolve;
  });
  const server = createServer((_req, res) => {
    resolveFirst(Number(process.hrtime.bigint() - started) / 1e6);
    res.destroy();
  });
  await new Promise<void>((listening) => server.listen(0, '127.0.0.1', listening));
  const endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  started = process.hrtime.bigint();
  const child = spawn(node24, args, {
    env: {
      PATH: process.env.PATH ?? '',
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'x',
      AWS_ENDPOINT_URL: endpoint,
      // What a runner always sets; build-push-ecr keys its build on the commit, and every environment belongs to a repository.
      GITHUB_SHA: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
      GITHUB_REPOSITORY: 'acme/web',
      ...env,
    },
    stdio: 'ignore',
  });
  const exited = new Promise<number>((resolve) => child.on('exit', () => resolve(Number.NaN)));
  try {
    return await Promise.race([first, exited]);
  } finally {
    child.kill('SIGKILL');
    server.close();
  }
}

export interface BundleFigures {
  action: string;
  bytes: number;
  coldStartMs: number;
}

export async function measureBundles(): Promise<{ actions: BundleFigures[]; official: BundleFigures; emptyModuleMs: number }> {
  // The official action registers a task definition from a file first: its first AWS request.
  const workspace = mkdtempSync(join(tmpdir(), 'bench-official-'));
  writeFileSync(
    join(workspace, 'task-definition.json'),
    JSON.stringify({ family: 'web', containerDefinitions: [{ name: 'app', image: 'web:v1', memory: 512 }] }),
  );
  const subjects = [
    ...Object.entries(validInputs).map(([action, { inputs }]) => ({
      action,
      bytes: bundleBytes(action),
      args: [join(root, 'dist', action, 'index.js')],
      env: Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value])),
    })),
    {
      action: OFFICIAL_NAME,
      bytes: statSync(OFFICIAL_BUNDLE).size,
      args: [OFFICIAL_BUNDLE],
      env: { GITHUB_WORKSPACE: workspace, 'INPUT_TASK-DEFINITION': 'task-definition.json', INPUT_CLUSTER: 'previews', INPUT_SERVICE: 'web' },
    },
  ];
  const runs = new Map<string, number[]>(subjects.map((subject) => [subject.action, []]));
  const floor: number[] = [];
  try {
    // Interleaved, so a busy moment on a shared machine weighs on every bundle alike.
    for (let i = 0; i < RUNS; i++) {
      for (const subject of subjects) runs.get(subject.action)?.push(await timeToFirstRequest(subject.args, subject.env));
      // The floor: a script whose only work is one request.
      floor.push(await timeToFirstRequest(['--input-type=module', '-e', 'await fetch(process.env.AWS_ENDPOINT_URL).catch(() => {})'], {}));
    }
  } finally {
    rmSync(workspace, { recursive: true, force: true });
  }
  const figures = subjects.map(({ action, bytes }) => ({ action, bytes, coldStartMs: median(runs.get(action) ?? []) }));
  const official = figures.pop() as BundleFigures;
  return { actions: figures, official, emptyModuleMs: median(floor) };
}
