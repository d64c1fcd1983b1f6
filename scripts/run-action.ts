// Runs a committed dist bundle the way the GitHub runner runs a node24 action: a Node 24 child process
// with INPUT_* variables and the runner's file commands (GITHUB_OUTPUT, GITHUB_STEP_SUMMARY, ...).
// The tests (test/helpers/run-bundle.ts) and the live check (scripts/live.ts) both run actions through it.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const root = resolve(import.meta.dirname, '..');
export const node24 = join(root, 'scripts/node24');

export interface BundleRun {
  exitCode: number;
  stdout: string;
  stderr: string;
  outputs: Record<string, string>;
  summary: string;
}

export interface ActionRunOptions {
  /** The entry point, for a bundle other than ours (a third party's, unchanged); default dist/<action>/index.js. */
  script?: string;
  inputs?: Record<string, string> | undefined;
  /** The step's environment; the file commands and inputs are the runner's and always win. */
  env?: Record<string, string> | undefined;
  event?: unknown;
  timeoutMs?: number | undefined;
  /** Each chunk of the step's stdout as it arrives, for a log that follows a long step. */
  onStdout?: ((chunk: string) => void) | undefined;
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

export async function runAction(action: string, options: ActionRunOptions = {}): Promise<BundleRun> {
  const work = mkdtempSync(join(tmpdir(), `run-${action}-`));
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
    RUNNER_TEMP: work,
    ...options.env,
    ...files,
    ...inputs,
  };
  try {
    const child = spawn(node24, [options.script ?? join(root, 'dist', action, 'index.js')], { env, cwd: root });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      options.onStdout?.(chunk.toString());
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
