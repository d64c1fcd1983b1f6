// Bundle size and cold start of every action: node start to its first AWS request, median of 7.
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { node24, root } from '../test/helpers/run-bundle.ts';
import { validInputs } from '../test/helpers/valid-inputs.ts';

/** Published size of aws-actions/amazon-ecs-deploy-task-definition v2.6.3's dist/index.js. */
export const OFFICIAL_BUNDLE_BYTES = 2_628_630;
export const BUNDLE_BUDGET_BYTES = 1_050_000;
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
      // What a runner always sets; build-push-ecr keys its build on the commit.
      GITHUB_SHA: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
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

export async function measureBundles(): Promise<{ actions: BundleFigures[]; emptyModuleMs: number }> {
  const actions: BundleFigures[] = [];
  for (const [action, { inputs }] of Object.entries(validInputs)) {
    const env = Object.fromEntries(Object.entries(inputs).map(([name, value]) => [`INPUT_${name.toUpperCase()}`, value]));
    const runs: number[] = [];
    for (let i = 0; i < RUNS; i++) runs.push(await timeToFirstRequest([join(root, 'dist', action, 'index.js')], env));
    actions.push({ action, bytes: bundleBytes(action), coldStartMs: median(runs) });
  }
  // The floor: a script whose only work is one request.
  const floor: number[] = [];
  for (let i = 0; i < RUNS; i++) {
    floor.push(await timeToFirstRequest(['--input-type=module', '-e', 'await fetch(process.env.AWS_ENDPOINT_URL).catch(() => {})'], {}));
  }
  return { actions, emptyModuleMs: median(floor) };
}
