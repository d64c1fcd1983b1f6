// Runs a committed dist bundle the way the GitHub runner does: a Node 24 child process with
// INPUT_* variables and the runner's file commands (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, ...).
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '../..');
export const node24 = join(root, 'scripts/node24');

export interface BundleRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

export interface BundleOptions {
  inputs?: Record<string, string>;
  env?: Record<string, string>;
  event?: unknown;
  timeoutMs?: number;
}

/** Parses the `name<<delimiter` blocks the runner reads from GITHUB_OUTPUT. */
export function parseFileCommands(text: string): Record<string, string> {
  const values: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const heredoc = /^([^=<]+)<<(.+)$/.exec(lines[i] ?? '');
    if (heredoc) {
      const [, name = '', delimiter] = heredoc;
      const body: string[] = [];
      for (i++; i < lines.length && lines[i] !== delimiter; i++) body.push(lines[i] ?? '');
      values[name] = body.join('\n');
    } else if (lines[i]?.includes('=')) {
      const at = (lines[i] ?? '').indexOf('=');
      values[(lines[i] ?? '').slice(0, at)] = (lines[i] ?? '').slice(at + 1);
    }
  }
  return values;
}

export function runBundle(action: string, options: BundleOptions = {}): Promise<BundleRun> {
  return runAction(join(root, 'dist', action, 'index.js'), action, options);
}

/** Runs any JavaScript action's entry point (a third party's unchanged bundle too) as the runner does. */
export async function runAction(script: string, label: string, options: BundleOptions = {}): Promise<BundleRun> {
  const work = mkdtempSync(join(tmpdir(), `run-${label}-`));
  const files = {
    GITHUB_OUTPUT: join(work, 'output'),
    GITHUB_STEP_SUMMARY: join(work, 'summary'),
    GITHUB_STATE: join(work, 'state'),
    GITHUB_ENV: join(work, 'env'),
    GITHUB_PATH: join(work, 'path'),
    GITHUB_EVENT_PATH: join(work, 'event.json'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  writeFileSync(files.GITHUB_EVENT_PATH, JSON.stringify(options.event ?? {}));
  const inputs = Object.fromEntries(Object.entries(options.inputs ?? {}).map(([name, value]) => [`INPUT_${name.replace(/ /g, '_').toUpperCase()}`, value]));
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: work,
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: root,
    GITHUB_REPOSITORY: 'acme/web',
    GITHUB_SERVER_URL: 'https://github.com',
    GITHUB_RUN_ID: '4242',
    GITHUB_SHA: 'a1b2c3d4e5f60718293a4b5c6d7e8f9012345678',
    RUNNER_TEMP: work,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
    AWS_SECRET_ACCESS_KEY: 'test-secret-key',
    AWS_EC2_METADATA_DISABLED: 'true',
    ...files,
    ...inputs,
    ...options.env,
  };
  try {
    const child = spawn(node24, [script], { env, cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 30_000);
    const exitCode = await new Promise<number>((done) => child.on('close', (code) => done(code ?? -1)));
    clearTimeout(timer);
    return {
      exitCode,
      stdout,
      stderr,
      outputs: parseFileCommands(readFileSync(files.GITHUB_OUTPUT, 'utf8')),
      summary: readFileSync(files.GITHUB_STEP_SUMMARY, 'utf8'),
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
